package waitroom

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/store"
)

// Run admits at the configured pace until ctx ends. Every node runs it;
// with a shared store the bucket is shared, so the rate is global.
func (r *Room) Run(ctx context.Context) error {
	t := time.NewTicker(r.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := r.Tick(ctx); err != nil && ctx.Err() == nil {
				r.log.WarnContext(ctx, "waiting room tick failed", slog.String("error", err.Error()))
			}
		}
	}
}

// Tick does one round of the room's work: pick up changed settings and
// keys, draw the lottery when it is due, expire quiet tickets, and admit
// as many as the bucket and the stock allow.
func (r *Room) Tick(ctx context.Context) error {
	now := r.clk.Now()
	if err := r.housekeeping(ctx, now); err != nil {
		return err
	}
	s, st, _ := r.current()
	if !s.On() || now.Before(s.OpensAt) {
		return nil
	}
	if s.Mode == ModeLottery {
		if _, err := r.draw(ctx, s, st); errors.Is(err, ErrDrawBusy) {
			return nil
		} else if err != nil {
			return err
		}
	}
	maxAdmit, err := r.allowance(ctx, st, now)
	if err != nil {
		return err
	}
	admitted, err := st.Admit(ctx, AdmitParams{Now: now, Rate: s.RatePerS, Burst: r.cfg.burst(s.RatePerS),
		Max: maxAdmit, TTL: s.TokenTTL})
	if err != nil {
		return err
	}
	for _, a := range admitted {
		r.m.waited.Observe(now.Sub(a.JoinedAt).Seconds())
	}
	r.m.admissions.Add(float64(len(admitted)))
	return nil
}

// housekeeping reloads settings and keys about once a second, rotates the
// signing key when due and expires quiet tickets every few seconds.
func (r *Room) housekeeping(ctx context.Context, now time.Time) error {
	r.mu.RLock()
	loaded, expired := r.loadedAt, r.expiredAt
	r.mu.RUnlock()
	if now.Sub(loaded) >= time.Second {
		if err := r.reload(ctx); err != nil {
			return err
		}
		if err := r.keys.Refresh(ctx); err != nil {
			return err
		}
		if _, created := r.keys.Current(); now.Sub(created) >= r.cfg.RotateEvery {
			if err := r.keys.Rotate(ctx); err != nil {
				return err
			}
		}
	}
	if now.Sub(expired) < 5*time.Second {
		return nil
	}
	_, st, _ := r.current()
	n, err := st.Expire(ctx, now.Add(-r.cfg.Grace), now)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.expiredAt = now
	r.mu.Unlock()
	if n > 0 {
		r.log.DebugContext(ctx, "waiting room tickets expired", slog.Int("count", n))
	}
	return nil
}

// allowance is how many more may be admitted: the seats that remain minus
// the admissions still outstanding, or -1 when no stock is followed. It
// also sets the sold-out flag the waiting tickets see.
func (r *Room) allowance(ctx context.Context, st Store, now time.Time) (int, error) {
	c, err := st.Counts(ctx, now)
	if err != nil {
		return 0, err
	}
	r.m.depth.WithLabelValues("pre-queue").Set(float64(c.PreQueue))
	r.m.depth.WithLabelValues("waiting").Set(float64(c.Waiting))
	r.m.depth.WithLabelValues("outstanding").Set(float64(c.Outstanding))
	if r.stock == nil {
		r.m.stock.Set(-1)
		return -1, nil
	}
	remaining, err := r.stock.RemainingSeats(ctx)
	if err != nil {
		// Fail closed: without a count, admit nobody this round.
		return 0, fmt.Errorf("read remaining seats: %w", err)
	}
	r.m.stock.Set(float64(remaining))
	r.mu.Lock()
	was := r.soldOut
	r.soldOut = remaining <= 0
	r.mu.Unlock()
	if was != (remaining <= 0) {
		r.log.InfoContext(ctx, "waiting room stock changed", slog.Bool("sold_out", remaining <= 0),
			slog.Int("waiting", c.Waiting))
	}
	return max(0, remaining-c.Outstanding), nil
}

