package eligibility_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/eligibility"
	"github.com/vaxbook/vaxbook/internal/eligibility/gate"
	"github.com/vaxbook/vaxbook/internal/identity"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
	"github.com/vaxbook/vaxbook/rules"
)

type fixture struct {
	db    *store.DB
	svc   *eligibility.Service
	clk   *clock.Fake
	ids   *identity.Store
	logs  *bytes.Buffer
	ctx   context.Context
	admin string
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// setup returns a service on db with the Massachusetts versions published
// and the one in effect on start active, regions MA-E (Massachusetts) and
// NH-S (New Hampshire, no rules).
func setup(t *testing.T, db *store.DB, start string) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{db: db, clk: clock.NewFake(at(start)), logs: &bytes.Buffer{}, ctx: ctx, admin: "staff:admin-1"}
	keys := pii.TestKeys()
	log := slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc, err := eligibility.New(eligibility.Config{DB: db, Keys: keys, Clock: f.clk, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	f.svc, f.ids = svc, identity.New(db, keys, f.clk)
	err = db.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, store.RebindFor(db.Dialect,
			"INSERT INTO regions (code, name, jurisdiction) VALUES (?, ?, ?), (?, ?, ?)"),
			"MA-E", "Eastern Massachusetts", "MA", "NH-S", "Southern New Hampshire", "NH")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PublishAndActivate(ctx, rules.Massachusetts2021, rules.Massachusetts2021Dir, f.clk.Now(), f.admin); err != nil {
		t.Fatal(err)
	}
	return f
}

// person signs a person in and returns their id and ref.
func (f *fixture) person(t *testing.T, given, birth, zip string) (int64, string) {
	t.Helper()
	s, err := f.ids.CreateSession(f.ctx, identity.Attested{GivenName: given, FamilyName: "Tester",
		BirthDate: birth, PostalCode: zip, Email: strings.ToLower(given) + "@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	return s.PersonID, s.PersonRef
}

func (f *fixture) evaluate(t *testing.T, id int64, birth string, a eligibility.Answers) eligibility.Decision {
	t.Helper()
	d, err := f.svc.Evaluate(f.ctx, eligibility.EvalRequest{PersonID: id, Actor: "person:x",
		Attributes: eligibility.Attributes{BirthDate: birth, PostalCode: "02114", Answers: a}})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (f *fixture) admit(t *testing.T, c gate.Check) (string, error) {
	t.Helper()
	if c.Region == "" {
		c.Region = "MA-E"
	}
	if c.VaccineCode == "" {
		c.VaccineCode, c.Dose = "208", 1
	}
	var version string
	err := f.db.InTx(f.ctx, func(tx *store.Tx) error {
		var err error
		version, err = f.svc.Admit(f.ctx, tx, c)
		return err
	})
	return version, err
}

func (f *fixture) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := f.db.Read.QueryRowContext(f.ctx, store.RebindFor(f.db.Dialect, query), args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *fixture) audits(t *testing.T, action string) int {
	return f.count(t, "SELECT count(*) FROM audit_log WHERE action = ?", action)
}

func problem(t *testing.T, err error, name string) *apperr.Error {
	t.Helper()
	var e *apperr.Error
	if !errors.As(err, &e) || e.Name != name {
		t.Fatalf("err = %v, want problem %s", err, name)
	}
	return e
}

func reasonCodes(t *testing.T, e *apperr.Error) []string {
	t.Helper()
	rs, ok := e.Extra["reasons"].([]eligibility.Reason)
	if !ok {
		t.Fatalf("reasons = %#v", e.Extra["reasons"])
	}
	var codes []string
	for _, r := range rs {
		if r.Message == "" || r.Message == r.Code {
			t.Errorf("reason %s has no message", r.Code)
		}
		codes = append(codes, r.Code)
	}
	return codes
}

// A stricter version published by an admin on the night: 70 and over only.
const over70 = `
id: ma-70-only
jurisdiction: MA
time_zone: America/New_York
effective_at: "2021-02-20T00:00:00-05:00"
description: only people aged 70 or older
reasons:
  not-in-eligible-group: {en: "Not yet.", es: "Todavía no."}
  age-70: {en: "You are 70 or older.", es: "Tiene 70 años o más."}
rules:
  - {name: age-70, kind: admit, reason: age-70, expr: "age >= 70"}
`

func TestRuleChangeBetweenEvaluationAndBooking(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db, "2021-02-19T15:00:00-05:00")
		if v, _ := f.svc.Active(f.ctx, "MA"); v != "phase2-g2" {
			t.Fatalf("active = %q, want phase2-g2", v)
		}
		ann, _ := f.person(t, "Ann", "1955-06-01", "02114") // 65
		bob, _ := f.person(t, "Bob", "1945-06-01", "02114") // 75
		cyd, _ := f.person(t, "Cyd", "1985-06-01", "02114") // 35, a teacher
		dAnn := f.evaluate(t, ann, "1955-06-01", eligibility.Answers{})
		dBob := f.evaluate(t, bob, "1945-06-01", eligibility.Answers{})
		dCyd := f.evaluate(t, cyd, "1985-06-01", eligibility.Answers{Occupation: "k12-educator"})
		if !dAnn.Eligible || !dBob.Eligible || dCyd.Eligible {
			t.Fatalf("decisions under phase2-g2: ann %v bob %v cyd %v", dAnn.Eligible, dBob.Eligible, dCyd.Eligible)
		}
		if f.audits(t, "eligibility.decided") != 3 {
			t.Errorf("decided audit records = %d, want 3", f.audits(t, "eligibility.decided"))
		}

		// Same version: admitted on the stored decision.
		if v, err := f.admit(t, gate.Check{PersonID: ann, DecisionRef: dAnn.Ref}); err != nil || v != "phase2-g2" {
			t.Fatalf("admit ann under phase2-g2 = %q, %v", v, err)
		}
		// A "no" stays a no, with the decision's version and reasons.
		e := problem(t, second(f.admit(t, gate.Check{PersonID: cyd, DecisionRef: dCyd.Ref})), "ineligible")
		if e.Extra["rule_version"] != "phase2-g2" || !slices.Equal(reasonCodes(t, e), []string{"not-in-eligible-group"}) {
			t.Errorf("cyd refused with %v %v", e.Extra["rule_version"], e.Extra["reasons"])
		}

		// The rules change between evaluation and booking.
		if _, err := f.svc.Publish(f.ctx, []byte(over70), f.admin); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Activate(f.ctx, "ma-70-only", f.admin); err != nil {
			t.Fatal(err)
		}
		e = problem(t, second(f.admit(t, gate.Check{PersonID: ann, DecisionRef: dAnn.Ref, Lang: "es"})), "ineligible")
		if e.Extra["rule_version"] != "ma-70-only" || !slices.Equal(reasonCodes(t, e), []string{"not-in-eligible-group"}) {
			t.Errorf("ann refused with %v %v; want the new version's reasons", e.Extra["rule_version"], e.Extra["reasons"])
		}
		if msg := e.Extra["reasons"].([]eligibility.Reason)[0].Message; msg != "Todavía no." {
			t.Errorf("message in es = %q", msg)
		}
		if v, err := f.admit(t, gate.Check{PersonID: bob, DecisionRef: dBob.Ref}); err != nil || v != "ma-70-only" {
			t.Errorf("bob still passes: admit = %q, %v; want ma-70-only", v, err)
		}
		// Bob's re-check under the new version is audited; Ann's refused one
		// rolled back with its transaction, and her first (same version, only
		// the product's age added) is named by the booking's own record.
		if f.audits(t, "eligibility.rechecked") != 1 {
			t.Errorf("rechecked audit records = %d, want 1", f.audits(t, "eligibility.rechecked"))
		}

		// Rollback restores the earlier behaviour.
		m, err := f.svc.Rollback(f.ctx, "MA", f.admin)
		if err != nil || m.From != "ma-70-only" || m.To != "phase2-g2" {
			t.Fatalf("rollback = %+v, %v", m, err)
		}
		if v, err := f.admit(t, gate.Check{PersonID: ann, DecisionRef: dAnn.Ref}); err != nil || v != "phase2-g2" {
			t.Errorf("after rollback admit ann = %q, %v", v, err)
		}
	})
}

func TestAdmitChecksTheProductAndTheDecision(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db, "2021-04-20T10:00:00-04:00")
		teen, _ := f.person(t, "Tess", "2005-01-10", "02114") // 16
		other, _ := f.person(t, "Olga", "1980-01-10", "02114")
		d := f.evaluate(t, teen, "2005-01-10", eligibility.Answers{})
		if !d.Eligible || d.RuleVersion != "phase3" {
			t.Fatalf("16-year-old under phase3: %+v", d)
		}
		if _, err := f.admit(t, gate.Check{PersonID: teen, DecisionRef: d.Ref, VaccineCode: "208", Dose: 1}); err != nil {
			t.Errorf("16-year-old booking Pfizer: %v", err)
		}
		e := problem(t, second(f.admit(t, gate.Check{PersonID: teen, DecisionRef: d.Ref, VaccineCode: "207", Dose: 1})), "ineligible")
		if !slices.Equal(reasonCodes(t, e), []string{"below-product-age"}) {
			t.Errorf("16-year-old booking Moderna refused with %v", e.Extra["reasons"])
		}
		e = problem(t, second(f.admit(t, gate.Check{PersonID: other, DecisionRef: d.Ref})), "ineligible")
		if !slices.Equal(reasonCodes(t, e), []string{eligibility.ReasonDecisionMissing}) {
			t.Errorf("someone else's decision refused with %v", e.Extra["reasons"])
		}
		problem(t, second(f.admit(t, gate.Check{PersonID: teen, DecisionRef: "d_nope"})), "ineligible")
		problem(t, second(f.admit(t, gate.Check{PersonID: teen, DecisionRef: d.Ref, Region: "NH-S"})), "outside-jurisdiction")
		problem(t, second(f.admit(t, gate.Check{PersonID: teen, DecisionRef: d.Ref, Region: "XX"})), "outside-jurisdiction")
		f.clk.Advance(25 * time.Hour)
		e = problem(t, second(f.admit(t, gate.Check{PersonID: teen, DecisionRef: d.Ref})), "ineligible")
		if !slices.Equal(reasonCodes(t, e), []string{eligibility.ReasonDecisionExpired}) {
			t.Errorf("expired decision refused with %v", e.Extra["reasons"])
		}
	})
}

