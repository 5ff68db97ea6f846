package booking_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/eligibility/gate"
	"github.com/vaxbook/vaxbook/internal/identity"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
)

// allowGate admits every booking under version "test-1"; the real rules
// are tested in the eligibility package and end to end over HTTP.
type allowGate struct{ refuse atomic.Bool }

func (g *allowGate) Admit(context.Context, *store.Tx, gate.Check) (string, error) {
	if g.refuse.Load() {
		return "", apperr.New("ineligible", "refused by the test gate")
	}
	return "test-1", nil
}

type env struct {
	db    *store.DB
	svc   *booking.Service
	ids   *identity.Store
	clock *clock.Fake
	gate  *allowGate
	site  int64
}

var start = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func setup(t *testing.T, db *store.DB) *env { return setupMode(t, db, false) }

// setupMode builds the service with batching of same-slot bookings on
// (the default) or off.
func setupMode(t *testing.T, db *store.DB, noBatch bool) *env {
	t.Helper()
	e := &env{db: db, clock: clock.NewFake(start), gate: &allowGate{}}
	e.ids = identity.New(db, pii.TestKeys(), e.clock)
	e.svc = booking.NewService(db, booking.Config{Clock: e.clock, Gate: e.gate, NoBatch: noBatch})
	site, err := e.svc.CreateSite(context.Background(), "test", booking.NewSite{Region: "MA", Name: "Test clinic",
		Lat: 42.36, Lng: -71.06, TimeZone: "America/New_York", PostalCode: "02114"})
	if err != nil {
		t.Fatal(err)
	}
	e.site = site.ID
	return e
}

// slot makes a slot with the given online capacity, starting day days
// after the fake clock's start.
func (e *env) slot(t *testing.T, capacity, day int) int64 {
	t.Helper()
	date := start.AddDate(0, 0, day).Format("2006-01-02")
	before := e.slotCount(t)
	n, err := e.svc.GenerateSlots(context.Background(), "test", e.site, booking.Generate{From: date, To: date,
		Opens: "09:00", Closes: "09:15", IntervalMin: 15, Capacity: capacity, WalkInCapacity: 1, Vaccine: "207", Dose: 1})
	if err != nil || n != 1 {
		t.Fatalf("generate slot: %d, %v", n, err)
	}
	var id int64
	if err := e.db.Read.QueryRow("SELECT MAX(id) FROM slots").Scan(&id); err != nil || e.slotCount(t) != before+1 {
		t.Fatalf("slot id: %v", err)
	}
	return id
}

