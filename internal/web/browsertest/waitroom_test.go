package browsertest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vaxbook/vaxbook/internal/waitroom"
)

// TestWaitingRoomJourney: with the room on, /book sends the person to the
// waiting room; once admitted they book with the admission token, which
// the booking spends, so booking again means queueing again.
func TestWaitingRoomJourney(t *testing.T) {
	srv := startServer(t)
	ctx := context.Background()
	if _, err := srv.Room.Configure(ctx, waitroom.Settings{Mode: waitroom.ModeFIFO, OpensAt: time.Now().Add(-time.Second),
		RatePerS: 20, TokenTTL: 10 * time.Minute}, "staff:test"); err != nil {
		t.Fatal(err)
	}
	b := newTab(t, srv.URL, false)
	b.open("/")
	b.expect("start")
	b.click(`a[href="/book"]`)
	b.expect("waiting_room")
	b.click("#join")
	for i := 0; ; i++ {
		b.run(chromedp.WaitVisible(chromedp.CSS(`html:not([data-stale]) main[data-page]`)))
		page := b.eval(`document.querySelector("main").getAttribute("data-page")`)
		if page == "identity" {
			break
		}
		if page != "waiting_room" || i == 40 {
			t.Fatalf("not admitted after %d checks (page %q)", i, page)
		}
		if i == 0 {
			b.expect("waiting_room")
		}
		time.Sleep(250 * time.Millisecond)
		b.click("#check-again")
	}
	b.expect("identity")
	c := ada
	c.given, c.email = "Queued", "queued@example.com"
	b.fill(map[string]string{"given_name": c.given, "family_name": c.family, "birth_date": c.month,
		"birth_day": c.day, "birth_year": c.year, "postal_code": c.zip, "email": c.email})
	b.click(`form button[type=submit]`)
	b.answer()
	b.chooseFirstTime()
	b.click("#confirm")
	b.expect("confirmation")
	ref := b.text("#reference")
	if a, err := srv.Booking.AppointmentByReference(ctx, ref); err != nil || a.Status != "booked" {
		t.Fatalf("appointment %s: %+v %v", ref, a, err)
	}
	// The admission was spent on that booking: a new booking queues again.
	b.open("/book")
	b.expect("waiting_room")
	if !strings.Contains(b.text("main"), "line") {
		t.Errorf("waiting room page text: %q", b.text("main"))
	}
}