func TestFreeze(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db, "2021-04-20T10:00:00-04:00")
		p, _ := f.person(t, "Fay", "1970-03-03", "02114")
		d := f.evaluate(t, p, "1970-03-03", eligibility.Answers{})
		check := gate.Check{PersonID: p, DecisionRef: d.Ref}
		if _, err := f.svc.Freeze(f.ctx, "all", "site overload", 0, f.admin); err != nil {
			t.Fatal(err)
		}
		e := problem(t, second(f.admit(t, check)), "bookings-frozen")
		if _, ok := e.Extra["retry_after_s"]; ok {
			t.Errorf("retry_after_s set for a freeze of unknown length")
		}
		// Evaluation keeps working during a freeze.
		if d2 := f.evaluate(t, p, "1970-03-03", eligibility.Answers{}); !d2.Eligible {
			t.Errorf("evaluation during a freeze: %+v", d2)
		}
		if err := f.svc.Unfreeze(f.ctx, "all", f.admin); err != nil {
			t.Fatal(err)
		}
		if _, err := f.admit(t, check); err != nil {
			t.Fatalf("after unfreeze: %v", err)
		}
		if _, err := f.svc.Freeze(f.ctx, "MA-E", "clinic fire drill", 10*time.Minute, f.admin); err != nil {
			t.Fatal(err)
		}
		e = problem(t, second(f.admit(t, check)), "bookings-frozen")
		if e.Extra["retry_after_s"] != int64(600) {
			t.Errorf("retry_after_s = %v, want 600", e.Extra["retry_after_s"])
		}
		list, _ := f.svc.Freezes(f.ctx)
		if len(list) != 1 || list[0].Scope != "MA-E" || list[0].Reason != "clinic fire drill" {
			t.Errorf("freezes = %+v", list)
		}
		problem(t, second2(f.svc.Freeze(f.ctx, "Atlantis", "why", 0, f.admin)), "invalid-request")
		problem(t, second2(f.svc.Freeze(f.ctx, "all", "  ", 0, f.admin)), "invalid-request")
		problem(t, f.svc.Unfreeze(f.ctx, "all", f.admin), "not-found")
		if err := f.svc.Unfreeze(f.ctx, "MA-E", f.admin); err != nil {
			t.Fatal(err)
		}
		if _, err := f.admit(t, check); err != nil {
			t.Fatalf("after regional unfreeze: %v", err)
		}
		if f.audits(t, "booking.frozen") != 2 || f.audits(t, "booking.unfrozen") != 2 {
			t.Errorf("freeze audit records: %d frozen, %d unfrozen", f.audits(t, "booking.frozen"), f.audits(t, "booking.unfrozen"))
		}
	})
}

