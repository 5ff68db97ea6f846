package audit_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/store"
)

// fixture is one test's log: a database, a key and a sealer.
type fixture struct {
	db     *store.DB
	key    audit.Key
	sealer *audit.Sealer
	clk    *clock.Fake
	reg    *prometheus.Registry
}

func setup(t *testing.T, db *store.DB) *fixture {
	t.Helper()
	key, _, err := audit.GenerateKey("test.vaxbook/audit")
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC))
	reg := prometheus.NewRegistry()
	s, err := audit.NewSealer(db, key, audit.Config{BatchSize: 50, Metrics: reg}, nil, clk)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{db: db, key: key, sealer: s, clk: clk, reg: reg}
}

// appendN writes n records, one transaction each, and returns their seqs.
func (f *fixture) appendN(t *testing.T, n int) []int64 {
	t.Helper()
	var seqs []int64
	for i := 0; i < n; i++ {
		f.clk.Advance(time.Second)
		rec := audit.Record{At: f.clk.Now(), Actor: fmt.Sprintf("staff:t%d", i), Action: "booking.created",
			Subjects: []string{fmt.Sprintf("appointment:A%d", i), "slot:7"}, RuleVersion: "v3",
			Reasons: []string{"age-65-plus"}, InputHash: []byte{byte(i), 0xab},
			Details: map[string]any{"dose": 1}}
		err := f.db.InTx(context.Background(), func(tx *store.Tx) error {
			return audit.Append(context.Background(), tx, rec)
		})
		if err != nil {
			t.Fatalf("append: %v", err)
		}
		seqs = append(seqs, f.lastSeq(t))
	}
	return seqs
}

func (f *fixture) lastSeq(t *testing.T) int64 {
	t.Helper()
	var seq int64
	if err := f.db.Read.QueryRow("SELECT max(seq) FROM audit_log").Scan(&seq); err != nil {
		t.Fatal(err)
	}
	return seq
}

// sealAll runs rounds until nothing is left to seal.
func (f *fixture) sealAll(t *testing.T) audit.Round {
	t.Helper()
	var last audit.Round
	for i := 0; i < 100; i++ {
		r, err := f.sealer.SealOnce(context.Background())
		if err != nil {
			t.Fatalf("seal: %v", err)
		}
		if r.Sealed > 0 {
			last = r
		}
		if r.Sealed == 0 && r.Lag == 0 {
			return last
		}
	}
	t.Fatal("sealer did not catch up in 100 rounds")
	return last
}

func (f *fixture) verify(t *testing.T) *audit.Report {
	t.Helper()
	rep, err := audit.Verify(context.Background(), f.db, f.key.PublicKey())
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return rep
}

// exec runs a statement outside the log's API, as an attacker or a
// test setting up one would.
func exec(t *testing.T, db *store.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Write.Exec(store.RebindFor(db.Dialect, q), args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}
