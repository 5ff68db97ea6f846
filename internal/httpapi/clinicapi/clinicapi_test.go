package clinicapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/clinic"
	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/eligibility"
	"github.com/vaxbook/vaxbook/internal/httpapi"
	"github.com/vaxbook/vaxbook/internal/httpapi/bookingapi"
	"github.com/vaxbook/vaxbook/internal/httpapi/clinicapi"
	"github.com/vaxbook/vaxbook/internal/identity"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
	"github.com/vaxbook/vaxbook/rules"
)

var start = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

type fixture struct {
	t      *testing.T
	ctx    context.Context
	clk    *clock.Fake
	srv    *httpapi.Server
	ids    *identity.Store
	rules  *eligibility.Service
	book   *booking.Service
	site   int64
	other  int64
	tokens map[string]string
	n      int
}

func setup(t *testing.T, db *store.DB) *fixture {
	t.Helper()
	f := &fixture{t: t, ctx: context.Background(), clk: clock.NewFake(start), tokens: map[string]string{}}
	keys := pii.TestKeys()
	var err error
	f.ids = identity.New(db, keys, f.clk)
	if f.rules, err = eligibility.New(eligibility.Config{DB: db, Keys: keys, Clock: f.clk}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.rules.PublishAndActivate(f.ctx, rules.Massachusetts2021, rules.Massachusetts2021Dir, f.clk.Now(), "system"); err != nil {
		t.Fatal(err)
	}
	f.book = booking.NewService(db, booking.Config{Clock: f.clk, Gate: f.rules, NoBatch: true})
	svc, err := clinic.New(clinic.Config{DB: db, Booking: f.book, People: f.ids, Rules: f.rules, Clock: f.clk})
	if err != nil {
		t.Fatal(err)
	}
	f.book.AddListener(f.book.SeriesListener())
	f.book.AddListener(svc)
	mod := &clinicapi.Module{Clinic: svc, Booking: f.book, Auth: f.ids}
	bmod := &bookingapi.Module{Booking: f.book, Auth: f.ids, Actions: map[string]http.HandlerFunc{"check-in": mod.CheckIn}}
	if f.srv, err = httpapi.New(httpapi.Config{DB: db}, bmod, mod); err != nil {
		t.Fatal(err)
	}
	for i, id := range []*int64{&f.site, &f.other} {
		s, err := f.book.CreateSite(f.ctx, "staff:admin", booking.NewSite{Region: "MA", Name: fmt.Sprintf("Clinic %d", i),
			Lat: 42.3626, Lng: -71.0843, TimeZone: "America/New_York", PostalCode: "02142"})
		if err != nil {
			t.Fatal(err)
		}
		*id = s.ID
	}
	for _, st := range []struct {
		name, role string
		site       int64
	}{{"admin", "admin", 0}, {"clinic", "clinic", f.site}, {"elsewhere", "clinic", f.other}, {"agent", "agent", 0}} {
		tok, _, err := f.ids.CreateStaffToken(f.ctx, "system", st.role, st.site)
		if err != nil {
			t.Fatal(err)
		}
		f.tokens[st.name] = tok
	}
	return f
}

func (f *fixture) slot(day int, capacity, walkIn int, dose int) int64 {
	f.t.Helper()
	date := start.AddDate(0, 0, day).Format("2006-01-02")
	if _, err := f.book.GenerateSlots(f.ctx, "staff:admin", f.site, booking.Generate{From: date, To: date, Opens: "09:00",
		Closes: "09:15", IntervalMin: 15, Capacity: capacity, WalkInCapacity: walkIn, Vaccine: "207", Dose: dose}); err != nil {
		f.t.Fatal(err)
	}
	var id int64
	if err := f.book.DB().Read.QueryRow("SELECT MAX(id) FROM slots").Scan(&id); err != nil {
		f.t.Fatal(err)
	}
	return id
}

// citizen opens a session for a new person over 65 and decides their
// eligibility; it returns the bearer token and the decision.
func (f *fixture) citizen() (token, decision string) {
	f.t.Helper()
	f.n++
	a := identity.Attested{GivenName: "Rosa" + string(rune('a'+f.n)), FamilyName: "Httpson", BirthDate: "1950-01-01",
		PostalCode: "02114", Email: fmt.Sprintf("r%d@example.org", f.n)}
	s, err := f.ids.CreateSession(f.ctx, a)
	if err != nil {
		f.t.Fatal(err)
	}
	d, err := f.rules.Evaluate(f.ctx, eligibility.EvalRequest{PersonID: s.PersonID, Actor: "person:x",
		Attributes: eligibility.Attributes{BirthDate: a.BirthDate, PostalCode: a.PostalCode}})
	if err != nil {
		f.t.Fatal(err)
	}
	return s.Token, d.Ref
}

type response struct {
	status int
	body   map[string]any
	raw    string
}

func (f *fixture) do(method, path, token, body string, header ...string) response {
	f.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	raw, _ := io.ReadAll(rec.Body)
	r := response{status: rec.Code, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

func (f *fixture) expect(r response, status int, what string) response {
	f.t.Helper()
	if r.status != status {
		f.t.Fatalf("%s: status %d, want %d: %s", what, r.status, status, r.raw)
	}
	return r
}

func (f *fixture) bookOnline(token, decision string, slotID int64) string {
	f.t.Helper()
	r := f.expect(f.do("POST", "/v1/appointments", token, fmt.Sprintf(`{"slot_id": %d, "decision_ref": %q}`, slotID, decision),
		"Idempotency-Key", fmt.Sprintf("k-%d-%d", slotID, f.n)), 201, "book")
	return r.body["id"].(string)
}

func problem(r response) string {
	s, _ := r.body["type"].(string)
	return s[strings.LastIndexByte(s, '/')+1:]
}

func TestEveryClinicRouteIsDocumented(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		var doc struct {
			Paths map[string]map[string]any `json:"paths"`
		}
		if err := json.Unmarshal(f.srv.OpenAPIDocument(), &doc); err != nil {
			t.Fatal(err)
		}
		for _, route := range f.srv.Routes() {
			method, path, _ := strings.Cut(route, " ")
			if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
				t.Errorf("%s is not documented", route)
			}
		}
		if _, ok := doc.Paths["/v1/appointments/{id}:check-in"]["post"]; !ok {
			t.Error("check-in is not documented")
		}
	})
}

