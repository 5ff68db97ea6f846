package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vaxbook/vaxbook/internal/eligibility"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/store"
)

func TestRulesCommand(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	dbURL := "sqlite://" + filepath.Join(dir, "v.db")
	run := func(args ...string) error {
		return runRules(ctx, append(args[:1:1], append([]string{"--database-url", dbURL}, args[1:]...)...))
	}
	phase := func(id string) string { return filepath.Join("..", "..", "rules", "massachusetts-2021", id+".yaml") }
	if err := runRules(ctx, []string{"validate", phase("phase3")}); err != nil {
		t.Fatalf("validate phase3: %v", err)
	}
	good, _ := os.ReadFile(phase("phase3"))
	bad := filepath.Join(dir, "bad.yaml")
	_ = os.WriteFile(bad, []byte(strings.Replace(string(good), "age >= 16", "age >= ", 1)), 0o600)
	err := runRules(ctx, []string{"validate", bad})
	if exitCode(err) != 1 || !strings.Contains(err.Error(), "1 problems") {
		t.Errorf("validate bad document: %v", err)
	}
	if exitCode(runRules(ctx, []string{"frobnicate"})) != 2 || exitCode(runRules(ctx, nil)) != 2 {
		t.Error("unknown subcommand is not a usage error")
	}
	for _, id := range []string{"phase2-g1", "phase2-g2"} {
		if err := run("publish", phase(id)); err != nil {
			t.Fatalf("publish %s: %v", id, err)
		}
	}
	if err := run("publish", bad); exitCode(err) != 1 {
		t.Errorf("publish bad document: %v", err)
	}
	for _, args := range [][]string{{"activate", "phase2-g1"}, {"activate", "phase2-g2"}, {"rollback"}, {"list"}, {"shadow", "phase2-g2"}, {"reevaluate"}} {
		if err := run(args...); err != nil {
			t.Fatalf("rules %v: %v", args, err)
		}
	}
	db, err := store.Open(ctx, dbURL, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc, _ := eligibility.New(eligibility.Config{DB: db, Keys: pii.TestKeys()})
	if v, _ := svc.Active(ctx, "MA"); v != "phase2-g1" {
		t.Errorf("after activate, activate, rollback: active = %q, want phase2-g1", v)
	}
	moves, _ := svc.Moves(ctx)
	if len(moves) != 3 || moves[2].Actor != rulesActor {
		t.Errorf("moves = %+v", moves)
	}
}
