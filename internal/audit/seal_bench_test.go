package audit_test

import (
	"context"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
)

const sealBenchRecords = 100000

// BenchmarkSealAndVerify measures, per engine, how fast the sealer turns a
// backlog of 100,000 records into leaves and how fast Verify rebuilds and
// checks the tree.
//
//	go test -run '^$' -bench SealAndVerify -benchtime 1x ./internal/audit/
func BenchmarkSealAndVerify(b *testing.B) {
	for _, engine := range storetest.Engines {
		b.Run(string(engine), func(b *testing.B) {
			var seal, verify time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				db := storetest.Open(b, engine)
				fill(b, db)
				key, _, _ := audit.GenerateKey("bench.vaxbook/audit")
				s, err := audit.NewSealer(db, key, audit.Config{}, nil, clock.System{})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				for {
					r, err := s.SealOnce(context.Background())
					if err != nil {
						b.Fatal(err)
					}
					if r.Sealed == 0 && r.Lag == 0 {
						break
					}
				}
				seal += time.Since(start)
				start = time.Now()
				rep, err := audit.Verify(context.Background(), db, key.PublicKey())
				if err != nil || !rep.OK || rep.Leaves != sealBenchRecords {
					b.Fatalf("verify: %v %+v", err, rep)
				}
				verify += time.Since(start)
			}
			n := float64(b.N * sealBenchRecords)
			b.ReportMetric(n/seal.Seconds(), "sealed/s")
			b.ReportMetric(n/verify.Seconds(), "verified/s")
		})
	}
}

// fill writes the records in one statement: the benchmark measures the
// sealer, not the inserts.
func fill(b *testing.B, db *store.DB) {
	q := `INSERT INTO audit_log (at_us, actor, action, subjects, rule_version, reasons, input_hash, details)
	      SELECT 1780000000000000 + g * 1000, 'person:P' || g, 'appointment.booked',
	             '["appointment:A' || g || '","slot:' || (g % 1000) || '"]', 'phase3', '["age-65-plus"]',
	             'ab12cd34', '{"dose":1}'
	      FROM generate_series(1, ?) AS g`
	if db.Dialect == store.SQLite {
		q = `WITH RECURSIVE gs(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM gs WHERE g < ?) ` +
			q[:len(q)-len("FROM generate_series(1, ?) AS g")] + "FROM gs"
	}
	if _, err := db.Write.Exec(store.RebindFor(db.Dialect, q), sealBenchRecords); err != nil {
		b.Fatal(err)
	}
}
