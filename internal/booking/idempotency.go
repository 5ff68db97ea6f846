package booking

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/store"
)

// Idempotency makes a request safe to repeat (the IETF Idempotency-Key
// draft): the key is scoped to the caller and route, the response is stored
// in the same transaction as the change, a repeat with the same body
// replays it, a repeat with another body is refused, and a failure the
// client did not cause (5xx) is not remembered, so a retry can succeed.
type Idempotency struct {
	Scope       string // caller and route, e.g. "person:P...|POST /v1/appointments"
	Key         string
	RequestHash []byte
	// Render turns the outcome into the response to store and send: the
	// committed result when err is nil, or the refusal.
	Render func(result any, err error) Replay
}

// Replay is a stored (or just stored) response.
type Replay struct {
	Status   int
	Body     []byte
	Location string
	// Replayed is true when the response was stored by an earlier request.
	Replayed bool
}

var errKeyTaken = errors.New("idempotency key committed by a concurrent request")

func (s *Service) idempotent(ctx context.Context, idem *Idempotency, fn func(tx *store.Tx) (any, error)) (*Replay, error) {
	release, r, err := s.beginIdempotent(ctx, idem)
	if r != nil || err != nil {
		return r, err
	}
	defer release()
	var stored *Replay
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		stored, err = s.runIdempotent(ctx, tx, idem, fn)
		return err
	})
	return s.finishIdempotent(ctx, idem, stored, err)
}

// beginIdempotent marks the key in flight on this node. release must be
// called when the request is done.
func (s *Service) beginIdempotent(ctx context.Context, idem *Idempotency) (release func(), r *Replay, err error) {
	id := idem.Scope + "\x00" + idem.Key
	if _, busy := s.inflight.LoadOrStore(id, struct{}{}); busy {
		return nil, nil, apperr.New("idempotency-in-flight", "a request with this Idempotency-Key is still being processed; retry shortly").
			With("retry_after_s", 1)
	}
	// A key used before is found when the transaction claims it
	// (errKeyTaken), and its stored response is replayed then.
	return func() { s.inflight.Delete(id) }, nil, nil
}

// runIdempotent claims the key, runs fn and stores its response, all in tx.
func (s *Service) runIdempotent(ctx context.Context, tx *store.Tx, idem *Idempotency, fn func(tx *store.Tx) (any, error)) (*Replay, error) {
	if err := s.claimKey(ctx, tx, idem); err != nil {
		return nil, err
	}
	result, err := fn(tx)
	if err != nil {
		return nil, err
	}
	stored := idem.Render(result, nil)
	_, err = tx.ExecContext(ctx, s.q.Get("complete_idempotency"), stored.Status, stored.Body,
		stored.Location, idem.Scope, idem.Key)
	return &stored, err
}

// finishIdempotent turns the transaction's outcome into the caller's: a
// key another node committed first is replayed, a refusal is remembered.
func (s *Service) finishIdempotent(ctx context.Context, idem *Idempotency, stored *Replay, err error) (*Replay, error) {
	switch {
	case errors.Is(err, errKeyTaken):
		r, err := s.storedResponse(ctx, s.db.Write, idem)
		if r == nil && err == nil {
			err = apperr.New("idempotency-in-flight", "a request with this Idempotency-Key is still being processed")
		}
		return r, err
	case err != nil:
		return s.rememberRefusal(ctx, idem, err)
	}
	return stored, nil
}

// claimKey inserts the key's row first, so that a concurrent duplicate on
// another node waits on it (PostgreSQL) or finds it (SQLite) rather than
// taking a second seat.
func (s *Service) claimKey(ctx context.Context, tx *store.Tx, idem *Idempotency) error {
	now := s.now()
	for attempt := 0; attempt < 2; attempt++ {
		res, err := tx.ExecContext(ctx, s.q.Get("insert_idempotency"), idem.Scope, idem.Key, idem.RequestHash,
			[]byte{}, now.UnixMicro(), now.Add(s.cfg.IdempotencyTTL).UnixMicro())
		if err != nil {
			return fmt.Errorf("claim idempotency key: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		// The key exists. Past its lifetime it is dropped and claimed anew;
		// otherwise another request has it.
		var expires int64
		err = tx.QueryRowContext(ctx, s.q.Get("idempotency_expiry"), idem.Scope, idem.Key).Scan(&expires)
		if err != nil && !store.IsNoRows(err) {
			return fmt.Errorf("read idempotency key: %w", err)
		}
		if err == nil && expires >= now.UnixMicro() {
			return errKeyTaken
		}
		if _, err := tx.ExecContext(ctx, s.q.Get("delete_expired_idempotency_key"), idem.Scope, idem.Key,
			now.UnixMicro()); err != nil {
			return fmt.Errorf("drop expired key: %w", err)
		}
	}
	return errKeyTaken
}

// StoredResponse returns the response stored for the key, a reuse error
// when the key was used with another body, or nil when the key is new. A
// caller checks it before anything that can refuse a repeat which the first
// attempt made pointless (an admission token the first attempt spent).
func (s *Service) StoredResponse(ctx context.Context, idem *Idempotency) (*Replay, error) {
	return s.storedResponse(ctx, s.db.Read, idem)
}

// storedResponse returns the stored response for the key, a reuse error
// when the body differs, or nil when the key is new (or expired).
func (s *Service) storedResponse(ctx context.Context, q querier, idem *Idempotency) (*Replay, error) {
	var hash, body []byte
	var r Replay
	var expires int64
	err := q.QueryRowContext(ctx, s.q.Get("idempotency"), idem.Scope, idem.Key).Scan(&hash, &r.Status, &body, &r.Location, &expires)
	if store.IsNoRows(err) || (err == nil && expires < s.now().UnixMicro()) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read idempotency key: %w", err)
	}
	if !bytes.Equal(hash, idem.RequestHash) {
		return nil, apperr.New("idempotency-key-reuse", "this Idempotency-Key was used with a different request; use a new key")
	}
	if r.Status == 0 {
		return nil, apperr.New("idempotency-in-flight", "a request with this Idempotency-Key is still being processed")
	}
	r.Body, r.Replayed = body, true
	return &r, nil
}

// rememberRefusal stores a refusal the client caused (4xx), so a retry
// replays it; a server-side failure is returned unremembered.
func (s *Service) rememberRefusal(ctx context.Context, idem *Idempotency, cause error) (*Replay, error) {
	var e *apperr.Error
	if !errors.As(cause, &e) {
		return nil, cause
	}
	r := idem.Render(nil, cause)
	if r.Status >= 500 || r.Status == 0 {
		return nil, cause
	}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := s.claimKey(ctx, tx, idem); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q.Get("complete_idempotency"), r.Status, r.Body, r.Location, idem.Scope, idem.Key)
		return err
	})
	if err != nil && !errors.Is(err, errKeyTaken) {
		s.log.WarnContext(ctx, "refusal not remembered", "error", err.Error())
	}
	return &r, cause
}

// ExpireIdempotencyKeys deletes keys past their published lifetime.
func (s *Service) ExpireIdempotencyKeys(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, s.q.Get("delete_expired_idempotency"), s.now().UnixMicro())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