// draw runs the lottery (once per round, on whichever node gets there
// first) and audits its published values.
func (r *Room) draw(ctx context.Context, s Settings, st Store) (Draw, error) {
	return st.Draw(ctx, func(pre []string) (Draw, []string, error) {
		now := r.clk.Now()
		d := newDraw(s.seed, s.PublicValue, s.OpensAt, now, pre)
		err := r.db.InTx(ctx, func(tx *store.Tx) error {
			return audit.Append(ctx, tx, audit.Record{At: now, Actor: audit.System, Action: "waitroom.drawn",
				Subjects: []string{fmt.Sprintf("waitroom:round:%d", s.Round)},
				Details: map[string]any{"seed_commitment": d.Commitment, "seed": d.Seed, "list_root": d.ListRoot,
					"public_value": d.PublicValue, "tickets": len(pre)}})
		})
		if err != nil {
			return Draw{}, nil, fmt.Errorf("audit draw: %w", err)
		}
		r.log.InfoContext(ctx, "waiting room lottery drawn", slog.Int("tickets", len(pre)), slog.Int64("round", s.Round))
		return d, Order(s.seed, s.PublicValue, pre), nil
	})
}

// Check is what booking asks before a hold or a booking: nil when the
// room is off; otherwise the token must verify, and its first use binds
// it to personRef. A refusal is apperr "admission-required" with
// queue_url and the reason.
func (r *Room) Check(ctx context.Context, token, personRef string) error {
	s, st, _ := r.current()
	if !s.On() {
		return nil
	}
	c, reason := r.keys.Verify(ctx, token, r.cfg.Audience, r.cfg.Skew)
	if reason != "" {
		return r.refuse(reason)
	}
	bound, spent, err := st.Bind(ctx, c.Ticket, personRef, r.clk.Now(), c.ExpiresAt.Time)
	if err != nil {
		return err
	}
	switch {
	case spent:
		return r.refuse(ReasonAlreadyUsed)
	case bound != personRef:
		return r.refuse(ReasonOtherPerson)
	}
	return nil
}

var reasonDetail = map[string]string{
	ReasonMissing:       "send the Admission-Token you got from the waiting room",
	ReasonMalformed:     "the admission token could not be read",
	ReasonExpired:       "the admission token has expired; join the queue again",
	ReasonBadSignature:  "the admission token is not one we signed",
	ReasonUnknownKey:    "the admission token was signed with a key we no longer accept",
	ReasonNotYetValid:   "the admission token is not valid yet",
	ReasonWrongAudience: "the admission token is not for booking",
	ReasonOtherPerson:   "the admission token was already used by another person",
	ReasonAlreadyUsed:   "the admission token was already used for a booking",
}

func (r *Room) refuse(reason string) error {
	r.m.failures.WithLabelValues(reason).Inc()
	return apperr.New("admission-required", "%s", reasonDetail[reason]).
		With("queue_url", r.cfg.QueueURL).With("reason", reason)
}

// Spend marks a token used once its booking committed, so that it can
// never book again. It is a no-op when the room is off.
func (r *Room) Spend(ctx context.Context, token string) error {
	s, st, _ := r.current()
	if !s.On() || token == "" {
		return nil
	}
	c, ok := r.keys.claimsOf(ctx, token)
	if !ok {
		return errors.New("spend admission token: not a token we signed")
	}
	now := r.clk.Now()
	first, err := st.Spend(ctx, c.Ticket, now, c.ExpiresAt.Time)
	if err != nil {
		return err
	}
	if first && c.IssuedAt != nil {
		r.m.toBooking.Observe(now.Sub(c.IssuedAt.Time).Seconds())
	}
	return nil
}