func TestCheckInCancelAndWalkInsOverHTTP(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		first, second := f.slot(1, 5, 1, 1), f.slot(31, 5, 0, 2)
		tok, dec := f.citizen()
		a1 := f.bookOnline(tok, dec, first)
		a2 := f.bookOnline(tok, dec, second)

		next := f.expect(f.do("GET", "/v1/appointments/"+a1+"/next-dose", tok, ""), 200, "next dose")
		if booked, _ := next.body["booked"].(map[string]any); booked["id"] != a2 {
			t.Fatalf("next dose: %s", next.raw)
		}
		r := f.expect(f.do("DELETE", "/v1/appointments/"+a1, tok, ""), 409, "cancel dose 1 without a choice")
		if problem(r) != "conflict" || !strings.Contains(r.raw, a2) {
			t.Fatalf("the conflict does not name dose 2: %s", r.raw)
		}
		f.expect(f.do("DELETE", "/v1/appointments/"+a2+"?dose2=keep", tok, ""), 200, "cancel dose 2")

		f.clk.Set(time.Date(2026, 6, 2, 12, 55, 0, 0, time.UTC))
		f.expect(f.do("POST", "/v1/appointments/"+a1+":check-in", tok, ""), 401, "check-in by the citizen")
		f.expect(f.do("POST", "/v1/appointments/"+a1+":check-in", f.tokens["elsewhere"], ""), 403, "check-in by another site")
		f.expect(f.do("POST", "/v1/appointments/"+a1+":check-in", f.tokens["agent"], ""), 403, "check-in by an agent")
		r = f.expect(f.do("POST", "/v1/appointments/"+a1+":check-in", f.tokens["clinic"], ""), 200, "check-in")
		if r.body["status"] != "completed" {
			t.Fatalf("after check-in: %s", r.raw)
		}

		// The online API has no way to name the walk-in pool.
		tok2, dec2 := f.citizen()
		r = f.expect(f.do("POST", "/v1/appointments", tok2, fmt.Sprintf(`{"slot_id": %d, "decision_ref": %q, "pool": "walkin"}`, first, dec2),
			"Idempotency-Key", "w1"), 400, "online booking naming the walk-in pool")
		walk := `{"person": {"given_name": "Wanda", "family_name": "Walker", "birth_date": "1944-02-02", "postal_code": "02114", "phone": "+16175550199"}, "slot_id": %d}`
		f.expect(f.do("POST", fmt.Sprintf("/v1/admin/sites/%d/walk-ins", f.other), f.tokens["clinic"], fmt.Sprintf(walk, first)), 403, "walk-in at another site")
		r = f.expect(f.do("POST", fmt.Sprintf("/v1/admin/sites/%d/walk-ins", f.site), f.tokens["clinic"], fmt.Sprintf(walk, first)), 201, "walk-in")
		if app := r.body["appointment"].(map[string]any); app["pool"] != "walkin" {
			t.Fatalf("walk-in: %s", r.raw)
		}
		r = f.expect(f.do("POST", fmt.Sprintf("/v1/admin/slots/%d/walk-ins:release", first), f.tokens["clinic"], ""), 200, "release")
		if r.body["released"].(float64) != 0 {
			t.Fatalf("release after the last walk-in seat went: %s", r.raw)
		}
		r = f.expect(f.do("GET", fmt.Sprintf("/v1/admin/sites/%d/no-shows", f.site), f.tokens["clinic"], ""), 200, "no-shows")
		if r.body["no_shows"].(float64) != 0 {
			t.Fatalf("no-shows: %s", r.raw)
		}
	})
}

