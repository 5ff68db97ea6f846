package clinic_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/clinic"
	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/eligibility"
	"github.com/vaxbook/vaxbook/internal/identity"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/rules"
)

// start is 08:00 in Boston on a Monday.
var start = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

type env struct {
	ctx    context.Context
	db     *store.DB
	clk    *clock.Fake
	ids    *identity.Store
	rules  *eligibility.Service
	book   *booking.Service
	svc    *clinic.Service
	events *recorder
	logs   *bytes.Buffer
	site   booking.Site
	n      int
}

// recorder keeps the events listeners saw, as notifications would.
type recorder struct {
	mu   sync.Mutex
	list []booking.Event
}

func (r *recorder) OnEvent(_ context.Context, _ *store.Tx, e booking.Event) error {
	r.mu.Lock()
	r.list = append(r.list, e)
	r.mu.Unlock()
	return nil
}

func (r *recorder) kinds(appointmentID string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.list {
		if e.AppointmentID == appointmentID {
			out = append(out, e.Kind)
		}
	}
	return out
}

// setup builds the clinic on db with the real eligibility rules (the
// Massachusetts versions, the latest active) as the booking gate, and one
// site in Boston.
func setup(t testing.TB, db *store.DB, bookTogether bool) *env {
	t.Helper()
	e := &env{ctx: context.Background(), db: db, clk: clock.NewFake(start), events: &recorder{}, logs: &bytes.Buffer{}}
	log := slog.New(slog.NewJSONHandler(&lockedWriter{w: e.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	keys := pii.TestKeys()
	var err error
	if e.rules, err = eligibility.New(eligibility.Config{DB: db, Keys: keys, Clock: e.clk}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.rules.PublishAndActivate(e.ctx, rules.Massachusetts2021, rules.Massachusetts2021Dir, e.clk.Now(), "system"); err != nil {
		t.Fatal(err)
	}
	e.ids = identity.New(db, keys, e.clk)
	e.book = booking.NewService(db, booking.Config{Clock: e.clk, Gate: e.rules, Log: log})
	e.svc, err = clinic.New(clinic.Config{DB: db, Booking: e.book, People: e.ids, Rules: e.rules, Clock: e.clk, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	e.book.AddListener(e.book.SeriesListener())
	e.book.AddListener(e.svc)
	e.book.AddListener(e.events)
	e.site = e.newSite(t, bookTogether)
	return e
}

func (e *env) newSite(t testing.TB, bookTogether bool) booking.Site {
	t.Helper()
	site, err := e.book.CreateSite(e.ctx, "staff:admin", booking.NewSite{Region: "MA", Name: "Test clinic",
		Lat: 42.3626, Lng: -71.0843, TimeZone: "America/New_York", PostalCode: "02142", BookTogether: bookTogether})
	if err != nil {
		t.Fatal(err)
	}
	return site
}

// slot makes one 15-minute slot at the site, day days after the start,
// at hhmm local time, and returns its id.
func (e *env) slot(t testing.TB, siteID int64, day int, hhmm string, capacity, walkIn int, vaccine string, dose int) int64 {
	t.Helper()
	date := start.AddDate(0, 0, day).Format("2006-01-02")
	end, _ := time.Parse("15:04", hhmm)
	n, err := e.book.GenerateSlots(e.ctx, "staff:admin", siteID, booking.Generate{From: date, To: date, Opens: hhmm,
		Closes: end.Add(15 * time.Minute).Format("15:04"), IntervalMin: 15, Capacity: capacity,
		WalkInCapacity: walkIn, Vaccine: vaccine, Dose: dose})
	if err != nil || n != 1 {
		t.Fatalf("generate slot: %d, %v", n, err)
	}
	var id int64
	if err := e.db.Read.QueryRow("SELECT MAX(id) FROM slots").Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// person signs a new person in (over 65, in Boston) and returns their
// session and an eligibility decision.
type person struct {
	identity.Session
	decision string
}

func (e *env) person(t testing.TB) person {
	t.Helper()
	e.n++
	a := identity.Attested{GivenName: fmt.Sprintf("Ann%c%c", 'a'+e.n/26, 'a'+e.n%26), FamilyName: "Clinicson",
		BirthDate: "1950-01-01", PostalCode: "02114", Email: fmt.Sprintf("p%d@example.org", e.n)}
	s, err := e.ids.CreateSession(e.ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.rules.Evaluate(e.ctx, eligibility.EvalRequest{PersonID: s.PersonID, Actor: "person:" + s.PersonRef,
		Attributes: eligibility.Attributes{BirthDate: a.BirthDate, PostalCode: a.PostalCode}})
	if err != nil || !d.Eligible {
		t.Fatalf("evaluate: %v %v", d.Reasons, err)
	}
	return person{Session: s, decision: d.Ref}
}

func (e *env) bookFor(p person, slotID int64, pool string) (booking.Detail, error) {
	d, _, err := e.book.Book(e.ctx, booking.BookRequest{PersonID: p.PersonID, PersonRef: p.PersonRef,
		Actor: "person:" + p.PersonRef, SlotID: slotID, DecisionRef: p.decision, Pool: pool})
	return d, err
}

func (e *env) mustBook(t *testing.T, p person, slotID int64) booking.Appointment {
	t.Helper()
	d, err := e.bookFor(p, slotID, "")
	if err != nil {
		t.Fatalf("book slot %d: %v", slotID, err)
	}
	return d.Appointment
}

func (e *env) slotRow(t *testing.T, id int64) booking.Slot {
	t.Helper()
	d, err := e.book.SlotDetail(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return d.Slot
}

func (e *env) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := e.db.Read.QueryRow(store.RebindFor(e.db.Dialect, query), args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (e *env) join(t testing.TB, p person, to time.Time) clinic.Entry {
	t.Helper()
	en, err := e.svc.Join(e.ctx, clinic.JoinRequest{PersonID: p.PersonID, Actor: "person:" + p.PersonRef,
		PostalCode: "02114", RadiusKm: 10, From: start, To: to, VaccineCode: "207", Dose: 1, DecisionRef: p.decision})
	if err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(time.Second) // entries keep their order
	return en
}

func (e *env) offers(t *testing.T, p person) []clinic.Offer {
	t.Helper()
	_, offers, err := e.svc.Waitlist(e.ctx, p.PersonID)
	if err != nil {
		t.Fatal(err)
	}
	return offers
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// noPersonalData fails when the logs or the audit log hold any of secrets.
func (e *env) noPersonalData(t *testing.T, secrets ...string) {
	t.Helper()
	rows, err := e.db.Read.Query("SELECT actor, action, subjects, details FROM audit_log")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var audit strings.Builder
	for rows.Next() {
		var a, b, c, d string
		if err := rows.Scan(&a, &b, &c, &d); err != nil {
			t.Fatal(err)
		}
		audit.WriteString(a + b + c + d + "\n")
	}
	for _, s := range secrets {
		if strings.Contains(e.logs.String(), s) || strings.Contains(audit.String(), s) {
			t.Fatalf("%q is in the logs or the audit log", s)
		}
	}
}