func second2[T any](_ T, err error) error { return err }

func second(_ string, err error) error { return err }

func TestPointerHistoryAndRollback(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db, "2021-01-20T12:00:00-05:00") // phase1-d active
		for _, v := range []string{"phase2-g1", "phase2-g2"} {
			if _, err := f.svc.Activate(f.ctx, v, f.admin); err != nil {
				t.Fatal(err)
			}
		}
		problem(t, second2(f.svc.Activate(f.ctx, "phase2-g2", f.admin)), "conflict")
		problem(t, second2(f.svc.Activate(f.ctx, "no-such", f.admin)), "not-found")
		want := []string{"phase2-g1", "phase1-d"}
		for _, w := range want {
			m, err := f.svc.Rollback(f.ctx, "MA", "staff:admin-2")
			if err != nil || m.To != w {
				t.Fatalf("rollback = %+v, %v; want to %s", m, err, w)
			}
		}
		problem(t, second2(f.svc.Rollback(f.ctx, "MA", f.admin)), "conflict")
		moves, err := f.svc.Moves(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range moves {
			got = append(got, m.Kind+":"+m.From+">"+m.To+"@"+m.Actor)
		}
		wantMoves := []string{
			"activate:>phase1-d@staff:admin-1", "activate:phase1-d>phase2-g1@staff:admin-1",
			"activate:phase2-g1>phase2-g2@staff:admin-1", "rollback:phase2-g2>phase2-g1@staff:admin-2",
			"rollback:phase2-g1>phase1-d@staff:admin-2",
		}
		if !slices.Equal(got, wantMoves) {
			t.Errorf("moves:\n%v\nwant\n%v", got, wantMoves)
		}
		if f.audits(t, "rules.rolled_back") != 2 || f.audits(t, "rules.activated") != 3 || f.audits(t, "rules.published") != 10 {
			t.Errorf("audit: %d rolled back, %d activated, %d published", f.audits(t, "rules.rolled_back"),
				f.audits(t, "rules.activated"), f.audits(t, "rules.published"))
		}
		// Published versions are immutable: the same id cannot be published again.
		data, _ := rules.Massachusetts2021.ReadFile("massachusetts-2021/phase3.yaml")
		problem(t, second2(f.svc.Publish(f.ctx, data, f.admin)), "conflict")
		// A bad document is refused at publishing, naming the rule.
		bad := strings.Replace(over70, `expr: "age >= 70"`, `expr: "age >= "`, 1)
		var ve *eligibility.ValidationError
		if _, err := f.svc.Publish(f.ctx, []byte(bad), f.admin); !errors.As(err, &ve) || ve.Problems[0].Rule != "age-70" {
			t.Errorf("bad document: %v", err)
		}
		costly := strings.Replace(over70, `expr: "age >= 70"`,
			`expr: "conditions.exists(a, conditions.exists(b, conditions.exists(c, a + b + c == 'x')))"`, 1)
		if _, err := f.svc.Publish(f.ctx, []byte(costly), f.admin); !errors.As(err, &ve) ||
			ve.Problems[0].Rule != "age-70" || !strings.Contains(ve.Error(), "over the limit") {
			t.Errorf("over-cost document: %v", err)
		}
		if n := f.count(t, "SELECT count(*) FROM rule_versions WHERE version = ?", "ma-70-only"); n != 0 {
			t.Errorf("refused document stored")
		}
	})
}