func TestWaitlistCapacityAgentProxyAndReportOverHTTP(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		slotID := f.slot(2, 1, 0, 1)
		tok, dec := f.citizen()
		f.bookOnline(tok, dec, slotID)

		f.expect(f.do("PUT", fmt.Sprintf("/v1/admin/slots/%d/capacity", slotID), f.tokens["clinic"], `{"capacity": 0}`), 409, "capacity cut below bookings")
		f.expect(f.do("PUT", fmt.Sprintf("/v1/admin/slots/%d/capacity", slotID), f.tokens["elsewhere"], `{"capacity": 3}`), 403, "capacity by another site")

		wtok, wdec := f.citizen()
		join := fmt.Sprintf(`{"postal_code": "02114", "radius_km": 10, "from": "2026-06-01T00:00:00-04:00", "to": "2026-06-30T00:00:00-04:00", "vaccine": "207", "decision_ref": %q}`, wdec)
		r := f.expect(f.do("POST", "/v1/waitlist", wtok, join), 201, "join")
		entry := r.body["id"].(string)
		f.expect(f.do("POST", "/v1/waitlist", wtok, join), 409, "join twice")
		f.expect(f.do("PUT", fmt.Sprintf("/v1/admin/slots/%d/capacity", slotID), f.tokens["clinic"], `{"capacity": 2}`), 200, "capacity raise")
		r = f.expect(f.do("GET", "/v1/waitlist", wtok, ""), 200, "list")
		offers := r.body["offers"].([]any)
		if len(offers) != 1 || offers[0].(map[string]any)["state"] != "active" {
			t.Fatalf("the raised seat was not offered: %s", r.raw)
		}
		hold := offers[0].(map[string]any)["hold_id"].(string)
		f.expect(f.do("POST", "/v1/appointments", wtok, fmt.Sprintf(`{"hold_id": %q, "decision_ref": %q}`, hold, wdec),
			"Idempotency-Key", "offer-1"), 201, "book with the offer")
		f.expect(f.do("DELETE", "/v1/waitlist/"+entry, wtok, ""), 204, "leave after booking")

		caller := `{"person": {"given_name": "Carl", "family_name": "Caller", "birth_date": "1941-03-03", "postal_code": "02114", "phone": "+16175550123"}, "slot_id": %d}`
		big := f.slot(3, 30, 0, 1)
		f.expect(f.do("POST", "/v1/agent/appointments", f.tokens["clinic"], fmt.Sprintf(caller, big)), 403, "agent booking by clinic staff")
		r = f.expect(f.do("POST", "/v1/agent/appointments", f.tokens["agent"], fmt.Sprintf(caller, big)), 201, "agent booking")
		if r.body["person_ref"] == "" || r.body["decision_ref"] == "" {
			t.Fatalf("agent booking: %s", r.raw)
		}
		relative := `{"person": {"given_name": "Nana", "family_name": "Proxy", "birth_date": "1939-04-04", "postal_code": "02114", "phone": "+16175550124"}, "slot_id": %d}`
		f.expect(f.do("POST", "/v1/proxy/appointments", tok, fmt.Sprintf(relative, big)), 201, "proxy booking")
		r = f.expect(f.do("GET", "/v1/proxy/appointments", tok, ""), 200, "proxy list")
		if list := r.body["appointments"].([]any); len(list) != 1 {
			t.Fatalf("proxy list: %s", r.raw)
		}

		f.expect(f.do("GET", "/v1/admin/reports/bookings?group_by=region,day&from=2026-06-01&to=2026-06-10", f.tokens["clinic"], ""), 403, "report by clinic staff")
		f.expect(f.do("GET", "/v1/admin/reports/bookings?group_by=name&from=2026-06-01&to=2026-06-10", f.tokens["admin"], ""), 400, "report by name")
		r = f.expect(f.do("GET", "/v1/admin/reports/bookings?group_by=region,day&from=2026-06-01&to=2026-06-10", f.tokens["admin"], ""), 200, "report")
		rows := r.body["rows"].([]any)
		if len(rows) != 2 {
			t.Fatalf("report rows: %s", r.raw)
		}
		for _, row := range rows {
			b := row.(map[string]any)["bookings"].(map[string]any)
			if b["value"] != nil || b["suppressed_cells"].(float64) != 1 {
				t.Fatalf("a cell under 11 was shown: %s", r.raw)
			}
		}
		for _, secret := range []string{"Carl", "Caller", "Nana", "1939-04-04", "Httpson"} {
			if strings.Contains(r.raw, secret) {
				t.Fatalf("the report holds %q", secret)
			}
		}
	})
}
