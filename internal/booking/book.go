package booking

import (
	"context"
	"fmt"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/eligibility/gate"
	"github.com/vaxbook/vaxbook/internal/ref"
	"github.com/vaxbook/vaxbook/internal/store"
)

// BookRequest asks for an appointment: a held seat (HoldID) or a seat taken
// now (SlotID).
type BookRequest struct {
	PersonID    int64
	PersonRef   string
	Actor       string // audit actor: person:REF or staff:ID
	SlotID      int64
	HoldID      string
	DecisionRef string
	Dose        int    // 0 means the slot's dose
	Pool        string // "" is the online pool; the walk-in pool is for staff paths only
	Lang        string // the caller's language, for the reasons of a refusal
	Idempotency *Idempotency
}

// Book runs the booking transaction: it re-checks the rules and freezes,
// takes the seat through the one guarded UPDATE, inserts the appointment
// (one active per person and dose, by unique index), writes the audit
// record, lets listeners enqueue their messages and stores the idempotent
// response, all in one commit. A replayed request returns the stored
// response instead (Replay not nil).
func (s *Service) Book(ctx context.Context, req BookRequest) (Detail, *Replay, error) {
	d, r, err := s.book(ctx, req)
	s.refused(ctx, req.SlotID, err)
	return d, r, err
}

func (s *Service) book(ctx context.Context, req BookRequest) (Detail, *Replay, error) {
	if !s.cfg.NoBatch && req.HoldID == "" && req.SlotID != 0 {
		return s.bookBatched(ctx, req)
	}
	if req.Idempotency == nil {
		d, err := s.bookOnce(ctx, req)
		return d, nil, err
	}
	var d Detail
	replay, err := s.idempotent(ctx, req.Idempotency, func(tx *store.Tx) (any, error) {
		var err error
		d, err = s.bookTx(ctx, tx, req, nil)
		return d, err
	})
	return d, replay, err
}

func (s *Service) bookOnce(ctx context.Context, req BookRequest) (Detail, error) {
	var d Detail
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		d, err = s.bookTx(ctx, tx, req, nil)
		return err
	})
	return d, err
}

// bookTx is the body of the booking transaction. It only ever writes
// through tx, so a refusal at any step leaves nothing behind.
//
// memo, when not nil, is shared by the bookings of one batch: they are for
// the same slot, so the slot and its region's rules are read once.
func (s *Service) bookTx(ctx context.Context, tx *store.Tx, req BookRequest, memo *gate.Memo) (Detail, error) {
	now := s.now()
	pool := req.Pool
	if pool == "" {
		pool = PoolOnline
	}
	slotID, held, err := s.useHold(ctx, tx, req, now)
	if err != nil {
		return Detail{}, err
	}
	d, err := s.slotDetail(ctx, tx, slotID)
	if err != nil {
		return Detail{}, err
	}
	// A walk-in arrives while the slot runs; online bookings end at its start.
	if !d.Slot.Start.After(now) && !(pool == PoolWalkIn && d.Slot.End.After(now)) {
		return Detail{}, apperr.New("conflict", "that slot has already started")
	}
	dose := req.Dose
	if dose == 0 {
		dose = d.Slot.Dose
	}
	if dose != d.Slot.Dose {
		return Detail{}, apperr.Invalid("dose", fmt.Sprintf("this slot is for dose %d", d.Slot.Dose))
	}
	ruleVersion, err := s.admit(ctx, tx, req, d, now, memo)
	if err != nil {
		return Detail{}, err
	}
	if err := s.checkDoseInterval(ctx, tx, req.PersonID, d, dose); err != nil {
		return Detail{}, err
	}
	if held && pool != PoolOnline {
		return Detail{}, apperr.Invalid("hold_id", "holds are for the online pool")
	}
	a := Appointment{ID: ref.New("a_", 16), PersonID: req.PersonID, SlotID: d.Slot.ID,
		VaccineCode: d.Slot.VaccineCode, Dose: dose, Pool: pool, Status: StatusBooked,
		DecisionRef: req.DecisionRef, RuleVersion: ruleVersion, BookedBy: req.Actor,
		CreatedAt: now.Truncate(time.Microsecond), UpdatedAt: now.Truncate(time.Microsecond)}
	if err := s.insertAppointment(ctx, tx, &a, req.HoldID); err != nil {
		return Detail{}, err
	}
	d.Appointment = a
	if err := s.audit(ctx, tx, audit.Record{At: now, Actor: req.Actor, Action: "appointment.booked",
		Subjects: []string{"appointment:" + a.ID, slotSubject(a.SlotID), "person:" + req.PersonRef,
			"decision:" + req.DecisionRef},
		RuleVersion: ruleVersion, Details: map[string]any{"dose": dose, "pool": pool}}); err != nil {
		return Detail{}, err
	}
	if err := s.notify(ctx, tx, Event{Kind: EventBooked, AppointmentID: a.ID, PersonID: a.PersonID,
		SlotID: a.SlotID, SlotStart: d.Slot.Start, At: now, Dose: dose, SeriesDoses: d.Vaccine.Doses,
		MinIntervalDays: d.Vaccine.MinIntervalDays}); err != nil {
		return Detail{}, err
	}
	// The seat is taken last: the slot row is the one every booking for
	// this slot waits on, so its lock is held only from here to COMMIT. If
	// there is no seat, the whole transaction rolls back and the rows
	// written above vanish with it.
	if !held {
		if err := s.takeSeat(ctx, tx, d.Slot.ID, pool); err != nil {
			return Detail{}, err
		}
	}
	return d, nil
}

