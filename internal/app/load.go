package app

import (
	"context"
	"embed"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/vaxbook/vaxbook/internal/smartlinks"
	"github.com/vaxbook/vaxbook/rules"
)

// Demo is the demo data set: the real feeds in ../shared/data moved forward
// so their first day is Date, and the Massachusetts 2021 rule versions with
// the one in effect at RulesOn active.
type Demo struct {
	// Date is the first day of the shifted feeds (YYYY-MM-DD).
	Date string
	// RulesOn picks the rule version in effect at that instant. The demo's
	// dates are in 2026 while the policy ended in 2021, so the latest
	// version (phase3) is the one in effect unless a test picks another.
	RulesOn time.Time
	// DataDir holds the feeds (smart-scheduling-links/...). Empty finds
	// ../shared/data from the working directory or the executable.
	DataDir string
}

// demoFeeds are the manifests the demo imports, relative to DataDir.
var demoFeeds = []string{
	"smart-scheduling-links/example-ma/$bulk-publish",
	"smart-scheduling-links/riteaid-nj-2023-03/$bulk-publish",
}

func (a *App) load(ctx context.Context) error {
	if d := a.cfg.Demo; d != nil {
		if err := a.loadDemo(ctx, d); err != nil {
			return err
		}
	}
	for _, m := range a.cfg.Imports {
		if err := a.importFeed(ctx, m, a.cfg.ShiftTo); err != nil {
			return err
		}
	}
	return nil
}

func (a *App) loadDemo(ctx context.Context, d *Demo) error {
	on := d.RulesOn
	if on.IsZero() {
		on = a.cfg.Clock.Now()
	}
	version, err := a.Eligibility.PublishAndActivate(ctx, rules.Massachusetts2021, rules.Massachusetts2021Dir, on, "system")
	if err != nil {
		return fmt.Errorf("demo rules: %w", err)
	}
	a.log.InfoContext(ctx, "demo rules active", slog.String("rule_version", version))
	dir := d.DataDir
	if dir == "" {
		dir = FindDataDir()
	}
	if dir == "" {
		return a.loadEmbeddedDemo(ctx, d)
	}
	for _, feed := range demoFeeds {
		if err := a.importFeed(ctx, filepath.Join(dir, feed), d.Date); err != nil {
			return err
		}
	}
	return nil
}

// embeddedDemo is the project's copy of the SMART Scheduling Links
// specification's example feed, for a demo started away from ../shared.
//
//go:embed demodata/example-ma
var embeddedDemo embed.FS

func (a *App) loadEmbeddedDemo(ctx context.Context, d *Demo) error {
	a.log.WarnContext(ctx, "shared demo data not found; importing the embedded copy of the specification's example feed only",
		slog.String("hint", "run from the project folder next to ../shared/data, or set VAXBOOK_DEMO_DATA"))
	tmp, err := os.MkdirTemp("", "vaxbook-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := os.CopyFS(tmp, embeddedDemo); err != nil {
		return fmt.Errorf("unpack demo feed: %w", err)
	}
	return a.importFeed(ctx, filepath.Join(tmp, "demodata", "example-ma", "$bulk-publish"), d.Date)
}

func (a *App) importFeed(ctx context.Context, manifest, shiftTo string) error {
	opts := smartlinks.Options{Log: a.log, Clock: a.cfg.Clock}
	if shiftTo != "" {
		date, err := smartlinks.ParseDate(shiftTo)
		if err != nil {
			return fmt.Errorf("shift date: %w", err)
		}
		opts.ShiftTo = &date
	}
	rep, err := smartlinks.Import(ctx, a.DB, manifest, opts)
	if err != nil {
		return fmt.Errorf("import %s: %w", manifest, err)
	}
	attrs := []any{slog.String("manifest", filepath.Base(filepath.Dir(manifest))),
		slog.Int("sites", rep.Sites), slog.Int("slots", rep.SlotsStored), slog.Int("skipped", rep.SkippedTotal())}
	if sh := rep.Shift; sh != nil {
		attrs = append(attrs, slog.String("shifted", fmt.Sprintf("first day %s moved to %s", sh.FirstDay, sh.To)),
			slog.Int("shift_days", sh.Days))
	}
	a.log.InfoContext(ctx, "feed imported", attrs...)
	return nil
}

// FindDataDir looks for the shared data folder: $VAXBOOK_DEMO_DATA, then
// ../shared/data (and ../../shared/data, ...) from the working directory
// and from the executable's folder.
func FindDataDir() string {
	if d := os.Getenv("VAXBOOK_DEMO_DATA"); d != "" {
		return d
	}
	var roots []string
	if wd, err := os.Getwd(); err == nil {
		roots = append(roots, wd)
	}
	if exe, err := os.Executable(); err == nil {
		roots = append(roots, filepath.Dir(exe))
	}
	for _, root := range roots {
		dir := root
		for i := 0; i < 6; i++ {
			cand := filepath.Join(dir, "..", "shared", "data")
			if st, err := os.Stat(filepath.Join(cand, "smart-scheduling-links")); err == nil && st.IsDir() {
				return filepath.Clean(cand)
			}
			dir = filepath.Dir(dir)
		}
	}
	return ""
}
