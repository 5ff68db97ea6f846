package waitroom

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"time"

	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/store"
)

// Settings are what an admin sets while the room runs.
type Settings struct {
	// Round numbers the room's configurations: changing the mode or the
	// opening starts a new round with a fresh queue and lottery seed.
	Round       int64
	Mode        string
	OpensAt     time.Time
	RatePerS    float64
	TokenTTL    time.Duration
	PublicValue string
	UpdatedAt   time.Time
	seed        []byte
}

// Commitment is the published hash of the lottery seed.
func (s Settings) Commitment() string {
	if s.Mode != ModeLottery {
		return ""
	}
	return Commit(s.seed)
}

// On reports whether the room gates booking.
func (s Settings) On() bool { return s.Mode == ModeFIFO || s.Mode == ModeLottery }

// loadSettings reads the stored settings; ok is false when none are.
func (r *Room) loadSettings(ctx context.Context) (Settings, bool, error) {
	s, err := r.scanSettings(r.db.Read.QueryRowContext(ctx, r.q.Get("settings_get")))
	if store.IsNoRows(err) {
		return Settings{Mode: ModeOff}, false, nil
	}
	if err != nil {
		return Settings{}, false, fmt.Errorf("load waiting room settings: %w", err)
	}
	return s, true, nil
}

func (r *Room) scanSettings(row *sql.Row) (Settings, error) {
	var s Settings
	var opens, updated int64
	var ttl int
	var seed []byte
	if err := row.Scan(&s.Round, &s.Mode, &opens, &s.RatePerS, &ttl, &s.PublicValue, &seed, &updated); err != nil {
		return Settings{}, err
	}
	s.OpensAt, s.UpdatedAt, s.TokenTTL = time.UnixMicro(opens), time.UnixMicro(updated), time.Duration(ttl)*time.Second
	var err error
	s.seed, err = r.openSeed(seed)
	return s, err
}

func (r *Room) openSeed(raw []byte) ([]byte, error) {
	if r.seal == nil {
		return raw, nil
	}
	seed, err := r.seal.Open("waitroom lottery seed", raw)
	if err != nil {
		return nil, fmt.Errorf("open lottery seed: %w", err)
	}
	return seed, nil
}

// saveSettings stores next, starting a new round when the mode or the
// opening changed, and audits the change in the same transaction.
func (r *Room) saveSettings(ctx context.Context, next Settings, actor string) (Settings, error) {
	now := r.clk.Now()
	err := r.db.InTx(ctx, func(tx *store.Tx) error {
		cur, found, err := r.currentInTx(ctx, tx)
		if err != nil {
			return err
		}
		next.Round, next.seed = cur.Round, cur.seed
		if !found || cur.Mode != next.Mode || !cur.OpensAt.Equal(next.OpensAt) || cur.PublicValue != next.PublicValue {
			next.Round = cur.Round + 1
			next.seed = make([]byte, 32)
			_, _ = rand.Read(next.seed)
		}
		next.UpdatedAt = now
		if err := r.writeSettings(ctx, tx, next, found, actor); err != nil {
			return err
		}
		return audit.Append(ctx, tx, audit.Record{At: now, Actor: actor, Action: "waitroom.configured",
			Subjects: []string{fmt.Sprintf("waitroom:round:%d", next.Round)},
			Details: map[string]any{"mode": next.Mode, "opens_at": next.OpensAt.UTC().Format(time.RFC3339),
				"admission_rate_per_s": next.RatePerS, "token_ttl_s": int(next.TokenTTL.Seconds()),
				"seed_commitment": next.Commitment(), "public_value": next.PublicValue}})
	})
	if err != nil {
		return Settings{}, fmt.Errorf("save waiting room settings: %w", err)
	}
	return next, nil
}

func (r *Room) currentInTx(ctx context.Context, tx *store.Tx) (Settings, bool, error) {
	var round int64
	err := tx.QueryRowContext(ctx, r.q.Get("settings_lock")).Scan(&round)
	if err == sql.ErrNoRows {
		return Settings{}, false, nil
	}
	if err != nil {
		return Settings{}, false, err
	}
	cur, err := r.scanSettings(tx.QueryRowContext(ctx, r.q.Get("settings_get")))
	return cur, true, err
}

func (r *Room) writeSettings(ctx context.Context, tx *store.Tx, s Settings, exists bool, actor string) error {
	seed := s.seed
	if r.seal != nil {
		seed = r.seal.Seal("waitroom lottery seed", s.seed)
	}
	args := []any{s.Round, s.Mode, s.OpensAt.UnixMicro(), s.RatePerS, int(s.TokenTTL.Seconds()),
		s.PublicValue, seed, s.UpdatedAt.UnixMicro(), actor}
	name := "settings_update"
	if !exists {
		name = "settings_insert"
	}
	_, err := tx.ExecContext(ctx, r.q.Get(name), args...)
	return err
}