func (e *env) slotCount(t *testing.T) int {
	var n int
	if err := e.db.Read.QueryRow("SELECT COUNT(*) FROM slots").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (e *env) person(t *testing.T, i int) identity.Session {
	t.Helper()
	s, err := e.ids.CreateSession(context.Background(), identity.Attested{GivenName: fmt.Sprintf("Person%d", i),
		FamilyName: "Racer", BirthDate: "1950-01-01", PostalCode: "02114", Email: fmt.Sprintf("p%d@example.org", i)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (e *env) remaining(t *testing.T, slotID int64) (remaining, booked int) {
	t.Helper()
	q := store.RebindFor(e.db.Dialect, "SELECT remaining FROM slots WHERE id = ?")
	if err := e.db.Read.QueryRow(q, slotID).Scan(&remaining); err != nil {
		t.Fatal(err)
	}
	q = store.RebindFor(e.db.Dialect, "SELECT COUNT(*) FROM appointments WHERE slot_id = ? AND status = 'booked'")
	if err := e.db.Read.QueryRow(q, slotID).Scan(&booked); err != nil {
		t.Fatal(err)
	}
	return remaining, booked
}

func book(e *env, s identity.Session, slotID int64) error {
	_, _, err := e.svc.Book(context.Background(), booking.BookRequest{PersonID: s.PersonID, PersonRef: s.PersonRef,
		Actor: "person:" + s.PersonRef, SlotID: slotID, DecisionRef: "d"})
	return err
}

func TestManyPeopleRaceForFewSeats(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for round, mode := range []struct {
			capacity int
			noBatch  bool
		}{{1, false}, {10, false}, {1, true}, {10, true}} {
			capacity := mode.capacity
			e := setupMode(t, db, mode.noBatch)
			slotID := e.slot(t, capacity, 1+round)
			people := make([]identity.Session, 40)
			for i := range people {
				people[i] = e.person(t, round*100+i)
			}
			var ok, full atomic.Int32
			var wg sync.WaitGroup
			for _, p := range people {
				wg.Add(1)
				go func() {
					defer wg.Done()
					switch err := book(e, p, slotID); {
					case err == nil:
						ok.Add(1)
					case apperr.Is(err, "slot-full"):
						full.Add(1)
					default:
						t.Errorf("unexpected error: %v", err)
					}
				}()
			}
			wg.Wait()
			remaining, booked := e.remaining(t, slotID)
			if int(ok.Load()) != capacity || int(full.Load()) != 40-capacity || remaining != 0 || booked != capacity {
				t.Fatalf("capacity %d: %d booked, %d slot-full, remaining %d, %d rows", capacity, ok.Load(), full.Load(), remaining, booked)
			}
		}
	})
}

func TestOnePersonRacingTwoSlotsGetsOne(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setupMode(t, db, true)
		slots := []int64{e.slot(t, 5, 1), e.slot(t, 5, 2), e.slot(t, 5, 3), e.slot(t, 5, 4)}
		p := e.person(t, 1)
		var ok, already atomic.Int32
		var wg sync.WaitGroup
		for _, id := range slots {
			wg.Add(1)
			go func() {
				defer wg.Done()
				switch err := book(e, p, id); {
				case err == nil:
					ok.Add(1)
				case apperr.Is(err, "already-booked"):
					already.Add(1)
				default:
					t.Errorf("unexpected error: %v", err)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 1 || already.Load() != 3 {
			t.Fatalf("%d booked, %d already-booked; want 1 and 3", ok.Load(), already.Load())
		}
		total := 0
		for _, id := range slots {
			r, _ := e.remaining(t, id)
			total += r
		}
		if total != 19 {
			t.Fatalf("seats left %d, want 19: a refused booking kept a seat", total)
		}
	})
}

func TestSameIdempotencyKeyBooksOnce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		slotID := e.slot(t, 10, 1)
		p := e.person(t, 1)
		render := func(result any, err error) booking.Replay {
			if err != nil {
				return booking.Replay{Status: 409, Body: []byte(apperr.NameOf(err))}
			}
			body, _ := json.Marshal(result.(booking.Detail).Appointment)
			return booking.Replay{Status: 201, Body: body}
		}
		req := func(hash string) booking.BookRequest {
			return booking.BookRequest{PersonID: p.PersonID, PersonRef: p.PersonRef, Actor: "person:x", SlotID: slotID,
				Idempotency: &booking.Idempotency{Scope: "person:" + p.PersonRef, Key: "k1", RequestHash: []byte(hash), Render: render}}
		}
		// Two services stand for two nodes: they share the database but
		// not the in-process set of keys in flight.
		nodes := []*booking.Service{e.svc, booking.NewService(db, booking.Config{Clock: e.clock, Gate: e.gate})}
		var wg sync.WaitGroup
		bodies := make(chan string, 20)
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					_, replay, err := nodes[i%2].Book(context.Background(), req("same"))
					if apperr.Is(err, "idempotency-in-flight") {
						time.Sleep(5 * time.Millisecond)
						continue
					}
					if err != nil || replay == nil || replay.Status != 201 {
						t.Errorf("Book = %+v, %v", replay, err)
						return
					}
					bodies <- string(replay.Body)
					return
				}
			}()
		}
		wg.Wait()
		close(bodies)
		first := ""
		for b := range bodies {
			if first == "" {
				first = b
			}
			if b != first {
				t.Fatalf("replays differ:\n%s\n%s", first, b)
			}
		}
		if r, booked := e.remaining(t, slotID); r != 9 || booked != 1 {
			t.Fatalf("remaining %d, booked %d; want 9 and 1", r, booked)
		}
		if _, _, err := e.svc.Book(context.Background(), req("other body")); !apperr.Is(err, "idempotency-key-reuse") {
			t.Fatalf("same key, other body: err = %v", err)
		}
	})
}