func TestScheduledActivation(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db, "2021-02-10T12:00:00-05:00")
		active := func() string { v, _ := f.svc.Active(f.ctx, "MA"); return v }
		if active() != "phase2-g1" {
			t.Fatalf("active = %s", active())
		}
		vs, _ := f.svc.Versions(f.ctx)
		status := map[string]string{}
		for _, v := range vs {
			status[v.Version] = v.Status
		}
		if status["phase2-g1"] != "active" || status["phase2-g2"] != "scheduled" || status["phase1-a"] != "draft" {
			t.Errorf("statuses = %v", status)
		}
		f.clk.Set(at("2021-02-17T23:59:59-05:00"))
		if moves, err := f.svc.ActivateDue(f.ctx); err != nil || len(moves) != 0 {
			t.Fatalf("before the effective time: %v, %v", moves, err)
		}
		f.clk.Set(at("2021-02-18T00:00:00-05:00"))
		moves, err := f.svc.ActivateDue(f.ctx)
		if err != nil || len(moves) != 1 || moves[0].To != "phase2-g2" || moves[0].Kind != "scheduled" || moves[0].Actor != "system" {
			t.Fatalf("at the effective time: %+v, %v", moves, err)
		}
		// Two cohorts due at once: the later one wins, the earlier is spent.
		f.clk.Set(at("2021-03-23T08:00:00-04:00"))
		moves, err = f.svc.ActivateDue(f.ctx)
		if err != nil || len(moves) != 1 || moves[0].From != "phase2-g2" || moves[0].To != "phase2-g4" {
			t.Fatalf("two due: %+v, %v", moves, err)
		}
		if moves, _ := f.svc.ActivateDue(f.ctx); len(moves) != 0 {
			t.Errorf("second call moved again: %+v", moves)
		}
		// A rollback after a scheduled activation goes back one step.
		if m, err := f.svc.Rollback(f.ctx, "MA", f.admin); err != nil || m.To != "phase2-g2" {
			t.Errorf("rollback = %+v, %v", m, err)
		}
	})
}

