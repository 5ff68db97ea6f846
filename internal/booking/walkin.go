package booking

import (
	"context"
	"fmt"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/store"
)

// ReleaseWalkIns moves a slot's unused walk-in seats to its online pool, in
// one guarded statement, and returns the slot and how many seats moved.
// siteID is the asking clinic's site (0 for an admin).
func (s *Service) ReleaseWalkIns(ctx context.Context, siteID, slotID int64, actor string) (Slot, int, error) {
	moved := 0
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var site int64
		err := tx.QueryRowContext(ctx, s.cq().Get("lock_slot"), slotID).Scan(&site, &moved)
		if store.IsNoRows(err) {
			return apperr.NotFound("slot")
		}
		if err != nil {
			return fmt.Errorf("lock slot: %w", err)
		}
		if siteID != 0 && site != siteID {
			return apperr.New("forbidden", "this slot is at another site")
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, s.cq().Get("release_walkins"), now.UnixMicro(), slotID); err != nil {
			return fmt.Errorf("release walk-in seats: %w", err)
		}
		return s.audit(ctx, tx, audit.Record{At: now, Actor: actor, Action: "slot.walkins_released",
			Subjects: []string{slotSubject(slotID)}, Details: map[string]any{"seats": moved}})
	})
	if err != nil {
		return Slot{}, 0, err
	}
	d, err := s.SlotDetail(ctx, slotID)
	return d.Slot, moved, err
}
