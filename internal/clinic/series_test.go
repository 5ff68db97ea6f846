package clinic_test

import (
	"testing"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
)

// Moderna (207) allows dose 2 from 28 to 42 calendar days after dose 1.
func TestDoseTwoIntervalEdges(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db, false)
		site := e.site.ID
		first := e.slot(t, site, 1, "09:00", 5, 0, "207", 1)
		dayBefore := e.slot(t, site, 1+27, "09:00", 5, 0, "207", 2)
		minEarly := e.slot(t, site, 1+28, "08:00", 5, 0, "207", 2) // an hour earlier than dose 1
		minimum := e.slot(t, site, 1+28, "09:00", 5, 0, "207", 2)
		maximum := e.slot(t, site, 1+42, "16:00", 5, 0, "207", 2)
		dayAfter := e.slot(t, site, 1+43, "09:00", 5, 0, "207", 2)
		other := e.slot(t, site, 1+30, "09:00", 5, 0, "208", 2)
		p := e.person(t)
		a := e.mustBook(t, p, first)

		next, err := e.book.NextDoseOptions(e.ctx, a.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, o := range next.Options {
			got = append(got, o.Slot.ID)
		}
		if want := []int64{minEarly, minimum, maximum}; len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
			t.Fatalf("options %v, want %v", got, want)
		}
		if next.Dose != 2 || next.Earliest != "2026-06-30" || next.Latest != "2026-07-14" {
			t.Fatalf("next dose %d from %s to %s", next.Dose, next.Earliest, next.Latest)
		}
		for _, id := range []int64{dayBefore, dayAfter, other} {
			if _, err := e.bookFor(p, id, ""); !apperr.Is(err, "dose-interval") {
				t.Fatalf("slot %d: %v, want dose-interval", id, err)
			}
		}
		for _, id := range []int64{minEarly, minimum, maximum} {
			d, err := e.bookFor(p, id, "")
			if err != nil {
				t.Fatalf("slot %d inside the interval: %v", id, err)
			}
			if _, err := e.book.Cancel(e.ctx, booking.ChangeRequest{AppointmentID: d.Appointment.ID, Actor: "test"}); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestBookTogetherTakesFirstFreeSlotInInterval(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db, true)
		site := e.site.ID
		first := e.slot(t, site, 1, "09:00", 5, 0, "207", 1)
		tooEarly := e.slot(t, site, 1+20, "09:00", 5, 0, "207", 2)
		full := e.slot(t, site, 1+29, "09:00", 1, 0, "207", 2)
		free := e.slot(t, site, 1+30, "09:00", 1, 0, "207", 2)
		e.mustBook(t, e.person(t), full) // a dose 2 given elsewhere fills it

		p := e.person(t)
		a := e.mustBook(t, p, first)
		list, err := e.book.AppointmentsOf(e.ctx, p.PersonID)
		if err != nil || len(list) != 2 {
			t.Fatalf("%d appointments, %v; want dose 1 and dose 2", len(list), err)
		}
		d2 := list[0].Appointment
		if d2.Dose == 1 {
			d2 = list[1].Appointment
		}
		if d2.Dose != 2 || d2.SlotID != free || d2.Reference == a.Reference {
			t.Fatalf("dose 2 in slot %d (dose %d); want slot %d", d2.SlotID, d2.Dose, free)
		}
		if s := e.slotRow(t, tooEarly); s.Remaining != 5 {
			t.Fatalf("slot before the interval lost a seat: %d", s.Remaining)
		}

		// No slot left in the interval: dose 1 is booked alone.
		q := e.person(t)
		e.mustBook(t, q, first)
		if list, _ := e.book.AppointmentsOf(e.ctx, q.PersonID); len(list) != 1 {
			t.Fatalf("%d appointments; want dose 1 alone", len(list))
		}

		// Cancelling dose 1 asks; keep and cancel both do what they say.
		_, err = e.book.Cancel(e.ctx, booking.ChangeRequest{AppointmentID: a.ID, PersonID: p.PersonID, Actor: "person:x"})
		if !apperr.Is(err, "conflict") {
			t.Fatalf("cancel without a choice: %v, want conflict", err)
		}
		if got, _ := e.book.Appointment(e.ctx, a.ID); got.Status != booking.StatusBooked {
			t.Fatalf("asking changed the appointment: %s", got.Status)
		}
		if _, err := e.book.Cancel(e.ctx, booking.ChangeRequest{AppointmentID: a.ID, PersonID: p.PersonID,
			Actor: "person:x", Dose2: booking.Dose2Cancel}); err != nil {
			t.Fatal(err)
		}
		for _, d := range list {
			if got, _ := e.book.Appointment(e.ctx, d.Appointment.ID); got.Status != booking.StatusCancelled {
				t.Fatalf("dose %d is %s after cancelling the series", got.Dose, got.Status)
			}
		}
		if s := e.slotRow(t, free); s.Remaining != 1 {
			t.Fatalf("dose-2 seat not returned: remaining %d", s.Remaining)
		}
	})
}

func TestCancelDoseOneKeepingDoseTwo(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db, false)
		first := e.slot(t, e.site.ID, 1, "09:00", 5, 0, "207", 1)
		second := e.slot(t, e.site.ID, 1+30, "09:00", 5, 0, "207", 2)
		p := e.person(t)
		a := e.mustBook(t, p, first)
		b := e.mustBook(t, p, second)
		if _, err := e.book.Cancel(e.ctx, booking.ChangeRequest{AppointmentID: a.ID, Actor: "x", Dose2: "maybe"}); !apperr.Is(err, "invalid-request") {
			t.Fatalf("unknown choice: %v", err)
		}
		if _, err := e.book.Cancel(e.ctx, booking.ChangeRequest{AppointmentID: a.ID, Actor: "x", Dose2: booking.Dose2Keep}); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.book.Appointment(e.ctx, b.ID); got.Status != booking.StatusBooked {
			t.Fatalf("kept dose 2 is %s", got.Status)
		}
		if s := e.slotRow(t, first); s.Remaining != 5 {
			t.Fatalf("dose-1 seat not returned: %d", s.Remaining)
		}
	})
}
