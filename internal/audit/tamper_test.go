package audit_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
)

// asSuperuser runs statements the way an attacker with superuser rights
// would: with the append-only triggers out of the way.
func asSuperuser(t *testing.T, db *store.DB, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	conn, err := db.Write.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	pre := []string{"SET session_replication_role = replica"}
	post := []string{"RESET session_replication_role"}
	if db.Dialect == store.SQLite {
		pre, post = nil, nil
		for _, tbl := range []string{"audit_log", "audit_leaves", "audit_nodes", "audit_checkpoints"} {
			pre = append(pre, "DROP TRIGGER IF EXISTS "+tbl+"_no_update", "DROP TRIGGER IF EXISTS "+tbl+"_no_delete")
		}
	}
	for _, s := range append(append(pre, stmts...), post...) {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func TestVerifyFindsTampering(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		stmts func(db *store.DB, seqs []int64) []string
		kind  string
		bad   int // index into seqs of the first bad record
	}{
		{"edit", func(_ *store.DB, s []int64) []string {
			return []string{fmt.Sprintf("UPDATE audit_log SET reasons = '[]' WHERE seq = %d", s[4])}
		}, audit.ProblemRecordAltered, 4},
		{"delete", func(_ *store.DB, s []int64) []string {
			return []string{fmt.Sprintf("DELETE FROM audit_log WHERE seq = %d", s[6])}
		}, audit.ProblemRecordMissing, 6},
		{"reorder", func(_ *store.DB, s []int64) []string {
			return []string{
				fmt.Sprintf("UPDATE audit_log SET seq = -1 WHERE seq = %d", s[2]),
				fmt.Sprintf("UPDATE audit_log SET seq = %d WHERE seq = %d", s[2], s[3]),
				fmt.Sprintf("UPDATE audit_log SET seq = %d WHERE seq = -1", s[3]),
			}
		}, audit.ProblemRecordAltered, 2},
		{"truncate", func(db *store.DB, _ []int64) []string {
			if db.Dialect == store.SQLite {
				return []string{"DELETE FROM audit_log"} // SQLite's truncate
			}
			return []string{"TRUNCATE audit_log"}
		}, audit.ProblemRecordMissing, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				f := setup(t, db)
				seqs := f.appendN(t, 10)
				f.sealAll(t)
				if rep := f.verify(t); !rep.OK {
					t.Fatalf("before tampering: %+v", rep.First)
				}
				asSuperuser(t, db, c.stmts(db, seqs)...)
				rep := f.verify(t)
				if rep.OK || rep.First == nil {
					t.Fatalf("verify passed after %s", c.name)
				}
				if rep.First.Kind != c.kind || rep.First.Seq != seqs[c.bad] {
					t.Fatalf("first problem = %+v, want %s at seq %d", *rep.First, c.kind, seqs[c.bad])
				}
			})
		})
	}
}

// An attacker who rewrites a record and its stored leaf hash together
// still cannot rebuild the signed root.
func TestVerifyFindsRecordAndLeafRewritten(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		seqs := f.appendN(t, 8)
		f.sealAll(t)
		e := audit.Entry{}
		row := db.Read.QueryRow(store.RebindFor(db.Dialect, `SELECT seq, at_us, actor, action, subjects,
			rule_version, reasons, input_hash, details FROM audit_log WHERE seq = ?`), seqs[5])
		if err := row.Scan(&e.Seq, &e.AtUS, &e.Actor, &e.Action, &e.Subjects, &e.RuleVersion, &e.Reasons,
			&e.InputHash, &e.Details); err != nil {
			t.Fatal(err)
		}
		e.Action = "nothing.happened"
		hash := fmt.Sprintf("%x", e.LeafHash())
		lit := "'\\x" + hash + "'"
		if db.Dialect == store.SQLite {
			lit = "X'" + hash + "'"
		}
		asSuperuser(t, db,
			fmt.Sprintf("UPDATE audit_log SET action = 'nothing.happened' WHERE seq = %d", seqs[5]),
			fmt.Sprintf("UPDATE audit_leaves SET leaf_hash = %s WHERE seq = %d", lit, seqs[5]))
		rep := f.verify(t)
		if rep.OK || rep.First.Kind != audit.ProblemCheckpointRoot || rep.First.TreeSize != 8 {
			t.Fatalf("report = %+v first %+v, want a root mismatch at checkpoint 8", rep, rep.First)
		}
	})
}

func TestVerifyFindsForgedCheckpoint(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		f.appendN(t, 5)
		f.sealAll(t)
		// The forger signs a checkpoint of the same origin with a key of
		// their own, claiming a different root.
		skey, _, err := note.GenerateKey(rand.Reader, "test.vaxbook/audit")
		if err != nil {
			t.Fatal(err)
		}
		signer, err := note.NewSigner(skey)
		if err != nil {
			t.Fatal(err)
		}
		root := make([]byte, 32)
		body := fmt.Sprintf("test.vaxbook/audit\n5\n%s\n", base64.StdEncoding.EncodeToString(root))
		forged, err := note.Sign(&note.Note{Text: body}, signer)
		if err != nil {
			t.Fatal(err)
		}
		asSuperuser(t, db, fmt.Sprintf("UPDATE audit_checkpoints SET note = '%s' WHERE tree_size = 5",
			strings.ReplaceAll(string(forged), "'", "''")))
		rep := f.verify(t)
		if rep.OK || rep.First.Kind != audit.ProblemCheckpointSig || rep.First.TreeSize != 5 {
			t.Fatalf("first problem = %+v, want a bad signature on checkpoint 5", rep.First)
		}
	})
}

func TestVerifyFindsForgedResumeState(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		f.appendN(t, 6)
		f.sealAll(t)
		zero := "'\\x" + strings.Repeat("00", 64) + "'"
		if db.Dialect == store.SQLite {
			zero = "X'" + strings.Repeat("00", 64) + "'"
		}
		asSuperuser(t, db, "UPDATE audit_checkpoints SET range_hashes = "+zero+" WHERE tree_size = 6")
		rep := f.verify(t)
		if rep.OK || rep.First.Kind != audit.ProblemCheckpointRange || rep.First.TreeSize != 6 {
			t.Fatalf("first problem = %+v, want a forged compact range at 6", rep.First)
		}
	})
}