func TestDecisionsReadsAndPersonalData(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db, "2021-02-19T15:00:00-05:00")
		p, ref := f.person(t, "Zelda", "1951-07-13", "02139")
		other, _ := f.person(t, "Yuri", "1990-01-01", "02139")
		d, err := f.svc.Evaluate(f.ctx, eligibility.EvalRequest{PersonID: p, Actor: "person:" + ref,
			Attributes: eligibility.Attributes{BirthDate: "1951-07-13", PostalCode: "02139",
				Answers: eligibility.Answers{Conditions: []string{"sickle-cell-disease"}, Occupation: "other"}}})
		if err != nil || !d.Eligible || !slices.Equal(d.Reasons, []string{"age-65"}) {
			t.Fatalf("decision %+v, %v", d, err)
		}
		if !strings.HasPrefix(d.Ref, "d_") || len(d.Ref) < 20 || len(d.InputHash) != 32 {
			t.Errorf("ref %q, hash %d bytes", d.Ref, len(d.InputHash))
		}
		if !d.ValidUntil.Equal(d.EvaluatedAt.Add(24 * time.Hour)) {
			t.Errorf("valid until %v", d.ValidUntil)
		}
		if _, err := f.svc.Read(f.ctx, d.Ref, eligibility.Reader{PersonID: p}); err != nil {
			t.Errorf("owner read: %v", err)
		}
		problem(t, second2(f.svc.Read(f.ctx, d.Ref, eligibility.Reader{PersonID: other})), "not-found")
		if f.audits(t, "eligibility.decision_read") != 0 {
			t.Error("owner read audited as a support read")
		}
		got, err := f.svc.Read(f.ctx, d.Ref, eligibility.Reader{Support: true, Actor: "staff:support-1"})
		if err != nil || got.RuleVersion != "phase2-g2" {
			t.Fatalf("support read: %+v, %v", got, err)
		}
		if f.audits(t, "eligibility.decision_read") != 1 {
			t.Error("support read not audited")
		}
		// Nothing personal in the clear: not in the row, the audit log or the logs.
		var dump strings.Builder
		for _, q := range []string{"SELECT sealed FROM eligibility_decisions", "SELECT details || reasons || subjects FROM audit_log"} {
			rows, err := db.Read.QueryContext(f.ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var b []byte
				_ = rows.Scan(&b)
				dump.Write(b)
			}
			rows.Close()
		}
		dump.Write(f.logs.Bytes())
		for _, secret := range []string{"1951-07-13", "02139", "sickle", "Zelda"} {
			if strings.Contains(dump.String(), secret) {
				t.Errorf("%q found in stored rows or logs", secret)
			}
		}
		// Bad answers are invalid requests naming the field.
		_, err = f.svc.Evaluate(f.ctx, eligibility.EvalRequest{PersonID: p, Actor: "person:" + ref,
			Attributes: eligibility.Attributes{BirthDate: "1951-07-13", PostalCode: "02139",
				Answers: eligibility.Answers{Conditions: []string{"hangnail"}}, Product: "999", Dose: 1}})
		e := problem(t, err, "invalid-request")
		if _, ok := e.Fields["answers.conditions"]; !ok {
			t.Errorf("fields = %v", e.Fields)
		}
		_, err = f.svc.Evaluate(f.ctx, eligibility.EvalRequest{PersonID: p, Actor: "person:" + ref,
			Attributes: eligibility.Attributes{BirthDate: "1951-07-13", PostalCode: "02139", Product: "999", Dose: 1}})
		if e := problem(t, err, "invalid-request"); e.Fields["product"] == "" {
			t.Errorf("fields = %v", e.Fields)
		}
	})
}

