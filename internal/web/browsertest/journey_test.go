package browsertest

import (
	"context"
	"strings"
	"testing"
)

// citizen is one person's details for the identity form.
type citizen struct {
	given, family, month, day, year, zip, email string
}

var ada = citizen{"Ada", "Lovelace", "12", "10", "1950", "02118", "ada@example.com"}

// signIn goes from the start page to the first question.
func (b *tab) signIn(c citizen) {
	b.t.Helper()
	b.open("/")
	b.expect("start")
	b.click(`a[href="/book"]`)
	b.expect("identity")
	b.fill(map[string]string{"given_name": c.given, "family_name": c.family, "birth_date": c.month,
		"birth_day": c.day, "birth_year": c.year, "postal_code": c.zip, "email": c.email})
	b.click(`form button[type=submit]`)
}

// answer answers the five questions, one page each.
func (b *tab) answer() {
	b.t.Helper()
	for _, choice := range []string{`label[for="answer"]`, `label[for="answer"]`, "", "", `label[for="answer-no"]`} {
		b.expect("question")
		if choice != "" {
			b.click(choice)
		}
		b.click(`form button[type=submit]`)
	}
	b.expect("result")
}

// chooseFirstTime searches near the person's ZIP and holds the first time.
func (b *tab) chooseFirstTime() string {
	b.t.Helper()
	b.click(`form[action="/book/slots"] button[type=submit]`)
	b.expect("slots")
	slot := b.eval(`document.querySelector("button[data-slot]").getAttribute("data-slot")`)
	b.click(`button[data-slot="` + slot + `"]`)
	b.expect("check")
	return slot
}

func TestCitizenJourney(t *testing.T) {

	srv := startServer(t)
	for _, js := range []bool{true, false} {
		b := newTab(t, srv.URL, js)
		c := ada
		if !js {
			c.given, c.email = "Grace", "grace@example.com"
		}
		b.signIn(c)
		b.answer()
		if h := b.text("h1"); !strings.Contains(h, "You can book") {
			t.Fatalf("js=%v: result heading %q", js, h)
		}
		b.chooseFirstTime()
		if !strings.Contains(b.text("#hold-heading"), "holding this time") {
			t.Errorf("js=%v: the check page does not show the hold", js)
		}
		b.click(`form[action="/book/hold/extend"] button`)
		b.expect("check")
		b.click("#confirm")
		b.expect("confirmation")
		ref := b.text("#reference")
		if len(ref) < 6 {
			t.Fatalf("js=%v: reference %q", js, ref)
		}
		if js {
			ics := b.evalAwait(`fetch(document.querySelector("a[download]").href).then(r => r.text())`)
			if !strings.Contains(ics, "BEGIN:VEVENT") || !strings.Contains(ics, ref) {
				t.Errorf("calendar file lacks the event or the reference:\n%s", ics)
			}
		}
		a, err := srv.Booking.AppointmentByReference(context.Background(), ref)
		if err != nil || a.Status != "booked" {
			t.Errorf("js=%v: appointment %s: %+v %v", js, ref, a, err)
		}
	}
}
