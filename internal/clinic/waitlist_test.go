package clinic_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/clinic"
	"github.com/vaxbook/vaxbook/internal/identity"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
)

// freeOneSeat raises a full slot's capacity by one without telling the
// waitlist, so the tests can run the promotions themselves.
func (e *env) freeSeats(t *testing.T, slotID int64, n int) {
	t.Helper()
	s := e.slotRow(t, slotID)
	if _, err := e.book.ChangeCapacity(e.ctx, booking.CapacityChange{SlotID: slotID, Capacity: s.Capacity + n, Actor: "staff:c"}); err != nil {
		t.Fatal(err)
	}
}

func (e *env) activeOffers(t *testing.T) int {
	return e.count(t, "SELECT COUNT(*) FROM waitlist_offers WHERE state = 'active'")
}

// promoteTogether runs two promotions of one slot at the same time, each in
// its own transaction, and returns how many offers they made in all.
func (e *env) promoteTogether(t *testing.T, slotID int64) int {
	t.Helper()
	var wg sync.WaitGroup
	var ready sync.WaitGroup
	made := make([]int, 2)
	errs := make([]error, 2)
	gate := make(chan struct{})
	for i := range made {
		wg.Add(1)
		ready.Add(1)
		go func() {
			defer wg.Done()
			ready.Done()
			<-gate
			made[i], errs[i] = e.svc.PromoteSlot(e.ctx, slotID)
		}()
	}
	ready.Wait()
	close(gate)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return made[0] + made[1]
}

func TestTwoPromotionsAtOnceNeverDoubleOffer(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db, false)
		until := start.AddDate(0, 0, 30)
		for round := 0; round < 4; round++ {
			// One free seat, two people waiting: one offer.
			slotID := e.slot(t, e.site.ID, 2+round, "09:00", 1, 0, "207", 1)
			e.mustBook(t, e.person(t), slotID)
			first, second := e.person(t), e.person(t)
			e.join(t, first, until)
			e.join(t, second, until)
			e.freeSeats(t, slotID, 1)
			if n := e.promoteTogether(t, slotID); n != 1 {
				t.Fatalf("round %d: %d offers for one seat", round, n)
			}
			if s := e.slotRow(t, slotID); s.Remaining != 0 {
				t.Fatalf("round %d: remaining %d", round, s.Remaining)
			}
			if o := e.offers(t, first); len(o) != 1 || o[0].State != clinic.OfferActive {
				t.Fatalf("round %d: the earliest waiting person has offers %+v", round, o)
			}
			if n := e.activeOffers(t); n != round+1 {
				t.Fatalf("round %d: %d active offers in all", round, n)
			}
			// Clear the waiting second person for the next round.
			entries, _, _ := e.svc.Waitlist(e.ctx, second.PersonID)
			if err := e.svc.Leave(e.ctx, second.PersonID, "p", entries[0].ID); err != nil {
				t.Fatal(err)
			}
		}

		// Two free seats, one person waiting: one offer, one seat left.
		slotID := e.slot(t, e.site.ID, 9, "09:00", 1, 0, "207", 1)
		e.mustBook(t, e.person(t), slotID)
		only := e.person(t)
		e.join(t, only, until)
		e.freeSeats(t, slotID, 2)
		if n := e.promoteTogether(t, slotID); n != 1 {
			t.Fatalf("%d offers to one person", n)
		}
		if s := e.slotRow(t, slotID); s.Remaining != 1 {
			t.Fatalf("remaining %d, want 1", s.Remaining)
		}
	})
}

