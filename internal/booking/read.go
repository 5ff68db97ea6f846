package booking

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/ref"
	"github.com/vaxbook/vaxbook/internal/store"
)

// Appointment returns an appointment by id.
func (s *Service) Appointment(ctx context.Context, id string) (Appointment, error) {
	return s.scanAppointment(s.db.Read.QueryRowContext(ctx, s.q.Get("appointment"), id))
}

// AppointmentByReference finds an appointment by its printed reference.
func (s *Service) AppointmentByReference(ctx context.Context, reference string) (Appointment, error) {
	return s.scanAppointment(s.db.Read.QueryRowContext(ctx, s.q.Get("appointment_by_reference"), ref.Normalize(reference)))
}

func (s *Service) appointmentTx(ctx context.Context, tx *store.Tx, id string) (Appointment, error) {
	return s.scanAppointment(tx.QueryRowContext(ctx, s.q.Get("appointment"), id))
}

type rowScanner interface{ Scan(dest ...any) error }

func (s *Service) scanAppointment(row rowScanner) (Appointment, error) {
	var a Appointment
	var created, updated int64
	err := row.Scan(&a.ID, &a.Reference, &a.PersonID, &a.SlotID, &a.VaccineCode, &a.Dose, &a.Pool, &a.Status,
		&a.DecisionRef, &a.RuleVersion, &a.BookedBy, &created, &updated)
	if store.IsNoRows(err) {
		return Appointment{}, apperr.NotFound("appointment")
	}
	if err != nil {
		return Appointment{}, fmt.Errorf("read appointment: %w", err)
	}
	a.CreatedAt, a.UpdatedAt = micros(created), micros(updated)
	return a, nil
}

// AppointmentsOf lists a person's appointments, oldest first.
func (s *Service) AppointmentsOf(ctx context.Context, personID int64) ([]Detail, error) {
	rows, err := s.db.Read.QueryContext(ctx, s.q.Get("appointments_of_person"), personID)
	if err != nil {
		return nil, fmt.Errorf("list appointments: %w", err)
	}
	var list []Appointment
	for rows.Next() {
		a, err := s.scanAppointment(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		list = append(list, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]Detail, 0, len(list))
	for _, a := range list {
		d, err := s.slotDetail(ctx, s.db.Read, a.SlotID)
		if err != nil {
			return nil, err
		}
		d.Appointment = a
		out = append(out, d)
	}
	return out, nil
}

// Detail returns an appointment with its slot, site and product, read now:
// messages use it at send time so they show the current state.
func (s *Service) Detail(ctx context.Context, appointmentID string) (Detail, error) {
	a, err := s.Appointment(ctx, appointmentID)
	if err != nil {
		return Detail{}, err
	}
	d, err := s.slotDetail(ctx, s.db.Read, a.SlotID)
	if err != nil {
		return Detail{}, err
	}
	d.Appointment = a
	return d, nil
}

// SlotDetail returns a slot with its site and product.
func (s *Service) SlotDetail(ctx context.Context, slotID int64) (Detail, error) {
	return s.slotDetail(ctx, s.db.Read, slotID)
}

// Site returns a site.
func (s *Service) Site(ctx context.Context, id int64) (Site, error) {
	var si Site
	err := s.db.Read.QueryRowContext(ctx, s.q.Get("site"), id).Scan(&si.ID, &si.Region, &si.Name, &si.Address,
		&si.City, &si.State, &si.PostalCode, &si.Lat, &si.Lng, &si.TimeZone, &si.Phone, &si.URL, &si.Source,
		&si.ExternalID, &si.BookTogether)
	if store.IsNoRows(err) {
		return Site{}, apperr.NotFound("site")
	}
	if err != nil {
		return Site{}, fmt.Errorf("read site: %w", err)
	}
	return si, nil
}

// Vaccine returns a product by CVX code.
func (s *Service) Vaccine(ctx context.Context, code string) (Vaccine, error) {
	var v Vaccine
	err := s.db.Read.QueryRowContext(ctx, s.q.Get("vaccine"), code).Scan(&v.Code, &v.Name, &v.Doses,
		&v.MinIntervalDays, &v.MaxIntervalDays, &v.MinAge)
	if err == sql.ErrNoRows {
		return Vaccine{}, apperr.NotFound("vaccine")
	}
	return v, err
}
