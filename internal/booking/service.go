package booking

import (
	"context"
	_ "embed"
	"log/slog"
	"sync"
	"time"

	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/store"
)

//go:embed queries.sql
var queriesSQL string

// Config configures a Service. Zero values take the defaults.
type Config struct {
	Clock clock.Clock
	Log   *slog.Logger
	// Gate re-checks eligibility and freezes inside the transaction. It is
	// required: a service without it refuses every booking (fail closed).
	Gate Gate
	// Listeners are told of every appointment change in its transaction.
	Listeners []Listener
	// Refusals are told of refused holds, bookings and reschedules.
	Refusals []RefusalObserver
	// HoldTTL is how long a hold keeps its seat (default 5 minutes).
	HoldTTL time.Duration
	// IdempotencyTTL is how long a stored response is replayed (default 24 h).
	IdempotencyTTL time.Duration
	// NoBatch runs every booking in its own transaction instead of letting
	// the bookings waiting for one slot share one (see batch.go).
	NoBatch bool
	// NoAudit turns the audit records off. Only the audit-overhead
	// benchmark sets it; production always audits.
	NoAudit bool
}

// Service runs every operation that takes or returns a seat.
type Service struct {
	db  *store.DB
	q   *store.Queries
	cfg Config
	log *slog.Logger
	// inflight is this node's set of idempotency keys being processed.
	// Another node's duplicate waits on the key's row instead, then replays.
	inflight sync.Map
	batches  batcher
}

// NewService returns a Service over db.
func NewService(db *store.DB, cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.HoldTTL <= 0 {
		cfg.HoldTTL = 5 * time.Minute
	}
	if cfg.IdempotencyTTL <= 0 {
		cfg.IdempotencyTTL = 24 * time.Hour
	}
	return &Service{db: db, q: store.ParseQueries(db.Dialect, "booking/queries.sql", queriesSQL), cfg: cfg, log: cfg.Log}
}

// AddListener adds a listener; call it before serving.
func (s *Service) AddListener(l Listener) { s.cfg.Listeners = append(s.cfg.Listeners, l) }

// AddRefusalObserver adds an observer of refusals; call it before serving.
func (s *Service) AddRefusalObserver(o RefusalObserver) { s.cfg.Refusals = append(s.cfg.Refusals, o) }

// refused tells the observers of a refusal; err nil is no refusal.
func (s *Service) refused(ctx context.Context, slotID int64, err error) {
	if err == nil {
		return
	}
	for _, o := range s.cfg.Refusals {
		o.Refused(ctx, slotID, err)
	}
}

// SetGate sets the eligibility gate; call it before serving.
func (s *Service) SetGate(g Gate) { s.cfg.Gate = g }

// HoldTTL returns how long holds last.
func (s *Service) HoldTTL() time.Duration { return s.cfg.HoldTTL }

// DB returns the database the service writes to.
func (s *Service) DB() *store.DB { return s.db }

func (s *Service) now() time.Time { return s.cfg.Clock.Now() }

func (s *Service) audit(ctx context.Context, tx *store.Tx, rec audit.Record) error {
	if s.cfg.NoAudit {
		return nil
	}
	return audit.Append(ctx, tx, rec)
}

func (s *Service) notify(ctx context.Context, tx *store.Tx, e Event) error {
	for _, l := range s.cfg.Listeners {
		if err := l.OnEvent(ctx, tx, e); err != nil {
			return err
		}
	}
	return nil
}

func micros(us int64) time.Time { return time.UnixMicro(us).UTC() }