func TestFailureIsNotRememberedButRefusalIs(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		slotID := e.slot(t, 1, 1)
		p := e.person(t, 1)
		render := func(result any, err error) booking.Replay {
			if err != nil {
				name := apperr.NameOf(err)
				if name == "unavailable" {
					return booking.Replay{Status: 503, Body: []byte(name)}
				}
				return booking.Replay{Status: 403, Body: []byte(name)}
			}
			return booking.Replay{Status: 201, Body: []byte("ok")}
		}
		idem := &booking.Idempotency{Scope: "s", Key: "k", RequestHash: []byte("h"), Render: render}
		unavailable := booking.NewService(db, booking.Config{Clock: e.clock}) // no gate: fails closed, 503
		_, _, err := unavailable.Book(context.Background(), booking.BookRequest{PersonID: p.PersonID, SlotID: slotID, Idempotency: idem})
		if !apperr.Is(err, "unavailable") {
			t.Fatalf("without a gate: err = %v, want unavailable", err)
		}
		_, replay, err := e.svc.Book(context.Background(), booking.BookRequest{PersonID: p.PersonID, SlotID: slotID, Idempotency: idem})
		if err != nil || replay.Status != 201 || replay.Replayed {
			t.Fatalf("retry after a 5xx: %+v, %v; want a fresh 201", replay, err)
		}
		e.gate.refuse.Store(true)
		idem2 := &booking.Idempotency{Scope: "s", Key: "k2", RequestHash: []byte("h"), Render: render}
		other := e.person(t, 2)
		_, _, err = e.svc.Book(context.Background(), booking.BookRequest{PersonID: other.PersonID, SlotID: slotID, Idempotency: idem2})
		if !apperr.Is(err, "ineligible") {
			t.Fatalf("refused: err = %v", err)
		}
		e.gate.refuse.Store(false)
		_, replay, err = e.svc.Book(context.Background(), booking.BookRequest{PersonID: other.PersonID, SlotID: slotID, Idempotency: idem2})
		if err != nil || !replay.Replayed || string(replay.Body) != "ineligible" {
			t.Fatalf("a 4xx must be replayed: %+v, %v", replay, err)
		}
	})
}

func TestConcurrentCancelsReturnOneSeat(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		slotID := e.slot(t, 3, 1)
		p := e.person(t, 1)
		d, _, err := e.svc.Book(context.Background(), booking.BookRequest{PersonID: p.PersonID, SlotID: slotID, Actor: "a"})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a, err := e.svc.Cancel(context.Background(), booking.ChangeRequest{AppointmentID: d.Appointment.ID,
					PersonID: p.PersonID, Actor: "a"})
				if err != nil || a.Status != booking.StatusCancelled {
					t.Errorf("Cancel = %+v, %v", a, err)
				}
			}()
		}
		wg.Wait()
		if r, booked := e.remaining(t, slotID); r != 3 || booked != 0 {
			t.Fatalf("remaining %d, booked %d; want 3 and 0", r, booked)
		}
		stranger := e.person(t, 2)
		if _, err := e.svc.Cancel(context.Background(), booking.ChangeRequest{AppointmentID: d.Appointment.ID,
			PersonID: stranger.PersonID}); !apperr.Is(err, "not-found") {
			t.Fatalf("another person's appointment: err = %v", err)
		}
	})
}

func TestExpiredHoldIsBookableWithoutSweeper(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		slotID := e.slot(t, 1, 1)
		holder, other := e.person(t, 1), e.person(t, 2)
		h, err := e.svc.Hold(context.Background(), booking.HoldRequest{PersonID: holder.PersonID, SlotID: slotID, Actor: "a"})
		if err != nil {
			t.Fatal(err)
		}
		if err := book(e, other, slotID); !apperr.Is(err, "slot-full") {
			t.Fatalf("held seat: err = %v, want slot-full", err)
		}
		e.clock.Advance(e.svc.HoldTTL() + time.Second)
		if err := book(e, other, slotID); err != nil {
			t.Fatalf("after the hold expired: %v", err)
		}
		_, _, err = e.svc.Book(context.Background(), booking.BookRequest{PersonID: holder.PersonID, HoldID: h.ID})
		if !apperr.Is(err, "hold-expired") {
			t.Fatalf("booking an expired hold: err = %v", err)
		}
		if r, booked := e.remaining(t, slotID); r != 0 || booked != 1 {
			t.Fatalf("remaining %d, booked %d", r, booked)
		}
	})
}

func TestRescheduleMovesTheSeatAtomically(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		a1, b1, full := e.slot(t, 2, 1), e.slot(t, 2, 2), e.slot(t, 1, 3)
		p, q := e.person(t, 1), e.person(t, 2)
		d, _, err := e.svc.Book(context.Background(), booking.BookRequest{PersonID: p.PersonID, SlotID: a1})
		if err != nil {
			t.Fatal(err)
		}
		if err := book(e, q, full); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Reschedule(context.Background(), booking.ChangeRequest{AppointmentID: d.Appointment.ID,
			PersonID: p.PersonID, NewSlotID: full})
		if !apperr.Is(err, "slot-full") {
			t.Fatalf("reschedule into a full slot: %v", err)
		}
		if r, _ := e.remaining(t, a1); r != 1 {
			t.Fatalf("a failed reschedule changed the old slot: remaining %d", r)
		}
		moved, err := e.svc.Reschedule(context.Background(), booking.ChangeRequest{AppointmentID: d.Appointment.ID,
			PersonID: p.PersonID, NewSlotID: b1})
		if err != nil || moved.Appointment.SlotID != b1 {
			t.Fatalf("reschedule: %+v, %v", moved.Appointment, err)
		}
		ra, _ := e.remaining(t, a1)
		rb, _ := e.remaining(t, b1)
		if ra != 2 || rb != 1 {
			t.Fatalf("after the move: old slot %d left (want 2), new slot %d (want 1)", ra, rb)
		}
	})
}

