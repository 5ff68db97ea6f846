package booking

import (
	"context"
	"fmt"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/store"
)

// CheckInWindow is how long before its slot starts an appointment may be
// checked in: people come early, but not on another day.
const CheckInWindow = 12 * time.Hour

// CheckInRequest checks a person in at the clinic.
type CheckInRequest struct {
	AppointmentID string
	// SiteID is the site of the clinic staff asking; 0 for an admin, who
	// may check in anywhere.
	SiteID int64
	Actor  string
}

// CheckIn marks a booked appointment completed: the person came and was
// seen. Checking in a completed appointment again changes nothing.
func (s *Service) CheckIn(ctx context.Context, req CheckInRequest) (Detail, error) {
	var d Detail
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		a, err := s.appointmentTx(ctx, tx, req.AppointmentID)
		if err != nil {
			return err
		}
		if d, err = s.slotDetail(ctx, tx, a.SlotID); err != nil {
			return err
		}
		if req.SiteID != 0 && d.Slot.SiteID != req.SiteID {
			return apperr.New("forbidden", "this appointment is at another site")
		}
		now := s.now()
		switch {
		case a.Status == StatusCompleted:
			d.Appointment = a
			return nil
		case a.Status != StatusBooked:
			return apperr.New("conflict", "only a booked appointment can be checked in; this one is %s", a.Status)
		case now.Before(d.Slot.Start.Add(-CheckInWindow)):
			return apperr.New("conflict", "check-in opens %s before the appointment", CheckInWindow)
		}
		var personID, slotID int64
		var dose int
		err = tx.QueryRowContext(ctx, s.cq().Get("check_in"), now.UnixMicro(), a.ID).Scan(&personID, &slotID, &dose)
		if store.IsNoRows(err) {
			return apperr.New("conflict", "the appointment changed while checking in; try again")
		}
		if err != nil {
			return fmt.Errorf("check in: %w", err)
		}
		if err := s.audit(ctx, tx, audit.Record{At: now, Actor: req.Actor, Action: "appointment.checked_in",
			Subjects: []string{"appointment:" + a.ID, slotSubject(slotID)},
			Details:  map[string]any{"dose": dose}}); err != nil {
			return err
		}
		d.Appointment, err = s.appointmentTx(ctx, tx, a.ID)
		return err
	})
	return d, err
}

// MarkNoShows turns booked appointments whose slot ended more than grace
// ago into no-shows, in batches, each with its audit record, and returns
// how many it marked. Their seats are not returned: the slot is over.
func (s *Service) MarkNoShows(ctx context.Context, grace time.Duration) (int, error) {
	total := 0
	for {
		n, err := s.noShowBatch(ctx, grace)
		total += n
		if err != nil || n < 500 {
			return total, err
		}
	}
}

func (s *Service) noShowBatch(ctx context.Context, grace time.Duration) (int, error) {
	n := 0
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		n = 0
		now := s.now()
		rows, err := tx.QueryContext(ctx, s.cq().Get("mark_no_shows"), now.UnixMicro(), now.Add(-grace).UnixMicro())
		if err != nil {
			return fmt.Errorf("mark no-shows: %w", err)
		}
		var recs []audit.Record
		for rows.Next() {
			var id string
			var slotID, personID int64
			var dose int
			if err := rows.Scan(&id, &slotID, &personID, &dose); err != nil {
				rows.Close()
				return err
			}
			recs = append(recs, audit.Record{At: now, Actor: audit.System, Action: "appointment.no_show",
				Subjects: []string{"appointment:" + id, slotSubject(slotID)}, Details: map[string]any{"dose": dose}})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range recs {
			if err := s.audit(ctx, tx, r); err != nil {
				return err
			}
		}
		n = len(recs)
		return nil
	})
	return n, err
}

// NoShowsOfPerson counts a person's missed appointments.
func (s *Service) NoShowsOfPerson(ctx context.Context, personID int64) (int, error) {
	var n int
	err := s.db.Read.QueryRowContext(ctx, s.cq().Get("no_shows_of_person"), personID).Scan(&n)
	return n, err
}

// NoShowsOfSite counts the missed appointments at a site.
func (s *Service) NoShowsOfSite(ctx context.Context, siteID int64) (int, error) {
	var n int
	err := s.db.Read.QueryRowContext(ctx, s.cq().Get("no_shows_of_site"), siteID).Scan(&n)
	return n, err
}
