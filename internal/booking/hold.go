package booking

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/ref"
	"github.com/vaxbook/vaxbook/internal/store"
)

// HoldRequest asks to keep a seat while the person confirms.
type HoldRequest struct {
	PersonID int64
	Actor    string
	SlotID   int64
}

// Hold takes a seat of the slot's online pool for HoldTTL. A person keeps
// one hold at a time; a new one releases the others.
func (s *Service) Hold(ctx context.Context, req HoldRequest) (Hold, error) {
	h, err := s.hold(ctx, req)
	s.refused(ctx, req.SlotID, err)
	return h, err
}

func (s *Service) hold(ctx context.Context, req HoldRequest) (Hold, error) {
	var h Hold
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		now := s.now()
		if err := s.releasePersonHolds(ctx, tx, req.PersonID, req.Actor, now); err != nil {
			return err
		}
		d, err := s.slotDetail(ctx, tx, req.SlotID)
		if err != nil {
			return err
		}
		if !d.Slot.Start.After(now) {
			return apperr.New("conflict", "that slot has already started")
		}
		if err := s.takeSeat(ctx, tx, d.Slot.ID, PoolOnline); err != nil {
			return err
		}
		h = Hold{ID: ref.New("h_", 16), SlotID: d.Slot.ID, PersonID: req.PersonID, Pool: PoolOnline,
			State: "active", ExpiresAt: now.Add(s.cfg.HoldTTL).Truncate(time.Microsecond)}
		if _, err := tx.ExecContext(ctx, s.q.Get("insert_hold"), h.ID, h.SlotID, h.PersonID, h.Pool,
			h.ExpiresAt.UnixMicro(), now.UnixMicro()); err != nil {
			return fmt.Errorf("insert hold: %w", err)
		}
		return s.audit(ctx, tx, audit.Record{At: now, Actor: req.Actor, Action: "hold.created",
			Subjects: []string{"hold:" + h.ID, slotSubject(h.SlotID)}})
	})
	return h, err
}

func (s *Service) releasePersonHolds(ctx context.Context, tx *store.Tx, personID int64, actor string, now time.Time) error {
	rows, err := tx.QueryContext(ctx, s.q.Get("release_person_holds"), personID)
	if err != nil {
		return fmt.Errorf("release holds: %w", err)
	}
	type released struct {
		id, pool string
		slot     int64
	}
	var list []released
	for rows.Next() {
		var r released
		if err := rows.Scan(&r.id, &r.slot, &r.pool); err != nil {
			rows.Close()
			return err
		}
		list = append(list, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	sort.Slice(list, func(i, j int) bool { return list[i].slot < list[j].slot })
	for _, r := range list {
		if err := s.returnSeats(ctx, tx, r.slot, r.pool, 1); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, audit.Record{At: now, Actor: actor, Action: "hold.released",
			Subjects: []string{"hold:" + r.id, slotSubject(r.slot)}}); err != nil {
			return err
		}
	}
	return nil
}

// ReleaseHold gives a held seat back. Releasing a hold that is no longer
// active changes nothing and is not an error.
func (s *Service) ReleaseHold(ctx context.Context, personID int64, actor, holdID string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		now := s.now()
		if err := s.ownHold(ctx, tx, personID, holdID); err != nil {
			return err
		}
		var slotID int64
		var pool string
		err := tx.QueryRowContext(ctx, s.q.Get("release_hold"), holdID, personID, now.UnixMicro()).Scan(&slotID, &pool)
		if store.IsNoRows(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("release hold: %w", err)
		}
		if err := s.returnSeats(ctx, tx, slotID, pool, 1); err != nil {
			return err
		}
		return s.audit(ctx, tx, audit.Record{At: now, Actor: actor, Action: "hold.released",
			Subjects: []string{"hold:" + holdID, slotSubject(slotID)}})
	})
}

// ExtendHold moves an active hold's expiry to now + HoldTTL.
func (s *Service) ExtendHold(ctx context.Context, personID int64, holdID string) (Hold, error) {
	var h Hold
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		now := s.now()
		if err := s.ownHold(ctx, tx, personID, holdID); err != nil {
			return err
		}
		expires := now.Add(s.cfg.HoldTTL).Truncate(time.Microsecond)
		err := tx.QueryRowContext(ctx, s.q.Get("extend_hold"), expires.UnixMicro(), holdID, personID,
			now.UnixMicro()).Scan(&h.SlotID)
		if store.IsNoRows(err) {
			return apperr.New("hold-expired", "the hold has ended; choose a time again")
		}
		if err != nil {
			return fmt.Errorf("extend hold: %w", err)
		}
		h.ID, h.PersonID, h.Pool, h.State, h.ExpiresAt = holdID, personID, PoolOnline, "active", expires
		return nil
	})
	return h, err
}

// GetHold returns a hold of the person.
func (s *Service) GetHold(ctx context.Context, personID int64, holdID string) (Hold, error) {
	var h Hold
	var expires int64
	err := s.db.Read.QueryRowContext(ctx, s.q.Get("hold"), holdID).Scan(&h.ID, &h.SlotID, &h.PersonID,
		&h.Pool, &h.State, &expires)
	if store.IsNoRows(err) || (err == nil && h.PersonID != personID) {
		return Hold{}, apperr.NotFound("hold")
	}
	if err != nil {
		return Hold{}, fmt.Errorf("read hold: %w", err)
	}
	h.ExpiresAt = micros(expires)
	if h.State == "active" && !h.ExpiresAt.After(s.now()) {
		h.State = "expired"
	}
	return h, nil
}

// ownHold answers not-found for a hold that does not exist or is someone
// else's: the two must look the same to a caller.
func (s *Service) ownHold(ctx context.Context, tx *store.Tx, personID int64, holdID string) error {
	var id, pool, state string
	var slotID, owner, expires int64
	err := tx.QueryRowContext(ctx, s.q.Get("hold"), holdID).Scan(&id, &slotID, &owner, &pool, &state, &expires)
	if store.IsNoRows(err) || (err == nil && owner != personID) {
		return apperr.NotFound("hold")
	}
	return err
}
