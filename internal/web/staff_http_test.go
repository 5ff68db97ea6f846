package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/app"
	"github.com/vaxbook/vaxbook/internal/app/apptest"
	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/eligibility"
	"github.com/vaxbook/vaxbook/internal/identity"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
	"github.com/vaxbook/vaxbook/rules"
)

// console is the whole service without the demo feeds: the
// Massachusetts rules, and two sites of its own with a slot starting
// within the check-in window and a second-dose slot after it.
type console struct {
	*app.App
	URL          string
	siteA, siteB booking.Site
	// slotA and slotB start soon (dose 1); dose2A is a dose-2 slot at A.
	slotA, slotB, dose2A int64
	day                  string // local date of slotA
}

func setupConsole(t *testing.T, engine store.Dialect, limits bool) *console {
	t.Helper()
	svc := apptest.Start(t, apptest.Options{Engine: engine, NoDemo: true, RateLimits: limits,
		Configure: func(c *app.Config) { c.DashboardInterval = 200 * time.Millisecond }})
	a, ctx := svc.App, context.Background()
	if _, err := a.Eligibility.PublishAndActivate(ctx, rules.Massachusetts2021, rules.Massachusetts2021Dir,
		time.Now(), "system"); err != nil {
		t.Fatal(err)
	}
	c := &console{App: a, URL: svc.URL}
	c.siteA = c.site(t, "Clinic A", 42.34)
	c.siteB = c.site(t, "Clinic B", 42.40)
	loc, _ := time.LoadLocation("America/New_York")
	start := time.Now().In(loc).Add(time.Hour).Truncate(15 * time.Minute)
	if start.Hour() == 23 && start.Minute() == 45 {
		start = start.Add(15 * time.Minute)
	}
	c.day = start.Format("2006-01-02")
	c.slotA = c.slot(t, c.siteA, start, 1)
	c.slotB = c.slot(t, c.siteB, start, 1)
	c.dose2A = c.slot(t, c.siteA, start.AddDate(0, 0, 25), 2)
	return c
}

