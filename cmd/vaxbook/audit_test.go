package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/store"
)

func TestAuditCommand(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "v.db")
	dbURL := "sqlite://" + dbPath
	run := func(sub string, args ...string) error {
		return runAudit(ctx, append([]string{sub, "--database-url", dbURL}, args...))
	}
	if exitCode(runAudit(ctx, []string{"frobnicate"})) != 2 || exitCode(runAudit(ctx, nil)) != 2 {
		t.Error("unknown subcommand is not a usage error")
	}
	if err := run("seal"); err != nil { // migrates and makes the key beside the database
		t.Fatalf("seal an empty log: %v", err)
	}
	db, err := store.Open(ctx, dbURL, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	at := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	for i := 0; i < 20; i++ {
		err := db.InTx(ctx, func(tx *store.Tx) error {
			return audit.Append(ctx, tx, audit.Record{At: at.Add(time.Duration(i) * time.Minute), Actor: audit.System,
				Action: "hold.expired", Subjects: []string{"hold:H" + string(rune('A'+i))}})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"seal"}, {"verify"}, {"verify", "--json"}} {
		if err := run(args[0], args[1:]...); err != nil {
			t.Fatalf("audit %v: %v", args, err)
		}
	}
	skey, err := os.ReadFile(dbPath + ".audit.key")
	if err != nil {
		t.Fatalf("no key beside the database: %v", err)
	}
	key, err := audit.ParseKey(string(skey))
	if err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(dir, "march.json")
	if err := run("export", "--month", "2026-03", "-o", bundle); err != nil {
		t.Fatalf("export: %v", err)
	}
	if err := runAudit(ctx, []string{"verify-bundle", "--public-key", key.PublicKey(), bundle}); err != nil {
		t.Fatalf("verify-bundle: %v", err)
	}
	other, _, _ := audit.GenerateKey(audit.DefaultOrigin)
	if err := runAudit(ctx, []string{"verify-bundle", "--public-key", other.PublicKey(), bundle}); err == nil {
		t.Fatal("bundle verified under another key")
	}

	for _, s := range []string{"DROP TRIGGER audit_log_no_update", "UPDATE audit_log SET action = 'x' WHERE seq = 7"} {
		if _, err := db.Write.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	err = run("verify")
	if exitCode(err) != 1 || !strings.Contains(err.Error(), "record-altered at seq 7") {
		t.Fatalf("verify after tampering: %v", err)
	}
	if err := run("grant"); err == nil || !strings.Contains(err.Error(), "PostgreSQL") {
		t.Fatalf("grant on SQLite: %v", err)
	}
}
