package clinic

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/eligibility"
	"github.com/vaxbook/vaxbook/internal/identity"
	"github.com/vaxbook/vaxbook/internal/store"
)

// AssistedRequest books for someone other than the caller: a relative or
// companion (a proxy), a caller on the phone (an agent) or a walk-in at
// the clinic (clinic staff, walk-in pool).
type AssistedRequest struct {
	// Actor is who books: person:REF for a proxy, staff:ID for staff. The
	// appointment records it as booked_by and the audit record as actor.
	Actor string
	// Person is the attested identity of the person the booking is for.
	Person identity.Attested
	// Answers are the eligibility answers given for that person.
	Answers eligibility.Answers
	SlotID  int64
	Dose    int
	// Pool is booking.PoolWalkIn for walk-ins; otherwise online.
	Pool string
	// SiteID is the asking clinic's site for walk-ins (0 for an admin).
	SiteID int64
}

// Assisted is the outcome: the appointment and the decision behind it.
type Assisted struct {
	Detail    booking.Detail
	PersonRef string
	Decision  eligibility.Decision
	// Reasons explain a refusal in the person's language.
	Reasons []eligibility.Reason
}

// BookFor finds or creates the person from their attested identity,
// decides their eligibility under the active rules and books through the
// same booking transaction as everyone else (the rules are checked again,
// one appointment per dose, the guarded seat). A "no" from the rules is an
// ineligible error carrying the stored decision.
func (s *Service) BookFor(ctx context.Context, r AssistedRequest) (Assisted, error) {
	if s.cfg.People == nil || s.cfg.Rules == nil {
		return Assisted{}, apperr.New("unavailable", "assisted booking is not configured")
	}
	slot, err := s.cfg.Booking.SlotDetail(ctx, r.SlotID)
	if err != nil {
		return Assisted{}, err
	}
	if r.Pool == booking.PoolWalkIn && r.SiteID != 0 && slot.Slot.SiteID != r.SiteID {
		return Assisted{}, apperr.New("forbidden", "this slot is at another site")
	}
	dose := r.Dose
	if dose == 0 {
		dose = slot.Slot.Dose
	}
	sess, err := s.cfg.People.CreateSession(ctx, r.Person)
	if err != nil {
		return Assisted{}, err
	}
	if r.Actor == "person:"+sess.PersonRef {
		return Assisted{}, apperr.Invalid("person", "that is you: book with POST /v1/appointments")
	}
	dec, err := s.cfg.Rules.Evaluate(ctx, eligibility.EvalRequest{PersonID: sess.PersonID, Actor: r.Actor,
		Attributes: eligibility.Attributes{BirthDate: r.Person.BirthDate, PostalCode: r.Person.PostalCode,
			Answers: r.Answers, Product: slot.Slot.VaccineCode, Dose: dose}})
	if err != nil {
		return Assisted{}, err
	}
	out := Assisted{PersonRef: sess.PersonRef, Decision: dec}
	if !dec.Eligible {
		out.Reasons = s.cfg.Rules.Explain(ctx, dec.RuleVersion, dec.Reasons, r.Person.Lang)
		return out, apperr.New("ineligible", "the active rules do not admit this person").
			With("rule_version", dec.RuleVersion).With("reasons", out.Reasons).With("decision_ref", dec.Ref)
	}
	d, _, err := s.cfg.Booking.Book(ctx, booking.BookRequest{PersonID: sess.PersonID, PersonRef: sess.PersonRef,
		Actor: r.Actor, SlotID: r.SlotID, DecisionRef: dec.Ref, Dose: dose, Pool: r.Pool})
	out.Detail = d
	return out, err
}

// recordProxy records, inside the booking transaction, that a person
// booked this appointment for someone else.
func (s *Service) recordProxy(ctx context.Context, tx *store.Tx, appointmentID string, o booking.Origin, now time.Time) error {
	proxy, ok := strings.CutPrefix(o.BookedBy, "person:")
	if !ok || proxy == o.PersonRef {
		return nil
	}
	if _, err := tx.ExecContext(ctx, s.q.Get("insert_proxy_booking"), appointmentID, now.UnixMicro(), proxy,
		appointmentID); err != nil {
		return fmt.Errorf("record proxy booking: %w", err)
	}
	return nil
}

// ProxyBookings lists the appointments a person booked for others.
func (s *Service) ProxyBookings(ctx context.Context, proxyID int64) ([]booking.Detail, error) {
	rows, err := s.db.Read.QueryContext(ctx, s.q.Get("proxy_appointments"), proxyID)
	if err != nil {
		return nil, fmt.Errorf("list proxy bookings: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]booking.Detail, 0, len(ids))
	for _, id := range ids {
		d, err := s.cfg.Booking.Detail(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}
