package eligibility

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
	"github.com/vaxbook/vaxbook/rules"
)

func loadVersion(b *testing.B, id string) *Ruleset {
	b.Helper()
	list, err := LoadFS(rules.Massachusetts2021, rules.Massachusetts2021Dir, 0)
	if err != nil {
		b.Fatal(err)
	}
	for _, rs := range list {
		if rs.Doc.ID == id {
			return rs
		}
	}
	b.Fatalf("no version %s", id)
	return nil
}

// randomAttributes returns a varied population: ages 13 to 100, zero to
// three conditions, a mix of occupations and residences, a few from out of
// state, some asking for a product.
func randomAttributes(r *rand.Rand, rs *Ruleset) Attributes {
	v := rs.Doc.Vocabulary
	birth := time.Date(1921, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(88*365))
	a := Attributes{BirthDate: birth.Format(time.DateOnly), PostalCode: "02114",
		Answers: Answers{Occupation: v.Occupations[r.IntN(len(v.Occupations))],
			Residence: v.Residences[r.IntN(len(v.Residences))]}}
	for range r.IntN(4) {
		a.Answers.Conditions = append(a.Answers.Conditions, v.Conditions[r.IntN(len(v.Conditions))])
	}
	if r.IntN(20) == 0 {
		a.PostalCode = "03060"
	}
	if r.IntN(3) == 0 {
		a.Product, a.Dose = []string{"207", "208", "212"}[r.IntN(3)], 1
	}
	return a
}

var minAges = map[string]int{"207": 18, "208": 16, "212": 18, "": 0}

// BenchmarkDecisionPhase3 measures evaluating the phase3 document (input
// built from the birth date and answers, every rule run): run it with
// -cpu 1 for decisions per second on one core.
func BenchmarkDecisionPhase3(b *testing.B) {
	rs := loadVersion(b, "phase3")
	r := rand.New(rand.NewPCG(1, 2))
	people := make([]Attributes, 1024)
	for i := range people {
		people[i] = randomAttributes(r, rs)
	}
	on := Date{2021, time.April, 20}
	eligible := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		a := people[i%len(people)]
		_, out, err := rs.EvaluateAttributes(a, on, minAges[a.Product])
		if err != nil {
			b.Fatal(err)
		}
		if out.Eligible {
			eligible++
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
	if eligible == 0 {
		b.Fatal("nobody eligible under phase3")
	}
}

// BenchmarkStoredDecisionPhase3 measures the whole Evaluate: rules, seal,
// keyed hash, and the decision row with its audit record committed
// (SQLite, durable commits).
func BenchmarkStoredDecisionPhase3(b *testing.B) {
	ctx := context.Background()
	db := storetest.Open(b, store.SQLite)
	svc, personID := benchService(b, db, time.Date(2021, 4, 20, 15, 0, 0, 0, time.UTC))
	rs := loadVersion(b, "phase3")
	r := rand.New(rand.NewPCG(3, 4))
	b.ResetTimer()
	for b.Loop() {
		if _, err := svc.Evaluate(ctx, EvalRequest{PersonID: personID, Actor: "person:bench",
			Attributes: randomAttributes(r, rs)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
}

func benchService(b *testing.B, db *store.DB, now time.Time) (*Service, int64) {
	b.Helper()
	ctx := context.Background()
	svc, err := New(Config{DB: db, Keys: pii.TestKeys(), Clock: clock.NewFake(now)})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.PublishAndActivate(ctx, rules.Massachusetts2021, rules.Massachusetts2021Dir, now, "system"); err != nil {
		b.Fatal(err)
	}
	var id int64
	err = db.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, store.RebindFor(db.Dialect,
			"INSERT INTO people (ref, lookup_hash, contact_hash, sealed, created_us) VALUES ('P_BENCH', ?, ?, ?, 0)"),
			[]byte("l"), []byte("c"), []byte("s"))
		if err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, "SELECT id FROM people WHERE ref = 'P_BENCH'").Scan(&id)
	})
	if err != nil {
		b.Fatal(err)
	}
	return svc, id
}

// BenchmarkShadow100k measures a shadow run of phase3 over 100,000 stored
// decisions made under phase2-g1 (inserted in bulk in the setup): each
// decision's sealed attributes are opened and evaluated again.
func BenchmarkShadow100k(b *testing.B) {
	for _, engine := range storetest.Engines {
		b.Run(string(engine), func(b *testing.B) {
			ctx := context.Background()
			db := storetest.Open(b, engine)
			now := time.Date(2021, 4, 20, 15, 0, 0, 0, time.UTC)
			svc, personID := benchService(b, db, now)
			insertDecisions(b, svc, personID, 100_000, now)
			b.ResetTimer()
			var report ShadowReport
			for b.Loop() {
				var err error
				if report, err = svc.Shadow(ctx, "phase3"); err != nil {
					b.Fatal(err)
				}
			}
			if report.Total != 100_000 || report.Failed != 0 || report.NewlyEligible == 0 {
				b.Fatalf("report %+v", report)
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/run")
			b.Logf("%s: %d unchanged, %d newly eligible %v, %d newly ineligible %v", engine, report.Unchanged,
				report.NewlyEligible, report.NewlyEligibleByReason, report.NewlyIneligible, report.NewlyIneligibleByReason)
		})
	}
}

// insertDecisions stores n decisions under phase2-g1, 500 rows a statement.
func insertDecisions(b *testing.B, svc *Service, personID int64, n int, now time.Time) {
	b.Helper()
	ctx := context.Background()
	rs := loadVersion(b, "phase2-g1")
	r := rand.New(rand.NewPCG(5, 6))
	const batch = 500
	row := "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	for start := 0; start < n; start += batch {
		args := make([]any, 0, batch*12)
		for i := 0; i < batch && start+i < n; i++ {
			at := now.Add(-time.Duration(r.IntN(10*24*3600)) * time.Second)
			a := randomAttributes(r, rs)
			in, out, err := rs.EvaluateAttributes(a, rs.DateAt(at), minAges[a.Product])
			if err != nil {
				b.Fatal(err)
			}
			plain, _ := json.Marshal(a)
			reasons, _ := json.Marshal(out.Reasons)
			args = append(args, fmt.Sprintf("d_bench%07d", start+i), personID, "MA", rs.Doc.ID, out.Eligible,
				string(reasons), svc.inputHash(rs.Doc.ID, in), svc.cfg.Keys.Seal(sealContext, plain),
				a.Product, a.Dose, at.UnixMicro(), at.Add(24*time.Hour).UnixMicro())
		}
		q := "INSERT INTO eligibility_decisions (ref, person_id, jurisdiction, rule_version, eligible, reasons, " +
			"input_hash, sealed, product, dose, evaluated_us, valid_until_us) VALUES " +
			strings.TrimSuffix(strings.Repeat(row+", ", len(args)/12), ", ")
		err := svc.db.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.ExecContext(ctx, store.RebindFor(svc.db.Dialect, q), args...)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