func TestOfferUsedThenCancelledIsNotReused(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db, false)
		slotID := e.slot(t, e.site.ID, 2, "09:00", 1, 0, "207", 1)
		taken := e.mustBook(t, e.person(t), slotID)
		first, second := e.person(t), e.person(t)
		until := start.AddDate(0, 0, 30)
		e.join(t, first, until)
		e.join(t, second, until)

		// The cancellation offers the seat in its own transaction.
		if _, err := e.book.Cancel(e.ctx, booking.ChangeRequest{AppointmentID: taken.ID, Actor: "staff:c"}); err != nil {
			t.Fatal(err)
		}
		offers := e.offers(t, first)
		if len(offers) != 1 || offers[0].State != clinic.OfferActive || offers[0].SlotID != slotID {
			t.Fatalf("offers after the cancellation: %+v", offers)
		}
		if s := e.slotRow(t, slotID); s.Remaining != 0 {
			t.Fatalf("the offer does not hold the seat: remaining %d", s.Remaining)
		}
		d, _, err := e.book.Book(e.ctx, booking.BookRequest{PersonID: first.PersonID, PersonRef: first.PersonRef,
			Actor: "person:" + first.PersonRef, HoldID: offers[0].HoldID, DecisionRef: first.decision})
		if err != nil {
			t.Fatalf("book with the offer: %v", err)
		}
		offers = e.offers(t, first)
		if offers[0].State != clinic.OfferUsed || offers[0].AppointmentID != d.Appointment.ID {
			t.Fatalf("offer after booking: %+v", offers[0])
		}

		if _, err := e.book.Cancel(e.ctx, booking.ChangeRequest{AppointmentID: d.Appointment.ID, Actor: "person:x"}); err != nil {
			t.Fatal(err)
		}
		if offers := e.offers(t, first); len(offers) != 1 || offers[0].State != clinic.OfferUsed {
			t.Fatalf("the used offer changed: %+v", offers)
		}
		_, _, err = e.book.Book(e.ctx, booking.BookRequest{PersonID: first.PersonID, PersonRef: first.PersonRef,
			Actor: "person:" + first.PersonRef, HoldID: offers[0].HoldID, DecisionRef: first.decision})
		if !apperr.Is(err, "hold-expired") {
			t.Fatalf("booking again with a used offer: %v", err)
		}
		next := e.offers(t, second)
		if len(next) != 1 || next[0].State != clinic.OfferActive || next[0].HoldID == offers[0].HoldID {
			t.Fatalf("the freed seat went to %+v, want a new offer to the next person", next)
		}
		if s := e.slotRow(t, slotID); s.Remaining != 0 {
			t.Fatalf("remaining %d", s.Remaining)
		}
	})
}

func TestOfferExpiresBackToThePool(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db, false)
		slotID := e.slot(t, e.site.ID, 2, "09:00", 1, 0, "207", 1)
		taken := e.mustBook(t, e.person(t), slotID)
		first, second := e.person(t), e.person(t)
		until := start.AddDate(0, 0, 30)
		e.join(t, first, until)
		e.join(t, second, until)
		if _, err := e.book.Cancel(e.ctx, booking.ChangeRequest{AppointmentID: taken.ID, Actor: "staff:c"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Join(e.ctx, clinic.JoinRequest{}); err == nil {
			t.Fatal("an empty join was accepted")
		}
		e.clk.Advance(30*time.Minute + time.Second)
		r, err := e.svc.Sweep(e.ctx)
		if err != nil || r.OffersEnded != 1 {
			t.Fatalf("sweep: %+v %v", r, err)
		}
		entries, offers, _ := e.svc.Waitlist(e.ctx, first.PersonID)
		if offers[0].State != clinic.OfferExpired || entries[0].Status != clinic.EntryLapsed {
			t.Fatalf("after expiry: offer %s, entry %s", offers[0].State, entries[0].Status)
		}
		if next := e.offers(t, second); len(next) != 1 || next[0].State != clinic.OfferActive {
			t.Fatalf("the seat was not offered to the next person: %+v", next)
		}
		if s := e.slotRow(t, slotID); s.Remaining != 0 {
			t.Fatalf("remaining %d", s.Remaining)
		}
		if _, _, err := e.book.Book(e.ctx, booking.BookRequest{PersonID: first.PersonID, PersonRef: first.PersonRef,
			Actor: "p", HoldID: offers[0].HoldID, DecisionRef: first.decision}); !apperr.Is(err, "hold-expired") {
			t.Fatalf("booking with an expired offer: %v", err)
		}
	})
}

// People waiting far away are passed over, however many joined first.
func TestPromotionSkipsEntriesOutsideTheirRadius(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db, false)
		slotID := e.slot(t, e.site.ID, 2, "09:00", 1, 0, "207", 1)
		e.mustBook(t, e.person(t), slotID)
		until := start.AddDate(0, 0, 30)
		for i := 0; i < 205; i++ {
			s, err := e.ids.CreateSession(e.ctx, identity.Attested{GivenName: "Far", FamilyName: fmt.Sprintf("Away%c%c", 'a'+i/26, 'a'+i%26),
				BirthDate: "1950-01-01", PostalCode: "90210", Email: fmt.Sprintf("far%d@example.org", i)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.Join(e.ctx, clinic.JoinRequest{PersonID: s.PersonID, Actor: "p", PostalCode: "90210",
				RadiusKm: 50, From: start, To: until, VaccineCode: "207", Dose: 1, DecisionRef: "d"}); err != nil {
				t.Fatal(err)
			}
		}
		e.clk.Advance(time.Second)
		near := e.person(t)
		e.join(t, near, until)
		e.freeSeats(t, slotID, 1)
		if n, err := e.svc.PromoteSlot(e.ctx, slotID); err != nil || n != 1 {
			t.Fatalf("promote: %d, %v", n, err)
		}
		if o := e.offers(t, near); len(o) != 1 || o[0].State != clinic.OfferActive {
			t.Fatalf("the near person was not offered the seat: %+v", o)
		}
	})
}
