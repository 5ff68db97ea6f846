package audit_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
)

func TestTriggersRefuseChanges(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		seqs := f.appendN(t, 20) // 16 of them make a stored level-4 node
		f.sealAll(t)
		stmts := []string{
			"UPDATE audit_log SET actor = 'staff:evil'",
			"DELETE FROM audit_log WHERE seq = " + strconv.FormatInt(seqs[1], 10),
			"DELETE FROM audit_log",
			"UPDATE audit_leaves SET seq = seq + 100",
			"DELETE FROM audit_leaves",
			"DELETE FROM audit_nodes",
			"UPDATE audit_checkpoints SET note = ''",
			"DELETE FROM audit_checkpoints",
		}
		if db.Dialect == store.Postgres {
			stmts = append(stmts, "TRUNCATE audit_log", "TRUNCATE audit_log_default",
				"TRUNCATE audit_leaves", "TRUNCATE audit_nodes", "TRUNCATE audit_checkpoints")
		}
		for _, s := range stmts {
			_, err := db.Write.Exec(s)
			if err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: err = %v, want the append-only refusal", s, err)
			}
		}
		if rep := f.verify(t); !rep.OK || rep.Leaves != 20 {
			t.Fatalf("log changed: %+v", rep)
		}
	})
}

// The service's role may append to the log but not change it, even where
// the triggers are gone.
func TestServiceRoleCannotUpdate(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t, store.Postgres)
	ctx := context.Background()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	role := "vaxbook_app_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		_, _ = db.Write.Exec("DROP OWNED BY " + role)
		_, _ = db.Write.Exec("DROP ROLE " + role)
	})
	if err := audit.GrantAppendOnly(ctx, db, role); err != nil {
		t.Fatal(err)
	}
	if err := audit.GrantAppendOnly(ctx, db, role); err != nil {
		t.Fatalf("second grant (role exists): %v", err)
	}
	conn, err := db.Write.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	defer conn.ExecContext(ctx, "RESET ROLE")
	// Without triggers, only the missing privilege stands in the way.
	for _, s := range []string{"SET session_replication_role = replica", "SET ROLE " + role} {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	_, err = conn.ExecContext(ctx, "INSERT INTO audit_log (at_us, actor, action) VALUES ($1, 'system', 'test.appended')",
		time.Now().UnixMicro())
	if err != nil {
		t.Fatalf("the service role cannot append: %v", err)
	}
	for _, s := range []string{"UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log",
		"TRUNCATE audit_log", "UPDATE audit_log_default SET actor = 'x'", "DELETE FROM audit_leaves",
		"UPDATE audit_checkpoints SET note = ''", "TRUNCATE audit_nodes"} {
		_, err := conn.ExecContext(ctx, s)
		var pg *pgconn.PgError
		if !errors.As(err, &pg) || pg.Code != "42501" {
			t.Errorf("%s as the service role: err = %v, want permission denied", s, err)
		}
	}
	// The sealer still works as that role: it only inserts and reads.
	if _, err := conn.ExecContext(ctx, "SELECT audit_ensure_partitions($1, 1)", time.Now().UnixMicro()); err != nil {
		t.Fatalf("partition maintenance as the service role: %v", err)
	}
}

// A month without a partition lands in the DEFAULT partition; maintenance
// creates future months and leaves a month whose rows are already in the
// default partition alone, instead of failing.
func TestPartitions(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t, store.Postgres)
	ctx := context.Background()
	far := time.Date(2031, 7, 9, 12, 0, 0, 0, time.UTC)
	err := db.InTx(ctx, func(tx *store.Tx) error {
		return audit.Append(ctx, tx, audit.Record{At: far, Actor: "system", Action: "test.future"})
	})
	if err != nil {
		t.Fatalf("append to a month without a partition: %v", err)
	}
	where := func(action string) string {
		var part string
		err := db.Read.QueryRow("SELECT tableoid::regclass::text FROM audit_log WHERE action = $1", action).Scan(&part)
		if err != nil {
			t.Fatal(err)
		}
		return part
	}
	if p := where("test.future"); p != "audit_log_default" {
		t.Fatalf("future record in %s, want audit_log_default", p)
	}
	var made int
	if err := db.Write.QueryRow("SELECT audit_ensure_partitions($1, 2)", far.UnixMicro()).Scan(&made); err != nil {
		t.Fatal(err)
	}
	if made != 2 {
		t.Fatalf("made %d partitions, want 2 (August and September; July has rows in default)", made)
	}
	next := far.AddDate(0, 1, 0)
	err = db.InTx(ctx, func(tx *store.Tx) error {
		return audit.Append(ctx, tx, audit.Record{At: next, Actor: "system", Action: "test.next"})
	})
	if err != nil {
		t.Fatal(err)
	}
	if p := where("test.next"); p != "audit_log_2031_08" {
		t.Fatalf("next month's record in %s, want audit_log_2031_08", p)
	}
	if _, err := db.Write.Exec("TRUNCATE audit_log_2031_08"); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("truncate of a new partition: %v", err)
	}
}
