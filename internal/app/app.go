// Package app builds the whole service from its configuration: storage,
// every domain service, the background loops and the HTTP handler. The
// `serve` command and the end-to-end tests both start vaxbook through it,
// so what the tests run is what production runs.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/clinic"
	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/eligibility"
	"github.com/vaxbook/vaxbook/internal/geo"
	"github.com/vaxbook/vaxbook/internal/httpapi"
	"github.com/vaxbook/vaxbook/internal/httpapi/bookingapi"
	"github.com/vaxbook/vaxbook/internal/httpapi/eligibilityapi"
	"github.com/vaxbook/vaxbook/internal/httpapi/identityapi"
	"github.com/vaxbook/vaxbook/internal/identity"
	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/waitroom"
	"github.com/vaxbook/vaxbook/internal/web"
)

// Config is everything a vaxbook process is configured with. The cmd
// package fills it from flags and VAXBOOK_* variables; tests fill it
// directly.
type Config struct {
	// DatabaseURL is sqlite://PATH or postgres://...
	DatabaseURL string
	// Keys seal personal data. Required.
	Keys *pii.Keys
	// PublicURL is where people and aggregators reach the service.
	PublicURL string
	// RedisURL shares the waiting room between nodes; empty keeps it in memory.
	RedisURL string
	Log      *slog.Logger
	Clock    clock.Clock
	// HoldTTL overrides the hold duration (default 5 minutes).
	HoldTTL time.Duration
	// Demo loads the demo data (Demo below) before /readyz answers.
	Demo *Demo
	// Imports are SMART Scheduling Links manifests loaded at start.
	Imports []string
	// ShiftTo moves imported feeds so their first day falls on this date.
	ShiftTo string
	// ImportHosts are the host:port pairs POST /v1/admin/imports may fetch
	// manifests from; empty refuses every URL (imports.go).
	ImportHosts []string
	// SweepInterval is how often expired holds and keys are swept (default 10 s).
	SweepInterval time.Duration
	// MaxConns bounds the PostgreSQL pool.
	MaxConns int
	// NoBatch books every request in its own transaction (benchmarks
	// compare it with the default, where bookings waiting for one slot
	// share a transaction).
	NoBatch bool
	// AuditKey signs audit checkpoints. Nil: SQLite keeps one beside the
	// database, PostgreSQL makes a throwaway key and warns (audit.go).
	AuditKey *audit.Key
	// Audit tunes the audit sealer.
	Audit audit.Config
	// Mail sends notifications; nil writes .eml files beside a SQLite
	// database (vaxbook.mail/ with PostgreSQL). See notify.go.
	Mail notify.Sender
	// MailFrom is the From address of messages.
	MailFrom string
	// Clinic tunes the clinic operations (clinic.go).
	Clinic ClinicConfig
	// Waitroom configures the waiting room and rate limits.
	Waitroom WaitroomConfig
	// DashboardInterval is how often the staff dashboard samples the
	// metrics (default 2 s).
	DashboardInterval time.Duration
}

// App is a running vaxbook.
type App struct {
	cfg         Config
	DB          *store.DB
	Registry    *prometheus.Registry
	Identity    *identity.Store
	Booking     *booking.Service
	Eligibility *eligibility.Service
	// Search is the in-memory slot search index (the read model).
	Search *geo.Index
	// Sealer seals audit records into the Merkle tree (audit.go).
	Sealer *audit.Sealer
	// Outbox sends confirmations and reminders (notify.go).
	Outbox *notify.Outbox
	// Clinic runs the waitlist, no-shows, assisted bookings and reports.
	Clinic  *clinic.Service
	Handler http.Handler
	Server  *httpapi.Server
	// Room is the waiting room; Limiter the rate limits (nil when off).
	Room    *waitroom.Room
	Limiter *waitroom.Limiter
	// Web is the pages module; its Run samples the staff dashboard.
	Web   *web.Web
	redis *redis.Client

	log      *slog.Logger
	ready    chan struct{}
	readyErr error
	wg       sync.WaitGroup
}

// New opens and migrates the database and builds every service. Start
// runs the background loops.
func New(ctx context.Context, cfg Config) (*App, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.Keys == nil {
		return nil, errors.New("app: no personal-data keys configured")
	}
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = 10 * time.Second
	}
	db, err := store.Open(ctx, cfg.DatabaseURL, store.Options{Logger: cfg.Log, MaxConns: cfg.MaxConns})
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, DB: db, log: cfg.Log, ready: make(chan struct{})}
	if err := a.build(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return a, nil
}

