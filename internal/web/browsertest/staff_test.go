package browsertest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/eligibility"
	"github.com/vaxbook/vaxbook/internal/geo"
	"github.com/vaxbook/vaxbook/internal/identity"
)

// staffToken makes a staff token as `vaxbook token create` does.
func staffToken(t *testing.T, srv *server, role string, site int64) string {
	t.Helper()
	tok, _, err := srv.Identity.CreateStaffToken(context.Background(), "system", role, site)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// staffSignIn signs a tab in to the console with a token.
func (b *tab) staffSignIn(token string) {
	b.t.Helper()
	b.open("/staff")
	b.expect("staff_sign_in")
	b.fill(map[string]string{"token": token})
	b.click("#sign-in")
	b.expect("staff_home")
}

// bookDirect books a person into slotID through the services, as the API
// would: a session, a decision, a booking.
func bookDirect(t *testing.T, srv *server, given string, slotID int64) booking.Detail {
	t.Helper()
	ctx := context.Background()
	sess, err := srv.Identity.CreateSession(ctx, identity.Attested{GivenName: given, FamilyName: "Lovelace",
		BirthDate: "1950-12-10", PostalCode: "02118", Email: strings.ToLower(given) + "@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	actor := "person:" + sess.PersonRef
	d, err := srv.Eligibility.Evaluate(ctx, eligibility.EvalRequest{PersonID: sess.PersonID, Actor: actor,
		Attributes: eligibility.Attributes{BirthDate: "1950-12-10", PostalCode: "02118",
			Answers: eligibility.Answers{Residence: "private", Occupation: "other"}}})
	if err != nil || !d.Eligible {
		t.Fatalf("decision: %+v %v", d, err)
	}
	det, _, err := srv.Booking.Book(ctx, booking.BookRequest{PersonID: sess.PersonID, PersonRef: sess.PersonRef,
		Actor: actor, SlotID: slotID, DecisionRef: d.Ref})
	if err != nil {
		t.Fatalf("book slot %d: %v", slotID, err)
	}
	return det
}

// firstSlot returns the nearest bookable slot to Boston.
func firstSlot(t *testing.T, srv *server) geo.Hit {
	t.Helper()
	p, _ := geo.LookupZIP("02118")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		res, err := srv.Search.Search(context.Background(), geo.Query{Near: p, Limit: 1})
		if err == nil && len(res.Hits) > 0 {
			return res.Hits[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no slot near 02118: %v", err)
		}
	}
}

// TestStaffActivatesRuleVersion: an admin signs in, compares the active
// version with an earlier one, activates it behind the confirmation page,
// and the dashboard shows the new active version and a booking made
// after it.
func TestStaffActivatesRuleVersion(t *testing.T) {
	srv := startServer(t)
	ctx := context.Background()
	b := newTab(t, srv.URL, true)
	b.staffSignIn(staffToken(t, srv, "admin", 0))

	b.open("/staff/dashboard")
	b.expect("staff_dashboard")
	if got := b.text("#dash-active"); !strings.Contains(got, "phase3") {
		t.Fatalf("dashboard before: active %q", got)
	}
	before, _ := strconv.ParseFloat(b.text("#booked-total"), 64)

	b.open("/staff/rules")
	b.expect("staff_rules")
	if !strings.Contains(strings.ToLower(b.text(`tr[data-version="phase3"]`)), "active") {
		t.Fatalf("phase3 not listed as active")
	}
	b.fill(map[string]string{"from": "phase3", "to": "phase2-g5"})
	b.click("#compare")
	b.expect("staff_rules_diff")
	if n := b.eval(`String(document.querySelectorAll("#diff [data-rule]").length)`); n == "0" {
		t.Fatalf("the diff of phase3 and phase2-g5 lists no rule")
	}
	b.click("#activate-to")
	b.expect("staff_confirm")
	if got := b.text("#changes"); !strings.Contains(got, "from phase3 to phase2-g5") {
		t.Fatalf("confirmation does not say what changes: %q", got)
	}
	if v, _ := srv.Eligibility.Active(ctx, "MA"); v != "phase3" {
		t.Fatalf("activated before the confirmation: %s", v)
	}
	b.click("#confirm-action")
	b.expect("staff_rules")
	if got := b.text("#done"); !strings.Contains(got, "phase2-g5 is active") {
		t.Fatalf("no note of the activation: %q", got)
	}
	if v, _ := srv.Eligibility.Active(ctx, "MA"); v != "phase2-g5" {
		t.Fatalf("active version after activation: %s", v)
	}

	bookDirect(t, srv, "Dashboard", firstSlot(t, srv).ID)
	b.open("/staff/dashboard")
	b.expect("staff_dashboard")
	// JavaScript swaps the charts in every few seconds: wait for the
	// booking to reach the chart without reloading.
	deadline := time.Now().Add(15 * time.Second)
	for {
		after, _ := strconv.ParseFloat(b.text("#booked-total"), 64)
		active := b.text("#dash-active")
		max := b.eval(`document.querySelector("#chart-bookings").getAttribute("data-now") + " " + document.querySelector("#chart-bookings figcaption").textContent`)
		if after > before && strings.Contains(active, "phase2-g5") && !strings.Contains(max, "(max 0)") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dashboard did not show the booking: total %v -> %v, active %q, chart %q", before, after, active, max)
		}
		time.Sleep(300 * time.Millisecond)
	}
	b.screenshot("staff_dashboard_after")
}

// TestClinicDayList: clinic staff see their own site's day only, with
// names, and check a person in; they cannot reach the rules; an admin
// sees the same list without names.
func TestClinicDayList(t *testing.T) {
	srv := startServer(t)
	ctx := context.Background()
	hit := firstSlot(t, srv)
	site, err := srv.Booking.Site(ctx, hit.Site.ID)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := srv.Booking.SlotDetail(ctx, hit.ID)
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := time.LoadLocation(site.TimeZone)
	start := time.Now().In(loc).Add(10 * time.Minute).Truncate(time.Minute)
	if start.Hour() == 23 && start.Minute() >= 30 {
		start = time.Date(start.Year(), start.Month(), start.Day()+1, 0, 10, 0, 0, loc)
	}
	day := start.Format("2006-01-02")
	n, err := srv.Booking.GenerateSlots(ctx, "staff:test", site.ID, booking.Generate{From: day, To: day,
		Opens: start.Format("15:04"), Closes: start.Add(15 * time.Minute).Format("15:04"), IntervalMin: 15,
		Capacity: 2, Vaccine: sd.Vaccine.Code, Dose: 1})
	if err != nil || n != 1 {
		t.Fatalf("generate today's slot: %d %v", n, err)
	}
	var slotID int64
	if err := srv.DB.Read.QueryRowContext(ctx, "SELECT id FROM slots WHERE site_id = ? AND start_us = ? AND source = 'local'",
		site.ID, start.UnixMicro()).Scan(&slotID); err != nil {
		t.Fatal(err)
	}
	appt := bookDirect(t, srv, "Clinic", slotID)
	ref := appt.Appointment.Reference

	b := newTab(t, srv.URL, false)
	b.staffSignIn(staffToken(t, srv, "clinic", site.ID))
	other := site.ID + 1
	b.open(fmt.Sprintf("/staff/day?site=%d&date=%s", other, day))
	b.expect("staff_day")
	if h := b.text("h1"); !strings.Contains(h, site.Name) {
		t.Fatalf("clinic user asked for site %d and got %q, not their own site", other, h)
	}
	row := `tr[data-reference="` + ref + `"]`
	if got := b.text(row); !strings.Contains(got, "Clinic Lovelace") || !strings.Contains(got, "booked") {
		t.Fatalf("day list row: %q", got)
	}
	b.click(row + ` button[type=submit]`)
	b.expectFresh("staff_day")
	if got := b.text(row + " .status"); got != "completed" {
		t.Fatalf("status after check-in: %q", got)
	}
	a, err := srv.Booking.Appointment(ctx, appt.Appointment.ID)
	if err != nil || a.Status != booking.StatusCompleted {
		t.Fatalf("appointment after check-in: %+v %v", a, err)
	}
	b.open("/staff/rules")
	b.expect("staff_forbidden")

	admin := newTab(t, srv.URL, false)
	admin.staffSignIn(staffToken(t, srv, "admin", 0))
	admin.open(fmt.Sprintf("/staff/day?site=%d&date=%s", site.ID, day))
	admin.expect("staff_day")
	if got := admin.text("#day-list"); !strings.Contains(got, ref) || strings.Contains(got, "Lovelace") {
		t.Fatalf("admin's day list should show the reference without the name: %q", got)
	}
}
