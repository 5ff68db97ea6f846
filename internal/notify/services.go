package notify

import (
	"context"
	"fmt"
	"strings"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/identity"
	"github.com/vaxbook/vaxbook/internal/store"
)

// Services reads message content from the booking service and the
// identity store, the production Source.
func Services(b *booking.Service, people *identity.Store) Source {
	return services{b: b, people: people}
}

type services struct {
	b      *booking.Service
	people *identity.Store
}

func (s services) Visit(ctx context.Context, appointmentID string) (Visit, error) {
	d, err := s.b.Detail(ctx, appointmentID)
	if err != nil {
		return Visit{}, notFound(err)
	}
	return visitOf(d), nil
}

func (s services) SlotVisit(ctx context.Context, slotID int64) (Visit, error) {
	d, err := s.b.SlotDetail(ctx, slotID)
	if err != nil {
		return Visit{}, notFound(err)
	}
	return visitOf(d), nil
}

func (s services) Recipient(ctx context.Context, personID int64) (Recipient, error) {
	p, err := s.people.Person(ctx, personID)
	if err != nil {
		return Recipient{}, notFound(err)
	}
	return Recipient{Ref: p.Ref, GivenName: p.GivenName, Email: p.Email, Phone: p.Phone, Lang: p.Lang}, nil
}

// notFound turns the services' not-found refusal into store.ErrNotFound,
// which tells the worker to drop the message rather than retry it.
func notFound(err error) error {
	if apperr.Is(err, "not-found") || store.IsNoRows(err) {
		return fmt.Errorf("%w: %v", store.ErrNotFound, err)
	}
	return err
}

func visitOf(d booking.Detail) Visit {
	a, sl, si, v := d.Appointment, d.Slot, d.Site, d.Vaccine
	return Visit{AppointmentID: a.ID, Reference: a.Reference, Status: a.Status, PersonID: a.PersonID,
		Dose: max(a.Dose, sl.Dose), Start: sl.Start, End: sl.End, SiteName: si.Name, Address: address(si),
		SitePhone: si.Phone, TimeZone: si.TimeZone, VaccineName: v.Name, VaccineDoses: v.Doses,
		MinIntervalDays: v.MinIntervalDays}
}

// address writes a site's address on one line, skipping empty parts.
func address(si booking.Site) string {
	var parts []string
	for _, p := range []string{si.Address, si.City, strings.TrimSpace(si.State + " " + si.PostalCode)} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ", ")
}
