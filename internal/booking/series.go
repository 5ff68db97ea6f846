package booking

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/store"
)

// What to do with later doses when an earlier dose of the series is
// cancelled (ChangeRequest.Dose2).
const (
	// Dose2Ask refuses the cancellation with a conflict that names the
	// later doses and the two choices: nothing changes until the caller
	// chooses.
	Dose2Ask = ""
	// Dose2Keep cancels only the named appointment.
	Dose2Keep = "keep"
	// Dose2Cancel cancels the later doses in the same transaction.
	Dose2Cancel = "cancel"
)

// NextDose is what a person can do about the next dose of a series.
type NextDose struct {
	// Dose is the next dose's number; 0 when the series is complete.
	Dose int `json:"dose"`
	// Booked is the next dose's appointment when it is already booked.
	Booked *Appointment `json:"booked,omitempty"`
	// Earliest and Latest bound the local days the next dose may fall on
	// (Latest is the last allowed day, inclusive).
	Earliest string `json:"earliest,omitempty"`
	Latest   string `json:"latest,omitempty"`
	// Options are free slots at the same site, of the same product, inside
	// the interval, earliest first.
	Options []Detail `json:"options"`
}

// localDay numbers the civil day of t in loc, so that intervals count
// calendar days where the site is, not 24-hour periods.
func localDay(t time.Time, loc *time.Location) int {
	y, m, d := t.In(loc).Date()
	return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

func zone(tz string) *time.Location {
	if loc, err := time.LoadLocation(tz); err == nil {
		return loc
	}
	return time.UTC
}

// doseWindow returns the start of the first allowed local day and the start
// of the day after the last one, for a dose following one at prev.
func doseWindow(prev time.Time, v Vaccine, loc *time.Location) (from, to time.Time) {
	y, m, d := prev.In(loc).Date()
	from = time.Date(y, m, d+v.MinIntervalDays, 0, 0, 0, 0, loc)
	to = time.Date(y, m, d+v.MaxIntervalDays+1, 0, 0, 0, 0, loc)
	return from, to
}

// NextDoseOptions returns the next dose of the series appointmentID
// belongs to: booked already, or up to limit free slots that fit it.
func (s *Service) NextDoseOptions(ctx context.Context, appointmentID string, limit int) (NextDose, error) {
	d, err := s.Detail(ctx, appointmentID)
	if err != nil {
		return NextDose{}, err
	}
	a := d.Appointment
	if a.Dose >= d.Vaccine.Doses || a.Status == StatusCancelled {
		return NextDose{Options: []Detail{}}, nil
	}
	out := NextDose{Dose: a.Dose + 1, Options: []Detail{}}
	list, err := s.AppointmentsOf(ctx, a.PersonID)
	if err != nil {
		return NextDose{}, err
	}
	for _, o := range list {
		if o.Appointment.Dose == out.Dose && (o.Appointment.Status == StatusBooked || o.Appointment.Status == StatusCompleted) {
			booked := o.Appointment
			out.Booked = &booked
			return out, nil
		}
	}
	loc := zone(d.Site.TimeZone)
	from, to := doseWindow(d.Slot.Start, d.Vaccine, loc)
	out.Earliest, out.Latest = from.Format("2006-01-02"), to.AddDate(0, 0, -1).Format("2006-01-02")
	ids, err := s.nextDoseSlots(ctx, s.db.Read, d, out.Dose, limit)
	if err != nil {
		return NextDose{}, err
	}
	for _, id := range ids {
		o, err := s.slotDetail(ctx, s.db.Read, id)
		if err != nil {
			return NextDose{}, err
		}
		out.Options = append(out.Options, o)
	}
	return out, nil
}

// nextDoseSlots lists free slots for dose at the site of d, same product,
// inside the interval after d's slot.
func (s *Service) nextDoseSlots(ctx context.Context, q querier, d Detail, dose, limit int) ([]int64, error) {
	from, to := doseWindow(d.Slot.Start, d.Vaccine, zone(d.Site.TimeZone))
	rows, err := q.QueryContext(ctx, s.cq().Get("next_dose_slots"), d.Slot.SiteID, d.Slot.VaccineCode, dose,
		from.UnixMicro(), to.UnixMicro(), s.now().UnixMicro(), limit)
	if err != nil {
		return nil, fmt.Errorf("list next-dose slots: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// SeriesListener returns the listener that books the next dose together
// with this one when the site asks for it (sites.book_together): the first
// free slot inside the interval, in the same transaction. When no slot
// fits, or the rules refuse the next dose, this dose is booked alone and
// the next-dose reminder and options remain (docs/CLINIC.md says why).
// Add it with AddListener.
func (s *Service) SeriesListener() Listener { return seriesListener{s} }

type seriesListener struct{ s *Service }

func (l seriesListener) OnEvent(ctx context.Context, tx *store.Tx, e Event) error {
	if e.Kind != EventBooked {
		return nil
	}
	return l.s.bookSeries(ctx, tx, e)
}

// bookSeries runs inside the booking transaction of e. The next dose's
// slot row may be locked out of ascending id order; PostgreSQL detects the
// rare deadlock that can cause and store.InTx runs the transaction again.
func (s *Service) bookSeries(ctx context.Context, tx *store.Tx, e Event) error {
	a, err := s.appointmentTx(ctx, tx, e.AppointmentID)
	if err != nil {
		return err
	}
	d, err := s.slotDetail(ctx, tx, a.SlotID)
	if err != nil {
		return err
	}
	d.Appointment = a
	if !d.Site.BookTogether || a.Dose >= d.Vaccine.Doses || a.Pool != PoolOnline {
		return nil
	}
	var personRef string
	var hold string
	if err := tx.QueryRowContext(ctx, s.cq().Get("appointment_origin"), a.ID).Scan(new(string), &personRef, &hold); err != nil {
		return fmt.Errorf("read appointment origin: %w", err)
	}
	ids, err := s.nextDoseSlots(ctx, tx, d, a.Dose+1, 20)
	if err != nil {
		return err
	}
	for _, id := range ids {
		next := BookRequest{PersonID: a.PersonID, PersonRef: personRef, Actor: a.BookedBy, SlotID: id,
			DecisionRef: a.DecisionRef, Dose: a.Dose + 1}
		err := tx.Savepoint(ctx, "series_next", func() error {
			_, err := s.bookTx(ctx, tx, next, nil)
			return err
		})
		switch {
		case err == nil:
			return nil
		case apperr.Is(err, "slot-full"):
			continue
		case apperr.NameOf(err) != "":
			return nil // refused for this person: this dose stands alone
		default:
			return err
		}
	}
	return nil
}

// cancelSeries handles the later doses of a cancelled appointment. It
// returns done when it cancelled everything itself; otherwise Cancel goes
// on with the named appointment alone.
func (s *Service) cancelSeries(ctx context.Context, tx *store.Tx, req ChangeRequest, a Appointment) (bool, error) {
	if a.Status != StatusBooked {
		return false, nil
	}
	later, err := s.laterDoses(ctx, tx, a)
	if err != nil || len(later) == 0 {
		return false, err
	}
	switch req.Dose2 {
	case Dose2Keep:
		return false, nil
	case Dose2Cancel:
		return true, s.cancelAll(ctx, tx, req, append([]string{a.ID}, later...))
	case Dose2Ask:
		return false, apperr.New("conflict", "a later dose of this series is booked; cancel again with "+
			"dose2=keep to keep it or dose2=cancel to cancel it too").
			With("later_appointments", later).With("choices", []string{Dose2Keep, Dose2Cancel})
	}
	return false, apperr.Invalid("dose2", "keep or cancel")
}

func (s *Service) laterDoses(ctx context.Context, tx *store.Tx, a Appointment) ([]string, error) {
	rows, err := tx.QueryContext(ctx, s.cq().Get("later_doses"), a.PersonID, a.VaccineCode, a.Dose)
	if err != nil {
		return nil, fmt.Errorf("list later doses: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// cancelAll cancels several appointments of one person: every appointment
// row first, then the seats in ascending slot id, as the lock order says.
func (s *Service) cancelAll(ctx context.Context, tx *store.Tx, req ChangeRequest, ids []string) error {
	now := s.now()
	type freed struct {
		id, pool   string
		slot, whom int64
		dose       int
	}
	var list []freed
	ids = append([]string(nil), ids...)
	sort.Strings(ids)
	for _, id := range ids {
		var f freed
		err := tx.QueryRowContext(ctx, s.q.Get("cancel_appointment"), now.UnixMicro(), id).Scan(
			&f.slot, &f.pool, &f.whom, &f.dose)
		if store.IsNoRows(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("cancel appointment: %w", err)
		}
		f.id = id
		list = append(list, f)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].slot < list[j].slot })
	for _, f := range list {
		if err := s.returnSeats(ctx, tx, f.slot, f.pool, 1); err != nil {
			return err
		}
	}
	for _, f := range list {
		if err := s.audit(ctx, tx, audit.Record{At: now, Actor: req.Actor, Action: "appointment.cancelled",
			Subjects: []string{"appointment:" + f.id, slotSubject(f.slot)},
			Details:  map[string]any{"dose": f.dose, "pool": f.pool, "series": true}}); err != nil {
			return err
		}
		if err := s.notify(ctx, tx, Event{Kind: EventCancelled, AppointmentID: f.id, PersonID: f.whom,
			SlotID: f.slot, At: now}); err != nil {
			return err
		}
	}
	return nil
}

// SetBookTogether turns the site's book-together setting on or off.
func (s *Service) SetBookTogether(ctx context.Context, siteID int64, on bool, actor string) (Site, error) {
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, s.cq().Get("set_book_together"), on, siteID)
		if err != nil {
			return fmt.Errorf("set book together: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.NotFound("site")
		}
		return s.audit(ctx, tx, audit.Record{At: s.now(), Actor: actor, Action: "site.book_together_set",
			Subjects: []string{fmt.Sprintf("site:%d", siteID)}, Details: map[string]any{"on": on}})
	})
	if err != nil {
		return Site{}, err
	}
	return s.Site(ctx, siteID)
}