func (c *console) site(t *testing.T, name string, lat float64) booking.Site {
	t.Helper()
	s, err := c.Booking.CreateSite(context.Background(), "system", booking.NewSite{Region: "MA", Name: name,
		Address: "1 Main St", City: "Boston", State: "MA", PostalCode: "02118", Lat: lat, Lng: -71.07,
		TimeZone: "America/New_York"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// slot makes one slot at start and returns its id.
func (c *console) slot(t *testing.T, s booking.Site, start time.Time, dose int) int64 {
	t.Helper()
	ctx := context.Background()
	day := start.Format("2006-01-02")
	n, err := c.Booking.GenerateSlots(ctx, "system", s.ID, booking.Generate{From: day, To: day,
		Opens: start.Format("15:04"), Closes: start.Add(15 * time.Minute).Format("15:04"), IntervalMin: 15,
		Capacity: 1, Vaccine: "208", Dose: dose})
	if err != nil || n != 1 {
		t.Fatalf("generate: %d %v", n, err)
	}
	var id int64
	if err := c.DB.Read.QueryRowContext(ctx, sqlFor(c.DB, "SELECT id FROM slots WHERE site_id = ? AND start_us = ?"),
		s.ID, start.UnixMicro()).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func sqlFor(db *store.DB, q string) string {
	if db.Dialect != store.Postgres {
		return q
	}
	n := 0
	var b strings.Builder
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// book gives a new person an appointment in slotID (and in more slots
// when given, for later doses), as the API would.
func (c *console) book(t *testing.T, family string, slots ...int64) []booking.Appointment {
	t.Helper()
	ctx := context.Background()
	sess, err := c.Identity.CreateSession(ctx, identity.Attested{GivenName: "Rosa", FamilyName: family,
		BirthDate: "1950-03-04", PostalCode: "02118", Email: strings.ToLower(family) + "@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	actor := "person:" + sess.PersonRef
	d, err := c.Eligibility.Evaluate(ctx, eligibility.EvalRequest{PersonID: sess.PersonID, Actor: actor,
		Attributes: eligibility.Attributes{BirthDate: "1950-03-04", PostalCode: "02118",
			Answers: eligibility.Answers{Residence: "private", Occupation: "other"}}})
	if err != nil || !d.Eligible {
		t.Fatalf("decision %+v %v", d, err)
	}
	var out []booking.Appointment
	for _, id := range slots {
		det, _, err := c.Booking.Book(ctx, booking.BookRequest{PersonID: sess.PersonID, PersonRef: sess.PersonRef,
			Actor: actor, SlotID: id, DecisionRef: d.Ref})
		if err != nil {
			t.Fatalf("book slot %d: %v", id, err)
		}
		out = append(out, det.Appointment)
	}
	return out
}

func (c *console) token(t *testing.T, role string, site int64) string {
	t.Helper()
	tok, _, err := c.Identity.CreateStaffToken(context.Background(), "system", role, site)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// signIn signs a client in to the console and returns it.
func (c *console) signIn(t *testing.T, token string) *http.Client {
	t.Helper()
	cl := newClient(t)
	_, body := get(t, cl, c.URL+"/staff/sign-in")
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no csrf token on the sign-in form")
	}
	resp, _ := post(t, cl, c.URL+"/staff/sign-in", url.Values{"csrf_token": {m[1]}, "token": {token}}, "")
	if resp.Request.URL.Path != "/staff" {
		t.Fatalf("sign-in landed on %s (%d)", resp.Request.URL.Path, resp.StatusCode)
	}
	return cl
}

// form posts a console form with the page's CSRF token.
func (c *console) form(t *testing.T, cl *http.Client, page, action string, v url.Values) (*http.Response, string) {
	t.Helper()
	_, body := get(t, cl, c.URL+page)
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf token on %s", page)
	}
	v.Set("csrf_token", m[1])
	return post(t, cl, c.URL+action, v, "")
}

// TestConsoleSignInAndRoles: the token is checked before it is kept, the
// cookie is the console's own (HttpOnly, Strict, /staff), each role
// reaches only its areas, and signing out ends it.
func TestConsoleSignInAndRoles(t *testing.T) {
	t.Parallel()
	c := setupConsole(t, store.SQLite, false)
	anon := newClient(t)
	if resp, _ := get(t, anon, c.URL+"/staff/rules"); resp.Request.URL.Path != "/staff/sign-in" {
		t.Errorf("anonymous /staff/rules landed on %s", resp.Request.URL.Path)
	}
	_, body := get(t, anon, c.URL+"/staff/sign-in")
	m := csrfRE.FindStringSubmatch(body)
	resp, body := post(t, anon, c.URL+"/staff/sign-in", url.Values{"csrf_token": {m[1]}, "token": {"forged"}}, "")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "not valid") {
		t.Errorf("forged token: %d", resp.StatusCode)
	}

	tok := c.token(t, "support", 0)
	cl := newClient(t)
	_, body = get(t, cl, c.URL+"/staff/sign-in")
	m = csrfRE.FindStringSubmatch(body)
	req, _ := http.NewRequest("POST", c.URL+"/staff/sign-in", strings.NewReader(url.Values{"csrf_token": {m[1]},
		"token": {tok}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, ck := range cl.Jar.Cookies(mustURL(c.URL)) {
		req.AddCookie(ck)
	}
	raw, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	raw.Body.Close()
	var staff *http.Cookie
	for _, ck := range raw.Cookies() {
		if ck.Name == "vaxbook_staff" {
			staff = ck
		}
	}
	if staff == nil || !staff.HttpOnly || staff.SameSite != http.SameSiteStrictMode || staff.Path != "/staff" {
		t.Fatalf("staff cookie %+v", staff)
	}

	cl = c.signIn(t, tok)
	for path, want := range map[string]int{"/staff/support": 200, "/staff/audit": 200, "/staff/rules": 403,
		"/staff/sites": 403, "/staff/dashboard": 403, "/staff/day": 403} {
		if resp, _ := get(t, cl, c.URL+path); resp.StatusCode != want {
			t.Errorf("support on %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	_, home := get(t, cl, c.URL+"/staff")
	if strings.Contains(home, `href="/staff/rules"`) || !strings.Contains(home, `href="/staff/support"`) {
		t.Errorf("support's navigation offers areas it may not use")
	}
	resp, _ = c.form(t, cl, "/staff/support", "/staff/sign-out", url.Values{})
	if resp.Request.URL.Path != "/staff/sign-in" {
		t.Errorf("sign-out landed on %s", resp.Request.URL.Path)
	}
	if resp, _ := get(t, cl, c.URL+"/staff/support"); resp.Request.URL.Path != "/staff/sign-in" {
		t.Errorf("after sign-out /staff/support landed on %s", resp.Request.URL.Path)
	}

	admin := c.signIn(t, c.token(t, "admin", 0))
	for _, path := range []string{"/staff/rules", "/staff/sites", "/staff/dashboard", "/staff/day"} {
		if resp, _ := get(t, admin, c.URL+path); resp.StatusCode != 200 {
			t.Errorf("admin on %s: %d", path, resp.StatusCode)
		}
	}
	if resp, _ := get(t, admin, c.URL+"/staff/audit"); resp.StatusCode != 403 {
		t.Errorf("admin on the audit viewer: %d", resp.StatusCode)
	}
}

// TestDayListAndCheckIn runs on both engines: a clinic user's day list is
// their site's, with names; checking in someone at another site is
// refused; an admin's view of the same list has no names.
func TestDayListAndCheckIn(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			c := setupConsole(t, engine, false)
			a := c.book(t, "Parks", c.slotA)[0]
			b := c.book(t, "Baker", c.slotB)[0]
			clinic := c.signIn(t, c.token(t, "clinic", c.siteA.ID))
			_, body := get(t, clinic, fmt.Sprintf("%s/staff/day?site=%d&date=%s", c.URL, c.siteB.ID, c.day))
			if !strings.Contains(body, a.Reference) || !strings.Contains(body, "Rosa Parks") ||
				strings.Contains(body, b.Reference) || strings.Contains(body, "Baker") {
				t.Fatalf("clinic A's day list (asked for B):\n%s", body)
			}
			resp, _ := c.form(t, clinic, "/staff/day", "/staff/day/check-in",
				url.Values{"appointment": {b.ID}, "date": {c.day}})
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("check-in at another site: %d", resp.StatusCode)
			}
			if got, _ := c.Booking.Appointment(context.Background(), b.ID); got.Status != booking.StatusBooked {
				t.Errorf("other site's appointment is %s", got.Status)
			}
			resp, body = c.form(t, clinic, "/staff/day", "/staff/day/check-in",
				url.Values{"appointment": {a.ID}, "date": {c.day}})
			if resp.StatusCode != 200 || !strings.Contains(body, a.Reference+" checked in") {
				t.Errorf("check-in: %d", resp.StatusCode)
			}
			if got, _ := c.Booking.Appointment(context.Background(), a.ID); got.Status != booking.StatusCompleted {
				t.Errorf("checked-in appointment is %s", got.Status)
			}
			admin := c.signIn(t, c.token(t, "admin", 0))
			_, body = get(t, admin, fmt.Sprintf("%s/staff/day?site=%d&date=%s", c.URL, c.siteA.ID, c.day))
			if !strings.Contains(body, a.Reference) || strings.Contains(body, "Parks") {
				t.Errorf("admin's day list shows no reference or shows a name")
			}
		})
	}
}

// lookup unlocks an appointment on the manage pages.
func (c *console) lookup(t *testing.T, cl *http.Client, ref string) *http.Response {
	t.Helper()
	resp, _ := c.form(t, cl, "/manage", "/manage", url.Values{"reference": {ref}, "birth_month": {"3"},
		"birth_day": {"4"}, "birth_year": {"1950"}})
	return resp
}

// TestCancelAsksAboutDose2: cancelling dose 1 with dose 2 booked asks
// what to do with dose 2; "keep" keeps it, "cancel" cancels both, and a
// post with no choice changes nothing and asks again.
func TestCancelAsksAboutDose2(t *testing.T) {
	t.Parallel()
	c := setupConsole(t, store.SQLite, false)
	ctx := context.Background()
	for _, choice := range []string{"", "keep", "cancel"} {
		c.Booking.ExpireHolds(ctx)
		a := c.book(t, "Dose"+choice, c.slotA, c.dose2A)
		cl := newClient(t)
		if resp := c.lookup(t, cl, a[0].Reference); resp.Request.URL.Path != "/manage/appointment" {
			t.Fatalf("lookup landed on %s", resp.Request.URL.Path)
		}
		_, body := get(t, cl, c.URL+"/manage/cancel")
		if !strings.Contains(body, `id="dose2-keep"`) || !strings.Contains(body, "dose 2") {
			t.Fatalf("the cancel page does not ask about dose 2")
		}
		v := url.Values{}
		if choice != "" {
			v.Set("dose2", choice)
		}
		resp, body := c.form(t, cl, "/manage/cancel", "/manage/cancel", v)
		d1, _ := c.Booking.Appointment(ctx, a[0].ID)
		d2, _ := c.Booking.Appointment(ctx, a[1].ID)
		want := map[string][2]string{"": {"booked", "booked"}, "keep": {"cancelled", "booked"},
			"cancel": {"cancelled", "cancelled"}}[choice]
		want1, want2 := want[0], want[1]
		if d1.Status != want1 || d2.Status != want2 {
			t.Errorf("choice %q: dose 1 %s, dose 2 %s; want %s, %s", choice, d1.Status, d2.Status, want1, want2)
		}
		if choice == "" && (resp.StatusCode != http.StatusConflict || !strings.Contains(body, `id="dose2-keep"`)) {
			t.Errorf("no choice: %d, asked again %v", resp.StatusCode, strings.Contains(body, "dose2-keep"))
		}
		if choice != "" {
			// Free both seats for the next round.
			c.Booking.Cancel(ctx, booking.ChangeRequest{AppointmentID: a[1].ID, Actor: "system"})
		} else {
			c.Booking.Cancel(ctx, booking.ChangeRequest{AppointmentID: a[0].ID, Actor: "system", Dose2: "cancel"})
		}
	}
}

// TestManageLookupRateLimited: guessing birth dates from one address runs
// into the limiter, answered with a page and Retry-After.
func TestManageLookupRateLimited(t *testing.T) {
	t.Parallel()
	c := setupConsole(t, store.SQLite, true)
	cl := newClient(t)
	_, body := get(t, cl, c.URL+"/manage")
	m := csrfRE.FindStringSubmatch(body)
	limited := false
	for i := 0; i < 80 && !limited; i++ {
		resp, body := post(t, cl, c.URL+"/manage", url.Values{"csrf_token": {m[1]}, "reference": {"ABC-1234"},
			"birth_month": {"1"}, "birth_day": {fmt.Sprint(i%28 + 1)}, "birth_year": {"1950"}}, "")
		if resp.StatusCode == http.StatusTooManyRequests {
			limited = true
			if resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "Too many tries") {
				t.Errorf("429 without Retry-After or page text")
			}
		}
	}
	if !limited {
		t.Fatal("80 lookups from one address were never limited")
	}
}

// TestConflictsAndBookingsCountedBySite: an API hold refused with 409 is
// counted under its slot's site, and bookings are counted by site too;
// the dashboard's charts show them.
func TestConflictsAndBookingsCountedBySite(t *testing.T) {
	t.Parallel()
	c := setupConsole(t, store.SQLite, false)
	ctx := context.Background()
	c.book(t, "First", c.slotA) // the slot's only seat
	sess, err := c.Identity.CreateSession(ctx, identity.Attested{GivenName: "Late", FamilyName: "Comer",
		BirthDate: "1950-03-04", PostalCode: "02118", Email: "late@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", c.URL+"/v1/holds", strings.NewReader(fmt.Sprintf(`{"slot_id": %d}`, c.slotA)))
	req.Header.Set("Authorization", "Bearer "+sess.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("hold on a full slot: %d", resp.StatusCode)
	}
	_, metrics := get(t, newClient(t), c.URL+"/metrics")
	site := fmt.Sprint(c.siteA.ID)
	for _, want := range []string{`vaxbook_booking_conflicts_total{site="` + site + `"} 1`,
		`vaxbook_bookings_total{site="` + site + `"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	admin := c.signIn(t, c.token(t, "admin", 0))
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, body := get(t, admin, c.URL+"/staff/dashboard/charts")
		if strings.Contains(body, "Clinic A") && strings.Contains(body, `id="booked-total">1<`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dashboard does not show the 409 at Clinic A and the booking:\n%s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRulesActivateRollbackFreeze drives the rule forms: each change's
// confirmation page changes nothing, its POST does.
func TestRulesActivateRollbackFreeze(t *testing.T) {
	t.Parallel()
	c := setupConsole(t, store.SQLite, false)
	ctx := context.Background()
	admin := c.signIn(t, c.token(t, "admin", 0))
	active := func() string { v, _ := c.Eligibility.Active(ctx, "MA"); return v }
	if active() != "phase3" {
		t.Fatalf("starting version %s", active())
	}
	_, body := get(t, admin, c.URL+"/staff/rules/diff?from=phase3&to=phase2-g5")
	if !strings.Contains(body, `data-change="changed"`) && !strings.Contains(body, `data-change="removed"`) {
		t.Errorf("diff of phase3 and phase2-g5 shows no rule change")
	}
	_, body = get(t, admin, c.URL+"/staff/rules/activate?version=phase2-g5")
	if !strings.Contains(body, "moves from phase3 to phase2-g5") || active() != "phase3" {
		t.Fatalf("activation confirmation: active %s", active())
	}
	resp, body := c.form(t, admin, "/staff/rules", "/staff/rules/activate", url.Values{"version": {"phase2-g5"}})
	if resp.StatusCode != 200 || active() != "phase2-g5" || !strings.Contains(body, "phase2-g5 is active") {
		t.Fatalf("activate: %d, active %s", resp.StatusCode, active())
	}
	_, body = get(t, admin, c.URL+"/staff/rules/rollback?jurisdiction=MA")
	if !strings.Contains(body, "moves back from phase2-g5 to phase3") {
		t.Errorf("rollback confirmation does not name both versions")
	}
	c.form(t, admin, "/staff/rules", "/staff/rules/rollback", url.Values{"jurisdiction": {"MA"}})
	if active() != "phase3" {
		t.Errorf("after rollback: %s", active())
	}

	_, body = get(t, admin, c.URL+"/staff/freeze?scope=all&reason=Supply+delay&hours=2")
	if fs, _ := c.Eligibility.Freezes(ctx); len(fs) != 0 || !strings.Contains(body, "Freeze booking everywhere") {
		t.Fatalf("freeze confirmation froze or did not ask")
	}
	c.form(t, admin, "/staff/rules", "/staff/freeze", url.Values{"scope": {"all"}, "reason": {"Supply delay"},
		"hours": {"2"}})
	fs, _ := c.Eligibility.Freezes(ctx)
	if len(fs) != 1 || fs[0].Scope != "all" || fs[0].Until.IsZero() {
		t.Fatalf("freezes %+v", fs)
	}
	c.form(t, admin, "/staff/rules", "/staff/unfreeze", url.Values{"scope": {"all"}})
	if fs, _ := c.Eligibility.Freezes(ctx); len(fs) != 0 {
		t.Errorf("freeze not lifted: %+v", fs)
	}
	resp, body = c.form(t, admin, "/staff/rules", "/staff/freeze", url.Values{"scope": {"all"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "reason") {
		t.Errorf("freeze without a reason: %d", resp.StatusCode)
	}
}

// TestSitesAndSlotGeneration creates a site and its slots from the forms.
func TestSitesAndSlotGeneration(t *testing.T) {
	t.Parallel()
	c := setupConsole(t, store.SQLite, false)
	admin := c.signIn(t, c.token(t, "admin", 0))
	resp, body := c.form(t, admin, "/staff/sites", "/staff/sites", url.Values{"name": {"Gym"}, "region": {"MA"},
		"address": {"2 Elm St"}, "city": {"Salem"}, "state": {"MA"}, "postal_code": {"01970"}, "lat": {"north"},
		"lng": {"-70.9"}, "time_zone": {"America/New_York"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Enter a number") {
		t.Fatalf("bad latitude: %d", resp.StatusCode)
	}
	resp, body = c.form(t, admin, "/staff/sites", "/staff/sites", url.Values{"name": {"Gym"}, "region": {"MA"},
		"address": {"2 Elm St"}, "city": {"Salem"}, "state": {"MA"}, "postal_code": {"01970"}, "lat": {"42.52"},
		"lng": {"-70.9"}, "time_zone": {"America/New_York"}})
	if resp.StatusCode != 200 || !strings.Contains(body, "created: Gym") {
		t.Fatalf("create site: %d", resp.StatusCode)
	}
	var id int64
	if err := c.DB.Read.QueryRowContext(context.Background(), "SELECT id FROM sites WHERE name = 'Gym'").Scan(&id); err != nil {
		t.Fatal(err)
	}
	page := fmt.Sprintf("/staff/sites/%d/generate", id)
	resp, body = c.form(t, admin, page, page, url.Values{"from": {"2030-05-06"}, "to": {"2030-05-07"},
		"opens": {"09:00"}, "closes": {"10:00"}, "interval_min": {"30"}, "capacity": {"5"}, "walk_in_capacity": {"1"},
		"vaccine": {"207"}, "dose": {"1"}})
	if resp.StatusCode != 200 || !strings.Contains(body, "4 slots generated at Gym") {
		t.Fatalf("generate: %d", resp.StatusCode)
	}
	resp, _ = c.form(t, admin, page, page, url.Values{"from": {"2030-05-06"}, "to": {"2030-05-07"},
		"opens": {"10:00"}, "closes": {"09:00"}, "interval_min": {"30"}, "capacity": {"5"}, "vaccine": {"207"},
		"dose": {"1"}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("closing before opening: %d", resp.StatusCode)
	}
}

// TestSupportAndAudit: a support agent looks a decision up and downloads
// its proof; the audit viewer pages through the log, refuses a name as a
// subject, and records its own searches.
func TestSupportAndAudit(t *testing.T) {
	t.Parallel()
	c := setupConsole(t, store.SQLite, false)
	ctx := context.Background()
	appts := c.book(t, "Proof", c.slotA)
	ref := appts[0].DecisionRef
	support := c.signIn(t, c.token(t, "support", 0))
	var body string
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		_, body = get(t, support, c.URL+"/staff/support?ref="+ref)
		if strings.Contains(body, `id="proof-download"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no proof offered:\n%s", body)
		}
	}
	if !strings.Contains(body, "Eligible") || !strings.Contains(body, "phase3") {
		t.Errorf("lookup lacks the outcome or version")
	}
	resp, proof := get(t, support, c.URL+"/staff/support/proof?ref="+ref)
	if resp.Header.Get("Content-Type") != "application/json" ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") ||
		!strings.Contains(proof, `"leaf_hash"`) || !strings.Contains(proof, "decision:"+ref) {
		t.Errorf("proof download: %q %q", resp.Header.Get("Content-Type"), proof)
	}
	if strings.Contains(proof, "Rosa") || strings.Contains(proof, "1950") {
		t.Errorf("the proof carries personal data")
	}
	if resp, _ := get(t, support, c.URL+"/staff/support?ref=NOPE"); resp.StatusCode != 404 {
		t.Errorf("unknown decision: %d", resp.StatusCode)
	}

	auditor := c.signIn(t, c.token(t, "auditor", 0))
	// Each search is itself a record: make sure the log spans pages.
	for i := 0; i < 30; i++ {
		get(t, auditor, c.URL+"/staff/audit?action=no.such.action")
	}
	resp, body = get(t, auditor, c.URL+"/staff/audit")
	if resp.StatusCode != 200 || !strings.Contains(body, `id="older"`) {
		t.Fatalf("first page: %d, older link %v", resp.StatusCode, strings.Contains(body, `id="older"`))
	}
	first, pages := body, 1
	for strings.Contains(body, `id="older"`) && pages < 50 {
		i := strings.Index(body, `id="older" href="`) + len(`id="older" href="`)
		next := strings.ReplaceAll(body[i:i+strings.Index(body[i:], `"`)], "&amp;", "&")
		_, body = get(t, auditor, c.URL+next)
		pages++
	}
	if pages < 2 || !strings.Contains(body, "<td>1</td>") || strings.Contains(first, "<td>1</td>") {
		t.Errorf("paging: %d pages; the oldest record is not on the last page only", pages)
	}
	if resp, _ := get(t, auditor, c.URL+"/staff/audit?subject=Rosa+Proof"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a name as subject: %d", resp.StatusCode)
	}
	_, body = get(t, auditor, c.URL+"/staff/audit?action=audit.searched")
	if !strings.Contains(body, "audit.searched") {
		t.Errorf("searches are not recorded")
	}
	if strings.Contains(body, "Rosa") {
		t.Errorf("a name reached the audit log")
	}
	_ = ctx
}
