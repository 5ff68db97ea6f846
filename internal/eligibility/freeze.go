package eligibility

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/store"
)

// FreezeAll is the scope of a freeze over every region.
const FreezeAll = "all"

// Freeze pauses booking everywhere or in one region.
type Freeze struct {
	Scope  string `json:"scope"`
	Reason string `json:"reason"`
	Actor  string `json:"actor"`
	// Until is when the freeze is expected to end (zero when unknown); it
	// becomes the refusal's Retry-After.
	Until     time.Time `json:"until,omitzero"`
	CreatedAt time.Time `json:"created_at"`
}

// Freeze pauses booking in scope ("all" or a region code) with a reason.
// expected, when positive, is how long the freeze should last.
func (s *Service) Freeze(ctx context.Context, scope, reason string, expected time.Duration, actor string) (Freeze, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 500 {
		return Freeze{}, apperr.Invalid("reason", "give a reason of 1 to 500 characters")
	}
	now := s.cfg.Clock.Now()
	f := Freeze{Scope: scope, Reason: reason, Actor: actor, CreatedAt: now}
	var untilUS int64
	if expected > 0 {
		f.Until = now.Add(expected)
		untilUS = f.Until.UnixMicro()
	}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := s.checkScope(ctx, tx, scope); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q.Get("upsert_freeze"), scope, reason, actor, untilUS, now.UnixMicro()); err != nil {
			return fmt.Errorf("freeze: %w", err)
		}
		// The reason is the admin's own words about the service, not about a
		// person, so it may go in the audit record.
		return audit.Append(ctx, tx, audit.Record{At: now, Actor: actor, Action: "booking.frozen",
			Subjects: []string{"freeze:" + scope}, Details: map[string]any{"scope": scope, "reason": reason}})
	})
	if err != nil {
		return Freeze{}, err
	}
	s.cfg.Log.InfoContext(ctx, "booking frozen", slog.String("scope", scope))
	return f, nil
}

// Unfreeze lifts the freeze of scope; not-found when there is none.
func (s *Service) Unfreeze(ctx context.Context, scope, actor string) error {
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, s.q.Get("delete_freeze"), scope)
		if err != nil {
			return fmt.Errorf("unfreeze: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.NotFound("freeze of " + scope)
		}
		return audit.Append(ctx, tx, audit.Record{At: s.cfg.Clock.Now(), Actor: actor,
			Action: "booking.unfrozen", Subjects: []string{"freeze:" + scope},
			Details: map[string]any{"scope": scope}})
	})
	if err == nil {
		s.cfg.Log.InfoContext(ctx, "booking unfrozen", slog.String("scope", scope))
	}
	return err
}

// Freezes lists the freezes in force.
func (s *Service) Freezes(ctx context.Context) ([]Freeze, error) {
	rows, err := s.db.Read.QueryContext(ctx, s.q.Get("list_freezes"))
	if err != nil {
		return nil, fmt.Errorf("list freezes: %w", err)
	}
	defer rows.Close()
	out := []Freeze{}
	for rows.Next() {
		var f Freeze
		var until, created int64
		if err := rows.Scan(&f.Scope, &f.Reason, &f.Actor, &until, &created); err != nil {
			return nil, err
		}
		if until > 0 {
			f.Until = micros(until)
		}
		f.CreatedAt = micros(created)
		out = append(out, f)
	}
	return out, rows.Err()
}

func (s *Service) checkScope(ctx context.Context, tx *store.Tx, scope string) error {
	if scope == FreezeAll {
		return nil
	}
	var code string
	err := tx.QueryRowContext(ctx, s.q.Get("region_exists"), scope).Scan(&code)
	if store.IsNoRows(err) {
		return apperr.Invalid("scope", `"all" or a region code`)
	}
	if err != nil {
		return fmt.Errorf("read region: %w", err)
	}
	return nil
}