func TestShadowRun(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db, "2021-02-10T12:00:00-05:00") // phase2-g1
		births := []string{"1940-01-01", "1950-01-01", "1960-01-01", "1990-01-01", "1991-01-01"}
		answers := []eligibility.Answers{{}, {}, {}, {Conditions: []string{"asthma", "obesity"}}, {}}
		for i, b := range births {
			id, _ := f.person(t, "P"+string(rune('a'+i)), b, "02114")
			f.evaluate(t, id, b, answers[i])
		}
		before := f.count(t, "SELECT count(*) FROM eligibility_decisions WHERE eligible = ?", true)
		r, err := f.svc.Shadow(f.ctx, "phase2-g2")
		if err != nil {
			t.Fatal(err)
		}
		if r.Total != 5 || r.Unchanged != 3 || r.NewlyEligible != 2 || r.NewlyIneligible != 0 ||
			r.NewlyEligibleByReason["age-65"] != 1 || r.NewlyEligibleByReason["two-conditions"] != 1 {
			t.Errorf("shadow phase2-g2 = %+v", r)
		}
		if _, err := f.svc.Publish(f.ctx, []byte(over70), f.admin); err != nil {
			t.Fatal(err)
		}
		r, err = f.svc.Shadow(f.ctx, "ma-70-only")
		if err != nil {
			t.Fatal(err)
		}
		// Only the 71-year-old changes: 70 and over, but not yet 75.
		if r.Total != 5 || r.Unchanged != 4 || r.NewlyEligible != 1 || r.NewlyEligibleByReason["age-70"] != 1 {
			t.Errorf("shadow ma-70-only = %+v", r)
		}
		f.clk.Advance(31 * 24 * time.Hour)
		if r, _ := f.svc.Shadow(f.ctx, "phase2-g2"); r.Total != 0 {
			t.Errorf("decisions older than the window counted: %+v", r)
		}
		if after := f.count(t, "SELECT count(*) FROM eligibility_decisions WHERE eligible = ?", true); after != before {
			t.Errorf("shadow run changed decisions: %d eligible before, %d after", before, after)
		}
		if v, _ := f.svc.Active(f.ctx, "MA"); v != "phase2-g1" {
			t.Errorf("shadow run moved the pointer to %s", v)
		}
	})
}

