package eligibility

import (
	"context"
	"crypto/rand"
	"database/sql"
	_ "embed"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/store"
)

//go:embed queries.sql
var queriesSQL string

// Config configures a Service.
type Config struct {
	DB    *store.DB
	Keys  *pii.Keys
	Clock clock.Clock
	Log   *slog.Logger
	// DecisionTTL is how long a decision may be used to book (default 24h).
	DecisionTTL time.Duration
	// CostLimit bounds each expression's estimated cost (DefaultCostLimit).
	CostLimit uint64
	// ShadowWindow is how far back a shadow run looks (default 30 days) and
	// ShadowLimit how many decisions it takes at most (default 100,000).
	ShadowWindow time.Duration
	ShadowLimit  int
}

func (c *Config) defaults() error {
	if c.DB == nil || c.Keys == nil {
		return errors.New("eligibility: DB and Keys are required")
	}
	if c.Clock == nil {
		c.Clock = clock.System{}
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.DecisionTTL <= 0 {
		c.DecisionTTL = 24 * time.Hour
	}
	if c.CostLimit == 0 {
		c.CostLimit = DefaultCostLimit
	}
	if c.ShadowWindow <= 0 {
		c.ShadowWindow = 30 * 24 * time.Hour
	}
	if c.ShadowLimit <= 0 {
		c.ShadowLimit = 100_000
	}
	return nil
}

// Service publishes and activates rule versions, makes and stores
// decisions, and answers the booking transaction's question (Admit).
type Service struct {
	cfg Config
	db  *store.DB
	q   *store.Queries

	mu       sync.RWMutex
	rulesets map[string]*Ruleset // published versions never change
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	return &Service{
		cfg:      cfg,
		db:       cfg.DB,
		q:        store.ParseQueries(cfg.DB.Dialect, "eligibility/queries.sql", queriesSQL),
		rulesets: map[string]*Ruleset{},
	}, nil
}

// querier is what both *sql.DB and *store.Tx offer.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Validate parses and compiles a document without storing it.
func (s *Service) Validate(data []byte) (*Ruleset, error) {
	doc, err := ParseDocument(data)
	if err != nil {
		return nil, err
	}
	return Compile(doc, s.cfg.CostLimit)
}

// Ruleset returns the compiled published version, or a not-found error.
func (s *Service) Ruleset(ctx context.Context, version string) (*Ruleset, error) {
	return s.ruleset(ctx, s.db.Read, version)
}

func (s *Service) ruleset(ctx context.Context, q querier, version string) (*Ruleset, error) {
	s.mu.RLock()
	rs := s.rulesets[version]
	s.mu.RUnlock()
	if rs != nil {
		return rs, nil
	}
	var text string
	err := q.QueryRowContext(ctx, s.q.Get("get_version"), version).Scan(&text)
	if store.IsNoRows(err) {
		return nil, apperr.NotFound("rule version " + version)
	}
	if err != nil {
		return nil, fmt.Errorf("load rule version: %w", err)
	}
	rs, err = s.Validate([]byte(text))
	if err != nil {
		return nil, fmt.Errorf("compile stored rule version %s: %w", version, err)
	}
	s.remember(rs)
	return rs, nil
}

func (s *Service) remember(rs *Ruleset) {
	s.mu.Lock()
	s.rulesets[rs.Doc.ID] = rs
	s.mu.Unlock()
}

// active returns the active version of a jurisdiction, or "".
func (s *Service) active(ctx context.Context, q querier, jurisdiction string) (string, error) {
	var v string
	err := q.QueryRowContext(ctx, s.q.Get("get_pointer"), jurisdiction).Scan(&v)
	if store.IsNoRows(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read active version: %w", err)
	}
	return v, nil
}

// Active returns the active version of jurisdiction ("" when none).
func (s *Service) Active(ctx context.Context, jurisdiction string) (string, error) {
	return s.active(ctx, s.db.Read, jurisdiction)
}

var refEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newRef returns an unguessable reference: 128 random bits.
func newRef(prefix string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return prefix + strings.ToLower(refEncoding.EncodeToString(b))
}

func micros(us int64) time.Time { return time.UnixMicro(us).UTC() }
