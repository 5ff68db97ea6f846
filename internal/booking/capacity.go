package booking

import (
	"context"
	"fmt"
	"sort"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/store"
)

// Move names an appointment and the slot it moves to.
type Move struct {
	AppointmentID string `json:"appointment_id"`
	SlotID        int64  `json:"slot_id"`
}

// CapacityChange sets a slot's online capacity. It never goes below the
// seats booked and held unless Moves take enough appointments elsewhere.
type CapacityChange struct {
	SlotID   int64
	Capacity int
	Moves    []Move
	// SiteID is the asking clinic's site (0 for an admin).
	SiteID int64
	Actor  string
}

// ChangeCapacity moves the named appointments (each through the guarded
// seat code) and sets the capacity, all in one transaction: if the new
// capacity is still below what is booked and held, nothing changes. The
// people moved are told through the listeners (EventMoved).
func (s *Service) ChangeCapacity(ctx context.Context, c CapacityChange) (Slot, error) {
	if c.Capacity < 0 || c.Capacity > 100000 {
		return Slot{}, apperr.Invalid("capacity", "between 0 and 100000")
	}
	err := s.db.InTx(ctx, func(tx *store.Tx) error { return s.changeCapacityTx(ctx, tx, c) })
	if err != nil {
		return Slot{}, err
	}
	d, err := s.SlotDetail(ctx, c.SlotID)
	return d.Slot, err
}

type plannedMove struct {
	Move
	a  Appointment
	to Detail
}

func (s *Service) changeCapacityTx(ctx context.Context, tx *store.Tx, c CapacityChange) error {
	src, err := s.slotDetail(ctx, tx, c.SlotID)
	if err != nil {
		return err
	}
	if c.SiteID != 0 && src.Slot.SiteID != c.SiteID {
		return apperr.New("forbidden", "this slot is at another site")
	}
	moves, err := s.lockMoves(ctx, tx, c)
	if err != nil {
		return err
	}
	now := s.now()
	if _, err := s.expireSlotHolds(ctx, tx, c.SlotID, now); err != nil {
		return err
	}
	if err := s.applySlotSteps(ctx, tx, c, moves); err != nil {
		return err
	}
	for _, m := range moves {
		if _, err := tx.ExecContext(ctx, s.cq().Get("move_appointment_slot"), m.SlotID, now.UnixMicro(),
			m.AppointmentID); err != nil {
			return fmt.Errorf("move appointment: %w", err)
		}
		if err := s.audit(ctx, tx, audit.Record{At: now, Actor: c.Actor, Action: "appointment.moved",
			Subjects: []string{"appointment:" + m.AppointmentID, slotSubject(c.SlotID), slotSubject(m.SlotID)},
			Details:  map[string]any{"reason": "capacity"}}); err != nil {
			return err
		}
		if err := s.notify(ctx, tx, Event{Kind: EventMoved, AppointmentID: m.AppointmentID, PersonID: m.a.PersonID,
			SlotID: m.SlotID, PreviousSlot: c.SlotID, SlotStart: m.to.Slot.Start, At: now}); err != nil {
			return err
		}
	}
	return s.audit(ctx, tx, audit.Record{At: now, Actor: c.Actor, Action: "slot.capacity_changed",
		Subjects: []string{slotSubject(c.SlotID)},
		Details:  map[string]any{"from": src.Slot.Capacity, "to": c.Capacity, "moved": len(moves)}})
}

// lockMoves locks the moved appointments (appointment rows come before
// slot rows in the lock order) and checks each target slot fits.
func (s *Service) lockMoves(ctx context.Context, tx *store.Tx, c CapacityChange) ([]plannedMove, error) {
	moves := make([]plannedMove, 0, len(c.Moves))
	seen := map[string]bool{}
	for _, m := range c.Moves {
		if seen[m.AppointmentID] {
			return nil, apperr.Invalid("moves", "an appointment is named twice")
		}
		seen[m.AppointmentID] = true
		moves = append(moves, plannedMove{Move: m})
	}
	sort.Slice(moves, func(i, j int) bool { return moves[i].AppointmentID < moves[j].AppointmentID })
	now := s.now()
	for i := range moves {
		m := &moves[i]
		err := tx.QueryRowContext(ctx, s.q.Get("lock_appointment"), now.UnixMicro(), m.AppointmentID).Scan(
			&m.a.PersonID, &m.a.SlotID, &m.a.Pool, &m.a.Dose, &m.a.VaccineCode, &m.a.DecisionRef)
		if store.IsNoRows(err) || (err == nil && m.a.SlotID != c.SlotID) {
			return nil, apperr.Invalid("moves", "appointment "+m.AppointmentID+" is not booked in this slot")
		}
		if err != nil {
			return nil, fmt.Errorf("lock appointment: %w", err)
		}
		if m.to, err = s.slotDetail(ctx, tx, m.SlotID); err != nil {
			return nil, apperr.Invalid("moves", fmt.Sprintf("slot %d does not exist", m.SlotID))
		}
		if m.SlotID == c.SlotID || m.to.Slot.VaccineCode != m.a.VaccineCode {
			return nil, apperr.Invalid("moves", fmt.Sprintf("slot %d is not another slot of the same product", m.SlotID))
		}
		if err := checkMove(m.to, m.a, now); err != nil {
			return nil, err
		}
		if err := s.checkDoseInterval(ctx, tx, m.a.PersonID, m.to, m.a.Dose); err != nil {
			return nil, err
		}
	}
	return moves, nil
}

// applySlotSteps touches every slot row in ascending id: the changed slot
// gets its moved seats back and its new capacity, each target gives one
// seat per appointment moved to it.
func (s *Service) applySlotSteps(ctx context.Context, tx *store.Tx, c CapacityChange, moves []plannedMove) error {
	type seats struct{ online, walkin int }
	steps := map[int64]*seats{c.SlotID: {}}
	back := map[string]int{}
	for _, m := range moves {
		back[m.a.Pool]++
		if steps[m.SlotID] == nil {
			steps[m.SlotID] = &seats{}
		}
		if m.a.Pool == PoolWalkIn {
			steps[m.SlotID].walkin++
		} else {
			steps[m.SlotID].online++
		}
	}
	ids := make([]int64, 0, len(steps))
	for id := range steps {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		if id == c.SlotID {
			if err := s.setCapacity(ctx, tx, c, back); err != nil {
				return err
			}
			continue
		}
		for pool, n := range map[string]int{PoolOnline: steps[id].online, PoolWalkIn: steps[id].walkin} {
			for i := 0; i < n; i++ {
				if err := s.takeSeat(ctx, tx, id, pool); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (s *Service) setCapacity(ctx context.Context, tx *store.Tx, c CapacityChange, back map[string]int) error {
	for _, pool := range []string{PoolOnline, PoolWalkIn} {
		if err := s.returnSeats(ctx, tx, c.SlotID, pool, back[pool]); err != nil {
			return err
		}
	}
	var capacity, remaining int
	err := tx.QueryRowContext(ctx, s.cq().Get("set_capacity"), c.Capacity, c.Capacity, s.now().UnixMicro(),
		c.SlotID, c.Capacity).Scan(&capacity, &remaining)
	if store.IsNoRows(err) {
		return apperr.New("conflict", "the new capacity is below the seats booked and held; name appointments to move").
			With("capacity", c.Capacity)
	}
	if err != nil {
		return fmt.Errorf("set capacity: %w", err)
	}
	return nil
}
