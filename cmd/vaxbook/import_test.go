package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestImportCommand(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := "sqlite://" + filepath.Join(t.TempDir(), "v.db")
	feed := filepath.Join("..", "..", "..", "shared", "data", "smart-scheduling-links", "riteaid-nj-2023-03")
	var out strings.Builder
	args := []string{"--database-url", dbURL, "--shift-to", "2027-01-04", feed}
	if err := importTo(ctx, args, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"shifted: first day 2023-03-24 moved to 2027-01-04 (+1382 days",
		"inserted 1542", "stored: 112 sites, 1542 slots", "output_file_missing                      48"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := importTo(ctx, args, &out); err != nil || !strings.Contains(out.String(), "unchanged 1542") {
		t.Errorf("second import: %v\n%s", err, out.String())
	}
	for _, bad := range [][]string{{}, {"a", "b"}, {"--shift-to", "2027-02-30", feed}, {"--nope", feed}} {
		if err := importTo(ctx, append([]string{"--database-url", dbURL}, bad...), &out); exitCode(err) != 2 {
			t.Errorf("import %v: exit %d (%v), want usage error 2", bad, exitCode(err), err)
		}
	}
	if err := importTo(ctx, []string{"--database-url", dbURL, filepath.Join(t.TempDir(), "absent")}, &out); exitCode(err) != 1 {
		t.Errorf("import of a missing manifest: %v, want exit 1", err)
	}
}