func TestReevaluateBookedAppointments(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db, "2021-02-19T15:00:00-05:00")
		ann, _ := f.person(t, "Ann", "1955-06-01", "02114") // 65
		bob, _ := f.person(t, "Bob", "1945-06-01", "02114") // 75
		dAnn := f.evaluate(t, ann, "1955-06-01", eligibility.Answers{})
		dBob := f.evaluate(t, bob, "1945-06-01", eligibility.Answers{})
		now := f.clk.Now()
		exec := func(q string, args ...any) {
			t.Helper()
			err := db.InTx(f.ctx, func(tx *store.Tx) error {
				_, err := tx.ExecContext(f.ctx, store.RebindFor(db.Dialect, q), args...)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		exec("INSERT INTO sites (id, region, name, lat, lng, time_zone, external_id) VALUES (1, 'MA-E', 'Gym', 42.3, -71.1, 'America/New_York', 's1')")
		slot := "INSERT INTO slots (id, site_id, vaccine_code, dose, start_us, end_us, capacity, remaining, external_key) VALUES (?, 1, '208', 1, ?, ?, 5, 3, ?)"
		exec(slot, 1, now.Add(48*time.Hour).UnixMicro(), now.Add(49*time.Hour).UnixMicro(), "k1")
		exec(slot, 2, now.Add(-48*time.Hour).UnixMicro(), now.Add(-47*time.Hour).UnixMicro(), "k2")
		appt := "INSERT INTO appointments (id, reference, person_id, slot_id, vaccine_code, dose, status, decision_ref, rule_version, created_us, updated_us) VALUES (?, ?, ?, ?, '208', 1, 'booked', ?, 'phase2-g2', 0, 0)"
		exec(appt, "a1", "REF1", ann, 1, dAnn.Ref)
		exec(appt, "a2", "REF2", bob, 1, dBob.Ref)
		exec("INSERT INTO appointments (id, reference, person_id, slot_id, vaccine_code, dose, status, decision_ref, created_us, updated_us) VALUES ('a3', 'REF3', ?, 2, '208', 2, 'booked', ?, 0, 0)", ann, dAnn.Ref)
		if list, err := f.svc.Reevaluate(f.ctx); err != nil || len(list) != 0 {
			t.Fatalf("under phase2-g2: %+v, %v", list, err)
		}
		if _, err := f.svc.Publish(f.ctx, []byte(over70), f.admin); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Activate(f.ctx, "ma-70-only", f.admin); err != nil {
			t.Fatal(err)
		}
		list, err := f.svc.Reevaluate(f.ctx)
		if err != nil || len(list) != 1 || list[0].Reference != "REF1" || list[0].RuleVersion != "ma-70-only" ||
			!slices.Equal(list[0].Reasons, []string{"not-in-eligible-group"}) {
			t.Fatalf("under ma-70-only: %+v, %v", list, err)
		}
		if n := f.count(t, "SELECT count(*) FROM appointments WHERE status = 'booked'"); n != 3 {
			t.Errorf("reevaluate changed appointments: %d booked", n)
		}
	})
}

