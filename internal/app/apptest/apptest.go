// Package apptest starts a whole vaxbook in-process for end-to-end tests:
// a fresh database of the chosen engine, the demo data, the background
// loops and an HTTP server on 127.0.0.1.
package apptest

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/app"
	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
)

// Options adjust the started service.
type Options struct {
	// Engine is store.SQLite (default) or store.Postgres.
	Engine store.Dialect
	// NoDemo starts with an empty database.
	NoDemo bool
	// Clock overrides the system clock.
	Clock clock.Clock
	// Log receives the service's logs (default: discarded).
	Log *slog.Logger
	// RateLimits keeps the per-address and per-person limits on; tests
	// send many requests from one address, so they are off by default.
	RateLimits bool
	// Configure may change the configuration before the app is built.
	Configure func(*app.Config)
}

// Service is a running vaxbook.
type Service struct {
	*app.App
	URL string
}

// Start starts vaxbook and stops it when the test ends. It returns once
// the demo data is loaded.
func Start(t testing.TB, opts Options) *Service {
	t.Helper()
	if opts.Engine == "" {
		opts.Engine = store.SQLite
	}
	cfg := app.Config{DatabaseURL: storetest.URL(t, opts.Engine), Keys: pii.TestKeys(), Clock: opts.Clock,
		Log: opts.Log, SweepInterval: time.Second, MaxConns: 16,
		// Messages go to the test's own folder, never the working tree.
		Mail: &notify.Folder{Dir: t.TempDir()}}
	cfg.Waitroom.NoRateLimits = !opts.RateLimits
	if !opts.NoDemo {
		cfg.Demo = &app.Demo{Date: time.Now().AddDate(0, 0, 1).Format("2006-01-02")}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.PublicURL = "http://" + ln.Addr().String()
	if opts.Configure != nil {
		opts.Configure(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("start vaxbook: %v", err)
	}
	a.Start(ctx)
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: a.Handler}}
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		cancel()
		a.Close()
	})
	waitCtx, done := context.WithTimeout(ctx, 60*time.Second)
	defer done()
	if err := a.WaitReady(waitCtx); err != nil {
		t.Fatalf("vaxbook not ready: %v", err)
	}
	// The search read model refreshes on its own; bring it up to date with
	// the loaded data so tests do not race its next refresh.
	if err := a.Search.Refresh(waitCtx); err != nil {
		t.Fatalf("refresh search index: %v", err)
	}
	return &Service{App: a, URL: srv.URL}
}