// useHold confirms the hold the request names, or the person's own active
// hold on the requested slot, and reports whether a seat is already held.
func (s *Service) useHold(ctx context.Context, tx *store.Tx, req BookRequest, now time.Time) (int64, bool, error) {
	var slotID int64
	var pool string
	if req.HoldID != "" {
		err := tx.QueryRowContext(ctx, s.q.Get("confirm_hold"), req.HoldID, req.PersonID, now.UnixMicro()).Scan(&slotID, &pool)
		if store.IsNoRows(err) {
			if err := s.ownHold(ctx, tx, req.PersonID, req.HoldID); err != nil {
				return 0, false, err
			}
			return 0, false, apperr.New("hold-expired", "the hold has ended or was used; choose a time again")
		}
		if err != nil {
			return 0, false, fmt.Errorf("confirm hold: %w", err)
		}
		if req.SlotID != 0 && req.SlotID != slotID {
			return 0, false, apperr.Invalid("slot_id", "the hold is for another slot")
		}
		return slotID, true, nil
	}
	if req.Pool == PoolWalkIn {
		return req.SlotID, false, nil
	}
	err := tx.QueryRowContext(ctx, s.q.Get("confirm_person_slot_hold"), req.PersonID, req.SlotID, now.UnixMicro()).Scan(&slotID, &pool)
	switch {
	case store.IsNoRows(err):
		return req.SlotID, false, nil
	case err != nil:
		return 0, false, fmt.Errorf("confirm hold: %w", err)
	}
	return slotID, true, nil
}

// admit asks the eligibility gate. Without a gate nothing can be proven,
// so the booking is refused (invariant 9: fail closed).
func (s *Service) admit(ctx context.Context, tx *store.Tx, req BookRequest, d Detail, now time.Time, memo *gate.Memo) (string, error) {
	if s.cfg.Gate == nil {
		return "", apperr.New("unavailable", "eligibility cannot be checked; nothing was booked")
	}
	return s.cfg.Gate.Admit(ctx, tx, gate.Check{PersonID: req.PersonID, DecisionRef: req.DecisionRef,
		Region: d.Site.Region, VaccineCode: d.Slot.VaccineCode, Dose: d.Slot.Dose, SlotStart: d.Slot.Start, Now: now,
		Lang: req.Lang, Memo: memo, ProductMinAge: &d.Vaccine.MinAge})
}

// checkDoseInterval refuses a later dose of another product, or outside the
// product's interval after the earlier dose on record. A later dose with no
// earlier dose on record (given elsewhere) is allowed: proof is checked at
// the clinic.
func (s *Service) checkDoseInterval(ctx context.Context, tx *store.Tx, personID int64, d Detail, dose int) error {
	if dose <= 1 {
		return nil
	}
	var code string
	var prevStart int64
	err := tx.QueryRowContext(ctx, s.q.Get("previous_dose"), personID, dose-1).Scan(&code, &prevStart)
	if store.IsNoRows(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read previous dose: %w", err)
	}
	if code != d.Slot.VaccineCode {
		return apperr.New("dose-interval", "dose %d must be the same product as dose %d", dose, dose-1).
			With("product", code)
	}
	// Calendar days where the site is: dose 1 on 1 March at 09:00 allows
	// dose 2 from 29 March at any hour to 12 April at any hour (28-42).
	loc := zone(d.Site.TimeZone)
	days := localDay(d.Slot.Start, loc) - localDay(micros(prevStart), loc)
	lo, hi := d.Vaccine.MinIntervalDays, d.Vaccine.MaxIntervalDays
	if days < lo || (hi > 0 && days > hi) {
		from, to := doseWindow(micros(prevStart), d.Vaccine, loc)
		return apperr.New("dose-interval", "dose %d must be %d to %d days after dose %d", dose,
			d.Vaccine.MinIntervalDays, d.Vaccine.MaxIntervalDays, dose-1).
			With("earliest", from.Format(time.RFC3339)).
			With("latest", to.Format(time.RFC3339))
	}
	return nil
}

// insertAppointment inserts a, drawing a new reference on the rare
// collision. A second active appointment for the dose violates the unique
// index and is refused as already-booked.
func (s *Service) insertAppointment(ctx context.Context, tx *store.Tx, a *Appointment, holdID string) error {
	var hold any
	if holdID != "" {
		hold = holdID
	}
	for attempt := 0; attempt < 5; attempt++ {
		a.Reference = ref.Appointment()
		res, err := tx.ExecContext(ctx, s.q.Get("insert_appointment"), a.ID, a.Reference, a.PersonID, a.SlotID,
			a.VaccineCode, a.Dose, a.Pool, a.DecisionRef, a.RuleVersion, hold, a.BookedBy,
			a.CreatedAt.UnixMicro(), a.UpdatedAt.UnixMicro())
		if store.IsUniqueViolation(err) {
			return apperr.New("already-booked", "you already have an appointment for dose %d", a.Dose)
		}
		if err != nil {
			return fmt.Errorf("insert appointment: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
	}
	return fmt.Errorf("insert appointment: no free reference after 5 draws")
}

// memoSlotDetail is slotDetail, read once per batch. The seat count it
// returns is not used for decisions: only the guarded UPDATE decides.
func (s *Service) memoSlotDetail(ctx context.Context, tx *store.Tx, slotID int64, memo *gate.Memo) (Detail, error) {
	key := fmt.Sprintf("booking.slot:%d", slotID)
	if v, ok := memo.Get(key); ok {
		return v.(Detail), nil
	}
	d, err := s.slotDetail(ctx, tx, slotID)
	if err == nil {
		memo.Put(key, d)
	}
	return d, err
}
