package clinic_test

import (
	"sync"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
)

func TestCheckInAndNoShowSweep(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db, false)
		slotID := e.slot(t, e.site.ID, 1, "09:00", 5, 0, "207", 1) // 13:00-13:15 UTC
		other := e.newSite(t, false)
		came, missed := e.person(t), e.person(t)
		a := e.mustBook(t, came, slotID)
		b := e.mustBook(t, missed, slotID)

		if _, err := e.book.CheckIn(e.ctx, booking.CheckInRequest{AppointmentID: a.ID, SiteID: e.site.ID, Actor: "staff:c"}); !apperr.Is(err, "conflict") {
			t.Fatalf("check-in a day early: %v", err)
		}
		e.clk.Set(time.Date(2026, 6, 2, 12, 50, 0, 0, time.UTC))
		if _, err := e.book.CheckIn(e.ctx, booking.CheckInRequest{AppointmentID: a.ID, SiteID: other.ID, Actor: "staff:c"}); !apperr.Is(err, "forbidden") {
			t.Fatalf("check-in by another site: %v", err)
		}
		d, err := e.book.CheckIn(e.ctx, booking.CheckInRequest{AppointmentID: a.ID, SiteID: e.site.ID, Actor: "staff:c"})
		if err != nil || d.Appointment.Status != booking.StatusCompleted {
			t.Fatalf("check-in: %v %s", err, d.Appointment.Status)
		}

		end := time.Date(2026, 6, 2, 13, 15, 0, 0, time.UTC)
		e.clk.Set(end.Add(2*time.Hour - time.Second))
		if r, err := e.svc.Sweep(e.ctx); err != nil || r.NoShows != 0 {
			t.Fatalf("sweep inside the grace period: %+v %v", r, err)
		}
		e.clk.Set(end.Add(2 * time.Hour))
		if r, err := e.svc.Sweep(e.ctx); err != nil || r.NoShows != 1 {
			t.Fatalf("sweep after the grace period: %+v %v", r, err)
		}
		if r, _ := e.svc.Sweep(e.ctx); r.NoShows != 0 {
			t.Fatalf("a second sweep marked %d again", r.NoShows)
		}
		if got, _ := e.book.Appointment(e.ctx, b.ID); got.Status != booking.StatusNoShow {
			t.Fatalf("missed appointment is %s", got.Status)
		}
		if got, _ := e.book.Appointment(e.ctx, a.ID); got.Status != booking.StatusCompleted {
			t.Fatalf("checked-in appointment is %s", got.Status)
		}
		if n, _ := e.book.NoShowsOfPerson(e.ctx, missed.PersonID); n != 1 {
			t.Fatalf("no-shows of the person: %d", n)
		}
		if n, _ := e.book.NoShowsOfPerson(e.ctx, came.PersonID); n != 0 {
			t.Fatalf("no-shows of the person who came: %d", n)
		}
		if n, _ := e.book.NoShowsOfSite(e.ctx, e.site.ID); n != 1 {
			t.Fatalf("no-shows of the site: %d", n)
		}
		if n := e.count(t, "SELECT COUNT(*) FROM audit_log WHERE action = 'appointment.no_show' AND actor = 'system'"); n != 1 {
			t.Fatalf("%d no-show audit records", n)
		}
		if n := e.count(t, "SELECT COUNT(*) FROM audit_log WHERE action = 'appointment.checked_in' AND actor = 'staff:c'"); n != 1 {
			t.Fatalf("%d check-in audit records", n)
		}
	})
}

// Staff take the last walk-in seat while a citizen takes the last online
// seat of the same slot: both succeed and neither pool goes negative.
func TestLastWalkInAndLastOnlineSeatTogether(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db, false)
		for round := 0; round < 5; round++ {
			slotID := e.slot(t, e.site.ID, 1+round, "09:00", 1, 1, "207", 1)
			walkIn, online := e.person(t), e.person(t)
			var wg sync.WaitGroup
			errs := make([]error, 2)
			wg.Add(2)
			go func() { defer wg.Done(); _, errs[0] = e.bookFor(walkIn, slotID, booking.PoolWalkIn) }()
			go func() { defer wg.Done(); _, errs[1] = e.bookFor(online, slotID, "") }()
			wg.Wait()
			if errs[0] != nil || errs[1] != nil {
				t.Fatalf("round %d: walk-in %v, online %v", round, errs[0], errs[1])
			}
			s := e.slotRow(t, slotID)
			if s.Remaining != 0 || s.WalkInRemaining != 0 {
				t.Fatalf("round %d: remaining %d online, %d walk-in", round, s.Remaining, s.WalkInRemaining)
			}
			if _, err := e.bookFor(e.person(t), slotID, booking.PoolWalkIn); !apperr.Is(err, "slot-full") {
				t.Fatalf("a third walk-in: %v", err)
			}
			if _, err := e.bookFor(e.person(t), slotID, ""); !apperr.Is(err, "slot-full") {
				t.Fatalf("a second online booking: %v", err)
			}
		}
	})
}

