package booking

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/eligibility/gate"
	"github.com/vaxbook/vaxbook/internal/store"
)

// ChangeRequest names an appointment and who asks to change it. PersonID is
// zero for staff, who may change any appointment their role allows.
type ChangeRequest struct {
	AppointmentID string
	PersonID      int64
	Actor         string
	// NewSlotID is the slot a reschedule moves to.
	NewSlotID int64
	// Dose2 says what a cancellation does with later doses of the series
	// that are booked: Dose2Ask (refuse and ask), Dose2Keep, Dose2Cancel.
	Dose2 string
	// Lang is the caller's language, for the reasons of a refusal.
	Lang string
}

// Cancel cancels a booked appointment and gives its seat back exactly once:
// only the transaction whose UPDATE flipped the status returns the seat.
// Cancelling an appointment that is already cancelled returns it unchanged.
func (s *Service) Cancel(ctx context.Context, req ChangeRequest) (Appointment, error) {
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		a, err := s.ownAppointment(ctx, tx, req)
		if err != nil {
			return err
		}
		if done, err := s.cancelSeries(ctx, tx, req, a); done || err != nil {
			return err
		}
		now := s.now()
		var slotID, personID int64
		var pool string
		var dose int
		err = tx.QueryRowContext(ctx, s.q.Get("cancel_appointment"), now.UnixMicro(), req.AppointmentID).Scan(
			&slotID, &pool, &personID, &dose)
		if store.IsNoRows(err) {
			return nil // already cancelled, completed or missed: nothing to give back
		}
		if err != nil {
			return fmt.Errorf("cancel appointment: %w", err)
		}
		if err := s.returnSeats(ctx, tx, slotID, pool, 1); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, audit.Record{At: now, Actor: req.Actor, Action: "appointment.cancelled",
			Subjects: []string{"appointment:" + req.AppointmentID, slotSubject(slotID)},
			Details:  map[string]any{"dose": dose, "pool": pool}}); err != nil {
			return err
		}
		return s.notify(ctx, tx, Event{Kind: EventCancelled, AppointmentID: req.AppointmentID,
			PersonID: personID, SlotID: slotID, At: now})
	})
	if err != nil {
		return Appointment{}, err
	}
	return s.Appointment(ctx, req.AppointmentID)
}

// Reschedule moves a booked appointment to another slot: the new seat is
// taken and the old one returned in one commit, or nothing changes. The
// rules are checked again for the new slot.
func (s *Service) Reschedule(ctx context.Context, req ChangeRequest) (Detail, error) {
	var d Detail
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		d, err = s.rescheduleTx(ctx, tx, req)
		return err
	})
	s.refused(ctx, req.NewSlotID, err)
	return d, err
}

func (s *Service) rescheduleTx(ctx context.Context, tx *store.Tx, req ChangeRequest) (Detail, error) {
	if _, err := s.ownAppointment(ctx, tx, req); err != nil {
		return Detail{}, err
	}
	now := s.now()
	var a Appointment
	err := tx.QueryRowContext(ctx, s.q.Get("lock_appointment"), now.UnixMicro(), req.AppointmentID).Scan(
		&a.PersonID, &a.SlotID, &a.Pool, &a.Dose, &a.VaccineCode, &a.DecisionRef)
	if store.IsNoRows(err) {
		return Detail{}, apperr.New("conflict", "only a booked appointment can be rescheduled")
	}
	if err != nil {
		return Detail{}, fmt.Errorf("lock appointment: %w", err)
	}
	if req.NewSlotID == a.SlotID {
		return Detail{}, apperr.Invalid("slot_id", "the appointment is already in that slot")
	}
	d, err := s.slotDetail(ctx, tx, req.NewSlotID)
	if err != nil {
		return Detail{}, err
	}
	if err := checkMove(d, a, now); err != nil {
		return Detail{}, err
	}
	ruleVersion, err := s.cfg.gateOrClosed().Admit(ctx, tx, gate.Check{PersonID: a.PersonID, DecisionRef: a.DecisionRef,
		Region: d.Site.Region, VaccineCode: d.Slot.VaccineCode, Dose: a.Dose, SlotStart: d.Slot.Start, Now: now,
		Lang: req.Lang})
	if err != nil {
		return Detail{}, err
	}
	if err := s.checkDoseInterval(ctx, tx, a.PersonID, d, a.Dose); err != nil {
		return Detail{}, err
	}
	if err := s.swapSeats(ctx, tx, a.SlotID, d.Slot.ID, a.Pool); err != nil {
		return Detail{}, err
	}
	if _, err := tx.ExecContext(ctx, s.q.Get("move_appointment"), d.Slot.ID, d.Slot.VaccineCode, ruleVersion,
		now.UnixMicro(), req.AppointmentID); err != nil {
		return Detail{}, fmt.Errorf("move appointment: %w", err)
	}
	if err := s.audit(ctx, tx, audit.Record{At: now, Actor: req.Actor, Action: "appointment.rescheduled",
		Subjects:    []string{"appointment:" + req.AppointmentID, slotSubject(a.SlotID), slotSubject(d.Slot.ID)},
		RuleVersion: ruleVersion}); err != nil {
		return Detail{}, err
	}
	if err := s.notify(ctx, tx, Event{Kind: EventRescheduled, AppointmentID: req.AppointmentID, PersonID: a.PersonID,
		SlotID: d.Slot.ID, PreviousSlot: a.SlotID, SlotStart: d.Slot.Start, At: now}); err != nil {
		return Detail{}, err
	}
	d.Appointment, err = s.appointmentTx(ctx, tx, req.AppointmentID)
	return d, err
}

func checkMove(d Detail, a Appointment, now time.Time) error {
	if d.Slot.Dose != a.Dose {
		return apperr.Invalid("slot_id", fmt.Sprintf("the new slot is for dose %d, the appointment for dose %d", d.Slot.Dose, a.Dose))
	}
	if !d.Slot.Start.After(now) {
		return apperr.New("conflict", "that slot has already started")
	}
	return nil
}

// swapSeats takes a seat in the new slot and returns the old one, touching
// the two slot rows in ascending id order like every other transaction.
func (s *Service) swapSeats(ctx context.Context, tx *store.Tx, oldSlot, newSlot int64, pool string) error {
	steps := []struct {
		id   int64
		take bool
	}{{oldSlot, false}, {newSlot, true}}
	sort.Slice(steps, func(i, j int) bool { return steps[i].id < steps[j].id })
	for _, st := range steps {
		var err error
		if st.take {
			err = s.takeSeat(ctx, tx, st.id, pool)
		} else {
			err = s.returnSeats(ctx, tx, st.id, pool, 1)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// ownAppointment reads the appointment and checks the caller may change
// it: staff (PersonID 0) always, a person only their own. Someone else's
// appointment looks like a missing one.
func (s *Service) ownAppointment(ctx context.Context, tx *store.Tx, req ChangeRequest) (Appointment, error) {
	a, err := s.appointmentTx(ctx, tx, req.AppointmentID)
	if err != nil {
		return Appointment{}, err
	}
	if req.PersonID != 0 && a.PersonID != req.PersonID {
		return Appointment{}, apperr.NotFound("appointment")
	}
	return a, nil
}

// gateOrClosed returns the gate, or one that refuses everything.
func (c Config) gateOrClosed() Gate {
	if c.Gate == nil {
		return closedGate{}
	}
	return c.Gate
}

type closedGate struct{}

func (closedGate) Admit(context.Context, *store.Tx, gate.Check) (string, error) {
	return "", apperr.New("unavailable", "eligibility cannot be checked; nothing was changed")
}
