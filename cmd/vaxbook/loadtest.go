package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/vaxbook/vaxbook/internal/loadtest"
)

func init() {
	register("loadtest", "simulate opening day against a running vaxbook over HTTP", runLoadtest)
}

func runLoadtest(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	def := loadtest.Defaults("", 0)
	cfg := def
	fs.StringVar(&cfg.Target, "target", env("VAXBOOK_LOADTEST_TARGET", "http://"+env("VAXBOOK_ADDR", "127.0.0.1:8080")),
		"base URL of the vaxbook under test (VAXBOOK_LOADTEST_TARGET); loopback only unless --allow-remote")
	fs.BoolVar(&cfg.AllowRemote, "allow-remote", false, "allow a target that is not a loopback address")
	fs.BoolVar(&cfg.ForwardedFor, "forwarded-for", false,
		"give each person an address from 198.18.0.0/15 in X-Forwarded-For (the server must trust the driver as a proxy)")
	fs.IntVar(&cfg.People, "people", 1000, "how many simulated people arrive")
	curve := fs.String("curve", "burst", "arrival curve: burst[:TAU] (most arrive in the first minutes), uniform, spike")
	fs.DurationVar(&cfg.Arrivals, "duration", def.Arrivals, "window over which people arrive")
	fs.DurationVar(&cfg.MaxRun, "max-run", def.MaxRun, "hard bound on the run; bookings in flight are resolved for up to a minute more")
	fs.IntVar(&cfg.Concurrency, "concurrency", def.Concurrency, "requests in flight to the origin at most (and as many to the waiting room)")
	fs.DurationVar(&cfg.RequestTimeout, "request-timeout", def.RequestTimeout, "timeout of one request")
	fs.Uint64Var(&cfg.Seed, "seed", def.Seed, "seed of the people's choices")
	fs.Float64Var(&cfg.Ineligible, "ineligible-share", def.Ineligible, "share of people too young for the active rules")
	fs.Float64Var(&cfg.DoubleClick, "double-click-share", def.DoubleClick, "share who send the booking twice at once")
	fs.Float64Var(&cfg.ClientTimeout, "timeout-share", def.ClientTimeout, "share whose first booking attempt times out on the client and is retried with the same key")
	fs.Float64Var(&cfg.Stale, "stale-share", def.Stale, "share who think for seconds between search and choice")
	fs.Float64Var(&cfg.AbandonHold, "abandon-hold-share", def.AbandonHold, "share who take a hold and walk away")
	fs.Float64Var(&cfg.AbandonQueue, "abandon-queue-share", def.AbandonQueue, "share who join the queue and never come back")
	fs.Float64Var(&cfg.DirectBooking, "direct-share", def.DirectBooking, "share who book a slot without a hold")
	zips := fs.String("zips", strings.Join(def.ZIPs, ","), "comma-separated ZIP codes people live in and search near")
	fs.IntVar(&cfg.Dose, "dose", def.Dose, "dose people book")
	jsonOut := fs.String("json", "", "write the report as JSON to this file")
	chartOut := fs.String("chart", "", "write a PNG chart (queue depth, bookings per second) to this file")
	respOut := fs.String("responses", "", "write every 201 of POST /v1/appointments as NDJSON to this file (for vaxbook check)")
	verbose := fs.Bool("v", false, "debug logging")
	if err := fs.Parse(args); err != nil {
		return &exitError{code: 2, err: err}
	}
	var err error
	if cfg.Curve, err = loadtest.ParseCurve(*curve); err != nil {
		return &exitError{code: 2, err: err}
	}
	cfg.ZIPs = strings.Split(*zips, ",")
	cfg.Progress, cfg.ProgressTTY = os.Stderr, isTerminal(os.Stderr)
	cfg.Log = newLogger(*verbose)
	if err := cfg.Validate(); err != nil {
		return &exitError{code: 2, err: err}
	}
	if *respOut != "" {
		f, err := os.Create(*respOut)
		if err != nil {
			return err
		}
		defer f.Close()
		cfg.Responses = f
	}
	rep, err := loadtest.Run(ctx, cfg)
	if err != nil {
		return err
	}
	rep.WriteTable(os.Stdout)
	return writeLoadOutputs(rep, *jsonOut, *chartOut)
}

func writeLoadOutputs(rep *loadtest.Report, jsonPath, chartPath string) error {
	if jsonPath != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(jsonPath, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if chartPath != "" {
		f, err := os.Create(chartPath)
		if err != nil {
			return err
		}
		if err := rep.WriteChart(f); err != nil {
			f.Close()
			return fmt.Errorf("draw chart: %w", err)
		}
		return f.Close()
	}
	return nil
}

// isTerminal reports whether f is a character device (a terminal), where
// a progress bar may redraw its line.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