func TestReleaseUnusedWalkIns(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db, false)
		slotID := e.slot(t, e.site.ID, 1, "09:00", 2, 3, "207", 1)
		if _, err := e.bookFor(e.person(t), slotID, booking.PoolWalkIn); err != nil {
			t.Fatal(err)
		}
		other := e.newSite(t, false)
		if _, _, err := e.book.ReleaseWalkIns(e.ctx, other.ID, slotID, "staff:c"); !apperr.Is(err, "forbidden") {
			t.Fatalf("release by another site: %v", err)
		}
		s, moved, err := e.book.ReleaseWalkIns(e.ctx, e.site.ID, slotID, "staff:c")
		if err != nil || moved != 2 {
			t.Fatalf("release: %d moved, %v", moved, err)
		}
		if s.Capacity != 4 || s.Remaining != 4 || s.WalkInCapacity != 1 || s.WalkInRemaining != 0 {
			t.Fatalf("after release: %+v", s)
		}
		if _, err := e.bookFor(e.person(t), slotID, booking.PoolWalkIn); !apperr.Is(err, "slot-full") {
			t.Fatalf("walk-in after release: %v", err)
		}
	})
}

func TestCapacityChanges(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db, false)
		slotID := e.slot(t, e.site.ID, 1, "09:00", 3, 0, "207", 1)
		target := e.slot(t, e.site.ID, 2, "09:00", 3, 0, "207", 1)
		moved := e.mustBook(t, e.person(t), slotID)
		e.mustBook(t, e.person(t), slotID)
		holder := e.person(t)
		if _, err := e.book.Hold(e.ctx, booking.HoldRequest{PersonID: holder.PersonID, Actor: "p", SlotID: slotID}); err != nil {
			t.Fatal(err)
		}

		change := func(capacity int, moves ...booking.Move) error {
			_, err := e.book.ChangeCapacity(e.ctx, booking.CapacityChange{SlotID: slotID, Capacity: capacity,
				Moves: moves, Actor: "staff:c", SiteID: e.site.ID})
			return err
		}
		if err := change(2); !apperr.Is(err, "conflict") {
			t.Fatalf("cut below booked + held: %v", err)
		}
		if s := e.slotRow(t, slotID); s.Capacity != 3 || s.Remaining != 0 {
			t.Fatalf("a refused cut changed the slot: %+v", s)
		}
		if err := change(2, booking.Move{AppointmentID: moved.ID, SlotID: slotID}); !apperr.Is(err, "invalid-request") {
			t.Fatalf("a move into the same slot: %v", err)
		}
		if err := change(2, booking.Move{AppointmentID: moved.ID, SlotID: target}); err != nil {
			t.Fatalf("cut with a move: %v", err)
		}
		if s := e.slotRow(t, slotID); s.Capacity != 2 || s.Remaining != 0 {
			t.Fatalf("after the cut: %+v", s)
		}
		if s := e.slotRow(t, target); s.Remaining != 2 {
			t.Fatalf("target remaining %d, want 2", s.Remaining)
		}
		if got, _ := e.book.Appointment(e.ctx, moved.ID); got.SlotID != target || got.Status != booking.StatusBooked {
			t.Fatalf("moved appointment: slot %d, %s", got.SlotID, got.Status)
		}
		kinds := e.events.kinds(moved.ID)
		if len(kinds) != 2 || kinds[1] != booking.EventMoved {
			t.Fatalf("events of the moved appointment: %v", kinds)
		}
		if err := change(5); err != nil {
			t.Fatal(err)
		}
		if s := e.slotRow(t, slotID); s.Capacity != 5 || s.Remaining != 3 {
			t.Fatalf("after a raise: %+v", s)
		}
	})
}