func (a *App) build(ctx context.Context) error {
	cfg := a.cfg
	if err := a.DB.Migrate(ctx, a.log); err != nil {
		return err
	}
	a.Registry = prometheus.NewRegistry()
	a.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.Identity = identity.New(a.DB, cfg.Keys, cfg.Clock)
	elig, err := eligibility.New(eligibility.Config{DB: a.DB, Keys: cfg.Keys, Clock: cfg.Clock, Log: a.log})
	if err != nil {
		return fmt.Errorf("eligibility: %w", err)
	}
	a.Eligibility = elig
	a.Booking = booking.NewService(a.DB, booking.Config{Clock: cfg.Clock, Log: a.log, Gate: elig, HoldTTL: cfg.HoldTTL,
		NoBatch: cfg.NoBatch})

	if a.Search, err = geo.NewIndex(geo.IndexConfig{DB: a.DB, Clock: cfg.Clock, Log: a.log}); err != nil {
		return fmt.Errorf("search index: %w", err)
	}
	roomMod, err := a.buildWaitroom(ctx)
	if err != nil {
		return err
	}
	pages, err := web.New(web.Config{Log: a.log, Clock: cfg.Clock, PublicURL: cfg.PublicURL, Keys: cfg.Keys,
		Identity: a.Identity, Eligibility: a.Eligibility, Booking: a.Booking, Search: a.Search, Registry: a.Registry,
		Room: a.Room, Limiter: a.Limiter, DashboardInterval: cfg.DashboardInterval})
	if err != nil {
		return fmt.Errorf("web pages: %w", err)
	}
	a.Web = pages
	a.Booking.AddListener(pages.Metrics())
	a.Booking.AddRefusalObserver(pages.Metrics())
	bookingMod := &bookingapi.Module{Booking: a.Booking, Auth: a.Identity, Log: a.log, Admission: a.Room, Limit: a.limit}
	modules := []httpapi.Module{
		roomMod,
		&identityapi.Module{IDs: a.Identity, Log: a.log, Limit: a.limit},
		bookingMod,
		&eligibilityapi.Module{Eligibility: a.Eligibility, Auth: a.Identity, People: a.Identity, Log: a.log,
			Limit: a.limit},
		pages,
	}
	auditMod, err := a.buildAudit()
	if err != nil {
		return err
	}
	modules = append(modules, auditMod)
	searchMods, err := a.buildSearch()
	if err != nil {
		return err
	}
	modules = append(modules, searchMods...)
	notifyMod, err := a.buildNotify(ctx)
	if err != nil {
		return err
	}
	modules = append(modules, notifyMod)
	clinicMod, err := a.buildClinic(bookingMod)
	if err != nil {
		return err
	}
	modules = append(modules, clinicMod)
	importMod, err := a.buildImports()
	if err != nil {
		return err
	}
	modules = append(modules, importMod)
	srv, err := httpapi.New(httpapi.Config{DB: a.DB, Log: a.log, Registry: a.Registry, Ready: a.readyCheck}, modules...)
	if err != nil {
		return err
	}
	a.Server, a.Handler = srv, srv
	return nil
}

// Start loads start-up data (demo, imports) in the background and runs the
// periodic loops until ctx ends. /readyz answers 503 until loading is done.
func (a *App) Start(ctx context.Context) {
	a.wg.Add(2)
	go func() {
		defer a.wg.Done()
		a.readyErr = a.load(ctx)
		if a.readyErr != nil {
			a.log.ErrorContext(ctx, "start-up data not loaded", slog.String("error", a.readyErr.Error()))
		}
		close(a.ready)
	}()
	go func() {
		defer a.wg.Done()
		a.sweep(ctx)
	}()
	a.startWaitroom(ctx)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.Search.Start(ctx)
	}()
	a.startAudit(ctx)
	a.startNotify(ctx)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.Web.Run(ctx)
	}()
}

// WaitReady blocks until start-up loading finished, returning its error.
func (a *App) WaitReady(ctx context.Context) error {
	select {
	case <-a.ready:
		return a.readyErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (a *App) readyCheck(context.Context) error {
	select {
	case <-a.ready:
		if a.readyErr != nil {
			return errors.New("start-up data failed to load")
		}
		return nil
	default:
		return errors.New("loading start-up data")
	}
}

// sweep expires holds and idempotency keys. Booking never waits for it; it
// keeps counts honest for search.
func (a *App) sweep(ctx context.Context) {
	t := time.NewTicker(a.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := a.Booking.ExpireHolds(ctx); err != nil && ctx.Err() == nil {
			a.log.WarnContext(ctx, "hold sweep failed", slog.String("error", err.Error()))
		} else if n > 0 {
			a.log.DebugContext(ctx, "holds expired", slog.Int("count", n))
		}
		if _, err := a.Booking.ExpireIdempotencyKeys(ctx); err != nil && ctx.Err() == nil {
			a.log.WarnContext(ctx, "idempotency sweep failed", slog.String("error", err.Error()))
		}
		if _, err := a.Eligibility.ActivateDue(ctx); err != nil && ctx.Err() == nil {
			a.log.WarnContext(ctx, "scheduled activation failed", slog.String("error", err.Error()))
		}
		a.sweepClinic(ctx)
	}
}

// Close waits for the loops (after their context ended) and closes storage.
func (a *App) Close() error {
	a.wg.Wait()
	if a.redis != nil {
		a.redis.Close()
	}
	return a.DB.Close()
}
