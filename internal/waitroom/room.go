package waitroom

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/store"
)

// StockSource tells the room how many bookable online seats remain in what
// it guards (the search read model's count).
type StockSource interface {
	RemainingSeats(ctx context.Context) (int, error)
}

// Deps are the room's collaborators.
type Deps struct {
	DB *store.DB
	// NewStore returns the queue store of a round; nil keeps the queue in
	// memory. RedisStores returns one for a shared Redis.
	NewStore func(round int64) Store
	// Stock may be nil: then the room admits at its rate alone.
	Stock    StockSource
	Sealer   Sealer
	Log      *slog.Logger
	Clock    clock.Clock
	Registry prometheus.Registerer
}

// Room is the waiting room. Every node runs one; with a RedisStore they
// share the queue, and the settings and keys live in the database.
type Room struct {
	cfg      Config
	db       *store.DB
	q        *store.Queries
	keys     *Keyring
	seal     Sealer
	newStore func(round int64) Store
	stock    StockSource
	log      *slog.Logger
	clk      clock.Clock
	m        *metrics

	mu         sync.RWMutex
	settings   Settings
	st         Store
	soldOut    bool
	loadedAt   time.Time
	expiredAt  time.Time
	nextRotate time.Time
}

// New builds a room, applying cfg's initial settings when they differ from
// the stored ones.
func New(ctx context.Context, cfg Config, d Deps) (*Room, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Clock == nil {
		d.Clock = clock.System{}
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.NewStore == nil {
		d.NewStore = func(int64) Store { return NewMemoryStore() }
	}
	r := &Room{cfg: cfg, db: d.DB, q: queries(d.DB), seal: d.Sealer, newStore: d.NewStore, stock: d.Stock,
		log: d.Log, clk: d.Clock, m: newMetrics(d.Registry)}
	keys, err := NewKeyring(ctx, d.DB, d.Sealer, d.Clock, 24*time.Hour+cfg.Skew)
	if err != nil {
		return nil, err
	}
	r.keys = keys
	if err := r.reload(ctx); err != nil {
		return nil, err
	}
	if cfg.Mode != "" {
		if err := r.applyConfig(ctx); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// applyConfig stores the configured settings unless they are stored already.
func (r *Room) applyConfig(ctx context.Context) error {
	want := Settings{Mode: r.cfg.Mode, OpensAt: r.cfg.OpensAt, RatePerS: r.cfg.AdmissionRatePerS, TokenTTL: r.cfg.TokenTTL}
	cur := r.Settings()
	if cur.Mode == want.Mode && cur.OpensAt.Equal(want.OpensAt) && cur.RatePerS == want.RatePerS && cur.TokenTTL == want.TokenTTL {
		return nil
	}
	_, err := r.Configure(ctx, want, audit.System)
	return err
}

// Keyring returns the signing keys (for rotation from the command line).
func (r *Room) Keyring() *Keyring { return r.keys }

// Settings returns the current settings.
func (r *Room) Settings() Settings {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.settings
}

func (r *Room) current() (Settings, Store, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.settings, r.st, r.soldOut
}

// reload reads the settings and switches to the round's store when the
// round changed (another node or an admin may have changed them).
func (r *Room) reload(ctx context.Context) error {
	s, _, err := r.loadSettings(ctx)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.st == nil || s.Round != r.settings.Round {
		r.st = r.newStore(s.Round)
		r.soldOut = false
	}
	r.settings, r.loadedAt = s, r.clk.Now()
	return nil
}

// Configure validates and stores new settings (PUT /v1/admin/waiting-room).
func (r *Room) Configure(ctx context.Context, s Settings, actor string) (Settings, error) {
	if err := validateSettings(s); err != nil {
		return Settings{}, err
	}
	saved, err := r.saveSettings(ctx, s, actor)
	if err != nil {
		return Settings{}, err
	}
	if err := r.reload(ctx); err != nil {
		return Settings{}, err
	}
	r.log.InfoContext(ctx, "waiting room configured", slog.String("mode", saved.Mode),
		slog.Int64("round", saved.Round), slog.Float64("rate_per_s", saved.RatePerS))
	return saved, nil
}

func validateSettings(s Settings) error {
	f := map[string]string{}
	switch s.Mode {
	case ModeOff, ModeFIFO, ModeLottery:
	default:
		f["mode"] = "must be off, fifo or lottery"
	}
	if s.Mode != ModeOff && s.OpensAt.IsZero() {
		f["opens_at"] = "is required unless the mode is off"
	}
	if checkRate(s.RatePerS) != nil {
		f["admission_rate_per_s"] = "must be above 0 and at most 100000"
	}
	if checkTTL(s.TokenTTL) != nil {
		f["token_ttl_s"] = "must be between 30 and 86400"
	}
	if len(s.PublicValue) > 512 {
		f["public_value"] = "must be at most 512 characters"
	}
	if len(f) > 0 {
		return &apperr.Error{Name: "invalid-request", Detail: "the request has invalid fields", Fields: f}
	}
	return nil
}

// Phase is the room's public state (API.md): closed, pre-queue or open.
func (s Settings) Phase(now time.Time) string {
	switch {
	case !s.On():
		return "closed"
	case now.Before(s.OpensAt):
		return "pre-queue"
	}
	return "open"
}

// Status is what a ticket holder is told.
type Status struct {
	Ticket string
	// Status is waiting, admitted, expired, left or sold_out.
	Status   string
	Position int // 0 when unknown (a lottery before its draw)
	Drawn    bool
	// EstimatedWait and PollAfter are whole seconds.
	EstimatedWait int
	PollAfter     int
	Token         string
	TokenExpires  time.Time
	Message       string
	OpensAt       time.Time
	Mode          string
}

// Join returns the client's ticket, creating it at the back of the queue
// (or in a lottery's pre-queue) when the client has none. client is a
// person reference or a client key.
func (r *Room) Join(ctx context.Context, client string) (Status, bool, error) {
	s, st, _ := r.current()
	if !s.On() {
		return Status{}, false, apperr.New("conflict", "the waiting room is closed: booking is not gated now")
	}
	now := r.clk.Now()
	pre := s.Mode == ModeLottery && now.Before(s.OpensAt)
	t, created, err := st.Join(ctx, JoinParams{Client: client, PreQueue: pre, Now: now})
	if err != nil {
		return Status{}, false, err
	}
	if created {
		r.m.tickets.Inc()
	}
	out, err := r.status(ctx, t)
	return out, created, err
}

// Status returns a ticket's status and records that its holder is there.
func (r *Room) Status(ctx context.Context, id string) (Status, error) {
	_, st, _ := r.current()
	t, err := st.Touch(ctx, id, r.clk.Now())
	if errors.Is(err, ErrNoTicket) {
		return Status{}, apperr.NotFound("ticket")
	}
	if err != nil {
		return Status{}, err
	}
	return r.status(ctx, t)
}

// Leave gives up a ticket; an admitted ticket returns its share of seats.
func (r *Room) Leave(ctx context.Context, id string) error {
	_, st, _ := r.current()
	_, err := st.Leave(ctx, id)
	if errors.Is(err, ErrNoTicket) {
		return apperr.NotFound("ticket")
	}
	return err
}

func (r *Room) status(ctx context.Context, t Ticket) (Status, error) {
	s, _, soldOut := r.current()
	now := r.clk.Now()
	out := Status{Ticket: t.ID, Status: string(t.State), Position: t.Position, OpensAt: s.OpensAt, Mode: s.Mode,
		Drawn: s.Mode != ModeLottery || t.State != StatePreQueue}
	switch t.State {
	case StatePreQueue:
		out.Status = string(StateWaiting)
		out.PollAfter = r.pollBeforeOpening(s.OpensAt.Sub(now))
		out.EstimatedWait = seconds(s.OpensAt.Sub(now))
		out.Message = "You are in the pre-queue. At the opening everyone in it gets a random place."
	case StateWaiting:
		out.EstimatedWait = r.estimate(s, now, t.Position)
		out.PollAfter = r.pollAfter(out.EstimatedWait)
		out.Message = "You are in the queue. Keep this page open; refreshing does not lose your place."
	case StateAdmitted:
		if t.Spent || !now.Before(t.ExpiresAt) {
			out.Status = string(StateExpired)
			out.Message = "This admission has been used or has expired."
			break
		}
		tok, err := r.keys.Issue(t, r.cfg.Audience)
		if err != nil {
			return Status{}, fmt.Errorf("issue admission token: %w", err)
		}
		out.Token, out.TokenExpires = tok, t.ExpiresAt
		out.Message = "It is your turn: book before your admission expires."
	case StateExpired:
		out.Message = "This ticket expired because it stopped checking in. Join again to get a new place at the back."
	}
	if soldOut && (t.State == StateWaiting || t.State == StatePreQueue) {
		out.Status = "sold_out"
		out.PollAfter = int(r.cfg.MaxPoll.Seconds())
		out.Message = "All appointments are taken for now. You keep your place: if cancellations free seats, " +
			"the queue moves again. You can ask to be told when appointments come back."
	}
	return out, nil
}

// estimate is the expected wait in seconds: the time to the opening plus
// the position at the configured rate.
func (r *Room) estimate(s Settings, now time.Time, position int) int {
	wait := float64(position) / s.RatePerS
	if now.Before(s.OpensAt) {
		wait += s.OpensAt.Sub(now).Seconds()
	}
	return int(math.Ceil(wait))
}

// pollAfter grows with the expected wait: about a twentieth of it, from 1 s
// near the front to MaxPoll far back, so a long queue does not poll hard.
func (r *Room) pollAfter(waitS int) int {
	return clampPoll(int(math.Ceil(float64(waitS)/20)), r.cfg.MaxPoll)
}

func (r *Room) pollBeforeOpening(until time.Duration) int {
	return clampPoll(int(until.Seconds()/2), r.cfg.MaxPoll)
}

func clampPoll(s int, maxPoll time.Duration) int {
	return min(max(s, 1), max(1, int(maxPoll.Seconds())))
}

func seconds(d time.Duration) int { return max(0, int(math.Ceil(d.Seconds()))) }

// Published returns the lottery draw once it has happened.
func (r *Room) Published(ctx context.Context) (Draw, bool, error) {
	_, st, _ := r.current()
	return st.Published(ctx)
}

// Notify records that a ticket's holder wants to hear when appointments
// come back. Only the ticket's hash is stored: no contact details.
func (r *Room) Notify(ctx context.Context, id string) error {
	s, st, _ := r.current()
	if _, err := st.Touch(ctx, id, r.clk.Now()); errors.Is(err, ErrNoTicket) {
		return apperr.NotFound("ticket")
	} else if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(id))
	err := r.db.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, r.q.Get("notify_insert"), hex.EncodeToString(sum[:]), s.Round, r.clk.Now().UnixMicro())
		return err
	})
	if store.IsUniqueViolation(err) {
		return nil // asked before: once is enough
	}
	if err != nil {
		return fmt.Errorf("record notify request: %w", err)
	}
	r.m.notifyAsked.Inc()
	return nil
}

// NotifyRequests counts the notify requests of the current round.
func (r *Room) NotifyRequests(ctx context.Context) (int, error) {
	s, _, _ := r.current()
	var n int
	err := r.db.Read.QueryRowContext(ctx, r.q.Get("notify_count"), s.Round).Scan(&n)
	return n, err
}

func (r *Room) currentStore() Store {
	_, st, _ := r.current()
	return st
}

// Now is the room's clock reading (pages show "last updated").
func (r *Room) Now() time.Time { return r.clk.Now() }
