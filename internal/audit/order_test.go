package audit_test

import (
	"context"
	"errors"
	"testing"

	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
)

func countLeaves(t *testing.T, db *store.DB) int {
	t.Helper()
	var n int
	if err := db.Read.QueryRow("SELECT count(*) FROM audit_leaves").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRolledBackRecordsNeverAppear(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		f.appendN(t, 3)
		boom := errors.New("the booking failed")
		err := db.InTx(ctx, func(tx *store.Tx) error {
			rec := audit.Record{At: f.clk.Now(), Actor: "staff:x", Action: "appointment.booked",
				Subjects: []string{"appointment:ROLLEDBACK"}}
			if err := audit.Append(ctx, tx, rec); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v", err)
		}
		f.appendN(t, 3)
		f.sealAll(t)
		var n int
		err = db.Read.QueryRow("SELECT count(*) FROM audit_log WHERE subjects LIKE '%ROLLEDBACK%'").Scan(&n)
		if err != nil || n != 0 {
			t.Fatalf("rolled-back record rows = %d, %v", n, err)
		}
		if got := countLeaves(t, db); got != 6 {
			t.Fatalf("leaves = %d, want the 6 committed records", got)
		}
		page, err := audit.Search(ctx, db, audit.Query{Subject: "appointment:ROLLEDBACK"})
		if err != nil || len(page.Records) != 0 {
			t.Fatalf("search found %d, %v", len(page.Records), err)
		}
		if rep := f.verify(t); !rep.OK || rep.Leaves != 6 {
			t.Fatalf("report %+v", rep)
		}
	})
}

// A transaction that drew a lower seq but commits after higher seqs were
// sealed is sealed in a later round, never skipped. Only PostgreSQL runs
// writers concurrently; SQLite's single writer commits in seq order.
func TestLateCommitIsSealedLater(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t, store.Postgres)
	ctx := context.Background()
	f := setup(t, db)
	f.appendN(t, 2)
	f.sealAll(t)

	slow, err := db.Write.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Rollback()
	late := audit.Record{At: f.clk.Now(), Actor: "system", Action: "hold.expired", Subjects: []string{"hold:LATE"}}
	if err := audit.Append(ctx, &store.Tx{Tx: slow, Dialect: db.Dialect}, late); err != nil {
		t.Fatal(err)
	}
	var lateSeq int64
	if err := slow.QueryRow("SELECT max(seq) FROM audit_log").Scan(&lateSeq); err != nil {
		t.Fatal(err)
	}
	after := f.appendN(t, 3)
	if after[0] <= lateSeq {
		t.Fatalf("seqs %v should follow the open transaction's %d", after, lateSeq)
	}
	for i := 0; i < 4; i++ { // several rounds: the sealer must keep waiting
		if _, err := f.sealer.SealOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := countLeaves(t, db); got != 5 {
		t.Fatalf("leaves = %d, want the 5 committed records", got)
	}
	if err := slow.Commit(); err != nil {
		t.Fatal(err)
	}
	r := f.sealAll(t)
	if r.Sealed != 1 || r.TreeSize != 6 {
		t.Fatalf("round after the late commit = %+v, want 1 sealed into size 6", r)
	}
	var idx int64
	if err := db.Read.QueryRow("SELECT leaf_index FROM audit_leaves WHERE seq = $1", lateSeq).Scan(&idx); err != nil {
		t.Fatalf("late record not sealed: %v", err)
	}
	if idx != 5 {
		t.Fatalf("late record at leaf %d, want 5 (after the ones sealed before it committed)", idx)
	}
	if rep := f.verify(t); !rep.OK {
		t.Fatalf("verify: %+v", rep.First)
	}
}