func TestCancelRacingRescheduleReturnsTheRightSeat(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		for round := 0; round < 10; round++ {
			from, to := e.slot(t, 1, 1+2*round), e.slot(t, 1, 2+2*round)
			p := e.person(t, round)
			d, _, err := e.svc.Book(context.Background(), booking.BookRequest{PersonID: p.PersonID, SlotID: from})
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			wg.Add(2)
			go func() {
				defer wg.Done()
				_, _ = e.svc.Reschedule(context.Background(), booking.ChangeRequest{AppointmentID: d.Appointment.ID,
					PersonID: p.PersonID, NewSlotID: to})
			}()
			go func() {
				defer wg.Done()
				if _, err := e.svc.Cancel(context.Background(), booking.ChangeRequest{AppointmentID: d.Appointment.ID,
					PersonID: p.PersonID}); err != nil {
					t.Error(err)
				}
			}()
			wg.Wait()
			rf, bf := e.remaining(t, from)
			rt, bt := e.remaining(t, to)
			if rf != 1 || rt != 1 || bf != 0 || bt != 0 {
				t.Fatalf("round %d: from %d left/%d booked, to %d left/%d booked; want both free", round, rf, bf, rt, bt)
			}
		}
	})
}

func TestExpiredIdempotencyKeyIsClaimedAnew(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		slotID := e.slot(t, 5, 5)
		p := e.person(t, 1)
		render := func(result any, err error) booking.Replay {
			if err != nil {
				return booking.Replay{Status: 409, Body: []byte(apperr.NameOf(err))}
			}
			return booking.Replay{Status: 201, Body: []byte(result.(booking.Detail).Appointment.ID)}
		}
		book := func(hash string) (*booking.Replay, error) {
			_, r, err := e.svc.Book(context.Background(), booking.BookRequest{PersonID: p.PersonID, SlotID: slotID,
				Idempotency: &booking.Idempotency{Scope: "s", Key: "k", RequestHash: []byte(hash), Render: render}})
			return r, err
		}
		first, err := book("a")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Cancel(context.Background(), booking.ChangeRequest{AppointmentID: string(first.Body), PersonID: p.PersonID}); err != nil {
			t.Fatal(err)
		}
		if _, err := book("b"); !apperr.Is(err, "idempotency-key-reuse") {
			t.Fatalf("within its lifetime the key is bound to its body: %v", err)
		}
		e.clock.Advance(24*time.Hour + time.Second)
		again, err := book("b")
		if err != nil || again.Replayed || string(again.Body) == string(first.Body) {
			t.Fatalf("after the key expired: %+v, %v; want a new booking", again, err)
		}
	})
}

// refusals records what the service reports to its refusal observers.
type refusals struct {
	mu   sync.Mutex
	seen []string
}

func (r *refusals) Refused(_ context.Context, slotID int64, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, fmt.Sprintf("%d:%s", slotID, apperr.NameOf(err)))
}

func TestRefusalsReachObserversOnce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		obs := &refusals{}
		e.svc.AddRefusalObserver(obs)
		slotID := e.slot(t, 1, 1)
		if err := book(e, e.person(t, 1), slotID); err != nil {
			t.Fatal(err)
		}
		if err := book(e, e.person(t, 2), slotID); !apperr.Is(err, "slot-full") {
			t.Fatalf("second booking: %v", err)
		}
		if _, err := e.svc.Hold(context.Background(), booking.HoldRequest{PersonID: e.person(t, 3).PersonID, SlotID: slotID}); !apperr.Is(err, "slot-full") {
			t.Fatalf("hold: %v", err)
		}
		want := []string{fmt.Sprintf("%d:slot-full", slotID), fmt.Sprintf("%d:slot-full", slotID)}
		if fmt.Sprint(obs.seen) != fmt.Sprint(want) {
			t.Fatalf("observed %v, want %v (one per refusal, none for the booking that stood)", obs.seen, want)
		}
	})
}
