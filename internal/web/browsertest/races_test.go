package browsertest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/identity"
)

// takeAllSeats holds every remaining seat of a slot for other people, as
// a crowd choosing the same time would.
func takeAllSeats(t *testing.T, srv *server, slotID int64) {
	t.Helper()
	ctx := context.Background()
	d, err := srv.Booking.SlotDetail(ctx, slotID)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < d.Slot.Remaining; i++ {
		sess, err := srv.Identity.CreateSession(ctx, identity.Attested{GivenName: "Other", FamilyName: "Person" + letters(i),
			BirthDate: "1960-01-01", PostalCode: "02118", Email: fmt.Sprintf("other%d@example.com", i)})
		if err != nil {
			var e *apperr.Error
			errors.As(err, &e)
			t.Fatalf("session for another person: %v %v", err, e.Fields)
		}
		if _, err := srv.Booking.Hold(ctx, booking.HoldRequest{PersonID: sess.PersonID, Actor: "person:" + sess.PersonRef,
			SlotID: slotID}); err != nil {
			t.Fatalf("hold seat %d of slot %d: %v", i, slotID, err)
		}
	}
}

// TestSlotTakenWhileChoosing: the list showed a time, someone else took
// its last seats, the person chooses it anyway. They come back to the
// list with a message, and their answers still stand: the next time they
// choose goes straight to the check page.
func TestSlotTakenWhileChoosing(t *testing.T) {

	srv := startServer(t)
	b := newTab(t, srv.URL, false)
	c := ada
	c.given, c.email = "Mary", "mary@example.com"
	b.signIn(c)
	b.answer()
	b.click(`form[action="/book/slots"] button[type=submit]`)
	b.expect("slots")
	slot := b.eval(`document.querySelector("button[data-slot]").getAttribute("data-slot")`)
	id, _ := strconv.ParseInt(slot, 10, 64)
	takeAllSeats(t, srv, id)
	b.click(`button[data-slot="` + slot + `"]`)
	b.expect("slots")
	if msg := b.text(`.usa-alert--warning`); !strings.Contains(msg, "just taken") {
		t.Fatalf("no message about the taken time: %q", msg)
	}
	other := b.eval(`[...document.querySelectorAll("button[data-slot]")].map(e => e.getAttribute("data-slot")).find(s => s !== "` + slot + `")`)
	b.click(`button[data-slot="` + other + `"]`)
	b.expect("check")
	if got := b.text(".app-dl dd"); got == "" {
		t.Fatal("check page lost the appointment")
	}
}

// TestDoubleSubmitBooksOnce sends the confirm form twice at once, as a
// double click without JavaScript does, and then double-clicks the real
// button: one appointment either way.
func TestDoubleSubmitBooksOnce(t *testing.T) {

	srv := startServer(t)
	b := newTab(t, srv.URL, true)
	c := ada
	c.given, c.email = "Joan", "joan@example.com"
	b.signIn(c)
	b.answer()
	b.chooseFirstTime()
	urls := b.evalAwait(`(() => {
	  const f = document.querySelector('form[action="/book/confirm"]');
	  const send = () => fetch(f.action, {method: "POST", body: new URLSearchParams(new FormData(f))}).then(r => r.url);
	  return Promise.all([send(), send()]).then(u => u.join(" "));
	})()`)
	both := strings.Fields(urls)
	if len(both) != 2 || both[0] != both[1] || !strings.Contains(both[0], "/book/confirmation/") {
		t.Fatalf("the two submits ended on %q", urls)
	}
	b.eval(`document.documentElement.setAttribute("data-stale", "1"); ""`)
	b.run(chromedpDoubleClick("#confirm"))
	b.expect("confirmation")
	ref := b.text("#reference")
	ctx := context.Background()
	a, err := srv.Booking.AppointmentByReference(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(both[0], "/"+a.ID) {
		t.Errorf("the page shows %s, the submits confirmed %s", a.ID, both[0])
	}
	all, err := srv.Booking.AppointmentsOf(ctx, a.PersonID)
	if err != nil {
		t.Fatal(err)
	}
	booked := 0
	for _, d := range all {
		if d.Appointment.Status == booking.StatusBooked {
			booked++
		}
	}
	if booked != 1 {
		t.Fatalf("%d appointments booked, want 1", booked)
	}
}

// TestManageRescheduleAndCancel finds the booking by reference and date
// of birth, moves it to another time, then cancels it.
func TestManageRescheduleAndCancel(t *testing.T) {

	srv := startServer(t)
	b := newTab(t, srv.URL, false)
	c := ada
	c.given, c.email = "Edith", "edith@example.com"
	b.signIn(c)
	b.answer()
	first := b.chooseFirstTime()
	b.click("#confirm")
	b.expect("confirmation")
	ref := b.text("#reference")

	b.open("/manage")
	b.expect("manage_find")
	b.fill(map[string]string{"reference": ref, "birth_month": c.month, "birth_day": c.day, "birth_year": c.year})
	b.click(`form[action="/manage"] button[type=submit]`)
	b.expect("manage_view")
	before := b.text("#when")
	b.click("#reschedule")
	b.expect("slots")
	other := b.eval(`[...document.querySelectorAll("button[data-slot]")].map(e => e.getAttribute("data-slot")).find(s => s !== "` + first + `")`)
	b.click(`button[data-slot="` + other + `"]`)
	b.expect("manage_view")
	ctx := context.Background()
	a, err := srv.Booking.AppointmentByReference(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if strconv.FormatInt(a.SlotID, 10) != other || a.Status != booking.StatusBooked {
		t.Fatalf("after reschedule: slot %d status %s, want slot %s booked", a.SlotID, a.Status, other)
	}
	if b.text("#when") == before && other != first {
		t.Logf("the new time reads the same as the old one (same start at another site)")
	}
	b.click("#cancel")
	b.expect("manage_cancel")
	b.click("#cancel-confirm")
	b.expect("manage_cancelled")
	if a, _ = srv.Booking.AppointmentByReference(ctx, ref); a.Status != booking.StatusCancelled {
		t.Fatalf("status after cancel: %s", a.Status)
	}
}

// letters spells n in base 26 with the letters a-z, for distinct names.
func letters(n int) string {
	s := ""
	for {
		s = string(rune('a'+n%26)) + s
		n /= 26
		if n == 0 {
			return s
		}
	}
}
