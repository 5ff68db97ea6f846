// Package clinic runs the operations around the first booking: the
// waitlist and its offers, the no-show sweep, bookings made for someone
// else (proxies, phone agents, walk-ins) and the suppressed booking
// reports. Every seat it touches goes through package booking's guarded
// seat code; this package only decides who gets one.
package clinic

import (
	"context"
	_ "embed"
	"errors"
	"log/slog"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/eligibility"
	"github.com/vaxbook/vaxbook/internal/identity"
	"github.com/vaxbook/vaxbook/internal/store"
)

//go:embed queries.sql
var queriesSQL string

// People finds or creates a person from an attested identity.
type People interface {
	CreateSession(ctx context.Context, a identity.Attested) (identity.Session, error)
}

// Evaluator decides eligibility for a person (eligibility.Service).
type Evaluator interface {
	Evaluate(ctx context.Context, req eligibility.EvalRequest) (eligibility.Decision, error)
	Explain(ctx context.Context, version string, codes []string, lang string) []eligibility.Reason
}

// OfferNotifier tells a person of an offer, inside the transaction that
// made it (notify.Outbox).
type OfferNotifier interface {
	EnqueueOffer(ctx context.Context, tx *store.Tx, offerID string, personID, slotID int64, expiresAt time.Time) error
}

// Config configures a Service. Zero durations take their defaults.
type Config struct {
	DB      *store.DB
	Booking *booking.Service
	People  People
	Rules   Evaluator
	// Offers is told of every offer; nil sends nothing.
	Offers OfferNotifier
	Clock  clock.Clock
	Log    *slog.Logger
	// OfferTTL is how long an offer holds its seat (default 30 minutes).
	OfferTTL time.Duration
	// NoShowGrace is how long after a slot ends a booked appointment that
	// was not checked in becomes a no-show (default 2 hours).
	NoShowGrace time.Duration
	// SuppressBelow hides report counts from 1 to SuppressBelow-1
	// (default 11).
	SuppressBelow int
}

// Service runs the clinic operations.
type Service struct {
	cfg Config
	db  *store.DB
	q   *store.Queries
	log *slog.Logger
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Booking == nil {
		return nil, errors.New("clinic: a database and the booking service are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.OfferTTL <= 0 {
		cfg.OfferTTL = 30 * time.Minute
	}
	if cfg.NoShowGrace <= 0 {
		cfg.NoShowGrace = 2 * time.Hour
	}
	if cfg.SuppressBelow <= 0 {
		cfg.SuppressBelow = 11
	}
	return &Service{cfg: cfg, db: cfg.DB, log: cfg.Log,
		q: store.ParseQueries(cfg.DB.Dialect, "clinic/queries.sql", queriesSQL)}, nil
}

// SetOffers sets the offer notifier; call it before serving.
func (s *Service) SetOffers(n OfferNotifier) { s.cfg.Offers = n }

// SuppressBelow returns the report threshold.
func (s *Service) SuppressBelow() int { return s.cfg.SuppressBelow }

func (s *Service) now() time.Time { return s.cfg.Clock.Now() }

func micros(us int64) time.Time { return time.UnixMicro(us).UTC() }