// TestThroughTheBookingTransaction runs the gate inside booking.Book: a
// freeze answers bookings-frozen and writes nothing, unfreezing restores
// booking, and a rule change after evaluation refuses with the new reasons.
func TestThroughTheBookingTransaction(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db, "2021-02-19T15:00:00-05:00")
		bk := booking.NewService(db, booking.Config{Clock: f.clk, Gate: f.svc, NoBatch: true})
		site, err := bk.CreateSite(f.ctx, f.admin, booking.NewSite{Region: "MA-E", Name: "Gym", Lat: 42.36,
			Lng: -71.06, TimeZone: "America/New_York", PostalCode: "02114", State: "MA"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bk.GenerateSlots(f.ctx, f.admin, site.ID, booking.Generate{From: "2021-02-22", To: "2021-02-22",
			Opens: "09:00", Closes: "09:30", IntervalMin: 30, Capacity: 2, Vaccine: "208", Dose: 1}); err != nil {
			t.Fatal(err)
		}
		var slot int64
		if err := db.Read.QueryRow("SELECT id FROM slots").Scan(&slot); err != nil {
			t.Fatal(err)
		}
		ann, annRef := f.person(t, "Ann", "1955-06-01", "02114")
		bob, bobRef := f.person(t, "Bob", "1954-06-01", "02114")
		dAnn := f.evaluate(t, ann, "1955-06-01", eligibility.Answers{})
		dBob := f.evaluate(t, bob, "1954-06-01", eligibility.Answers{})
		book := func(id int64, ref, decision string) error {
			_, _, err := bk.Book(f.ctx, booking.BookRequest{PersonID: id, PersonRef: ref, Actor: "person:" + ref,
				SlotID: slot, DecisionRef: decision})
			return err
		}
		written := func() string {
			return fmt.Sprint(f.count(t, "SELECT count(*) FROM appointments"), "/",
				f.count(t, "SELECT remaining FROM slots WHERE id = ?", slot))
		}

		if _, err := f.svc.Freeze(f.ctx, "all", "overload", 5*time.Minute, f.admin); err != nil {
			t.Fatal(err)
		}
		problem(t, book(ann, annRef, dAnn.Ref), "bookings-frozen")
		if w := written(); w != "0/2" {
			t.Errorf("frozen booking wrote something: appointments/remaining = %s", w)
		}
		if err := f.svc.Unfreeze(f.ctx, "all", f.admin); err != nil {
			t.Fatal(err)
		}
		if err := book(ann, annRef, dAnn.Ref); err != nil {
			t.Fatalf("after unfreeze: %v", err)
		}
		var version string
		_ = db.Read.QueryRow(store.RebindFor(db.Dialect, "SELECT rule_version FROM appointments WHERE person_id = ?"), ann).Scan(&version)
		if version != "phase2-g2" {
			t.Errorf("appointment rule_version = %q", version)
		}

		if _, err := f.svc.Publish(f.ctx, []byte(over70), f.admin); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Activate(f.ctx, "ma-70-only", f.admin); err != nil {
			t.Fatal(err)
		}
		e := problem(t, book(bob, bobRef, dBob.Ref), "ineligible")
		if e.Extra["rule_version"] != "ma-70-only" {
			t.Errorf("refused under %v", e.Extra["rule_version"])
		}
		if w := written(); w != "1/1" {
			t.Errorf("refused booking wrote something: appointments/remaining = %s", w)
		}
	})
}
