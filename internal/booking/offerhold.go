package booking

import (
	"context"
	"fmt"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/ref"
	"github.com/vaxbook/vaxbook/internal/store"
)

// HoldInTx takes a seat of the slot's online pool for personID until
// expires, inside the caller's transaction, so that a waitlist offer and
// the hold that keeps its seat commit together. Unlike Hold it leaves the
// person's other holds alone. It fails with slot-full when no seat is
// left, and with conflict when the slot has started.
func (s *Service) HoldInTx(ctx context.Context, tx *store.Tx, personID, slotID int64, expires time.Time, actor string) (Hold, error) {
	now := s.now()
	d, err := s.slotDetail(ctx, tx, slotID)
	if err != nil {
		return Hold{}, err
	}
	if !d.Slot.Start.After(expires) {
		return Hold{}, apperr.New("conflict", "that slot starts before the hold would end")
	}
	if err := s.takeSeat(ctx, tx, slotID, PoolOnline); err != nil {
		return Hold{}, err
	}
	h := Hold{ID: ref.New("h_", 16), SlotID: slotID, PersonID: personID, Pool: PoolOnline, State: "active",
		ExpiresAt: expires.Truncate(time.Microsecond)}
	if _, err := tx.ExecContext(ctx, s.q.Get("insert_hold"), h.ID, h.SlotID, h.PersonID, h.Pool,
		h.ExpiresAt.UnixMicro(), now.UnixMicro()); err != nil {
		return Hold{}, fmt.Errorf("insert hold: %w", err)
	}
	return h, s.audit(ctx, tx, audit.Record{At: now, Actor: actor, Action: "hold.created",
		Subjects: []string{"hold:" + h.ID, slotSubject(slotID)}, Details: map[string]any{"for": "offer"}})
}

// ReleaseHoldInTx gives an active hold's seat back inside the caller's
// transaction and reports whether it did; a hold that is no longer active
// (used, released or expired) is left alone.
func (s *Service) ReleaseHoldInTx(ctx context.Context, tx *store.Tx, holdID, actor string) (bool, error) {
	var slotID int64
	var pool string
	err := tx.QueryRowContext(ctx, s.cq().Get("release_hold_by_id"), holdID).Scan(&slotID, &pool)
	if store.IsNoRows(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("release hold: %w", err)
	}
	if err := s.returnSeats(ctx, tx, slotID, pool, 1); err != nil {
		return false, err
	}
	return true, s.audit(ctx, tx, audit.Record{At: s.now(), Actor: actor, Action: "hold.released",
		Subjects: []string{"hold:" + holdID, slotSubject(slotID)}})
}

// SlotDetailInTx reads a slot with its site and product inside tx.
func (s *Service) SlotDetailInTx(ctx context.Context, tx *store.Tx, slotID int64) (Detail, error) {
	return s.slotDetail(ctx, tx, slotID)
}

// Origin is how an appointment came to be booked.
type Origin struct {
	// BookedBy is the audit actor that booked it (person:REF or staff:ID).
	BookedBy string
	// PersonRef is the reference of the person it is for.
	PersonRef string
	// HoldID is the hold it was booked with, if any.
	HoldID string
}

// OriginInTx reads how an appointment was booked, inside tx (listeners
// use it during the booking transaction).
func (s *Service) OriginInTx(ctx context.Context, tx *store.Tx, appointmentID string) (Origin, error) {
	var o Origin
	err := tx.QueryRowContext(ctx, s.cq().Get("appointment_origin"), appointmentID).Scan(&o.BookedBy, &o.PersonRef, &o.HoldID)
	if store.IsNoRows(err) {
		return o, apperr.NotFound("appointment")
	}
	if err != nil {
		return o, fmt.Errorf("read appointment origin: %w", err)
	}
	return o, nil
}
