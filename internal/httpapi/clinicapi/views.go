package clinicapi

import (
	"net/http"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/clinic"
)

// slotView shows a slot in its site's own time zone (API.md).
type slotView struct {
	ID              int64  `json:"id"`
	SiteID          int64  `json:"site_id"`
	SiteName        string `json:"site_name"`
	Start           string `json:"start"`
	End             string `json:"end"`
	Vaccine         string `json:"vaccine"`
	Dose            int    `json:"dose"`
	Capacity        int    `json:"capacity"`
	Remaining       int    `json:"remaining"`
	WalkInCapacity  int    `json:"walk_in_capacity"`
	WalkInRemaining int    `json:"walk_in_remaining"`
}

type appointmentView struct {
	ID        string   `json:"id"`
	Reference string   `json:"reference"`
	Status    string   `json:"status"`
	Dose      int      `json:"dose"`
	Pool      string   `json:"pool"`
	Slot      slotView `json:"slot"`
	CreatedAt string   `json:"created_at"`
}

func local(t time.Time, tz string) string {
	if loc, err := time.LoadLocation(tz); err == nil {
		t = t.In(loc)
	}
	return t.Format(time.RFC3339)
}

func viewSlot(d booking.Detail) slotView {
	s := d.Slot
	return slotView{ID: s.ID, SiteID: s.SiteID, SiteName: d.Site.Name, Start: local(s.Start, d.Site.TimeZone),
		End: local(s.End, d.Site.TimeZone), Vaccine: s.VaccineCode, Dose: s.Dose, Capacity: s.Capacity,
		Remaining: s.Remaining, WalkInCapacity: s.WalkInCapacity, WalkInRemaining: s.WalkInRemaining}
}

func viewAppointment(d booking.Detail) appointmentView {
	a := d.Appointment
	return appointmentView{ID: a.ID, Reference: a.Reference, Status: a.Status, Dose: a.Dose, Pool: a.Pool,
		Slot: viewSlot(d), CreatedAt: a.CreatedAt.Format(time.RFC3339Nano)}
}

type nextDoseView struct {
	Dose     int              `json:"dose"`
	Booked   *appointmentView `json:"booked,omitempty"`
	Earliest string           `json:"earliest,omitempty"`
	Latest   string           `json:"latest,omitempty"`
	Options  []slotView       `json:"options"`
}

func viewNextDose(n booking.NextDose, b *booking.Service, r *http.Request) nextDoseView {
	v := nextDoseView{Dose: n.Dose, Earliest: n.Earliest, Latest: n.Latest, Options: []slotView{}}
	if n.Booked != nil {
		if d, err := b.Detail(r.Context(), n.Booked.ID); err == nil {
			a := viewAppointment(d)
			v.Booked = &a
		}
	}
	for _, o := range n.Options {
		v.Options = append(v.Options, viewSlot(o))
	}
	return v
}

type entryView struct {
	ID        string  `json:"id"`
	Status    string  `json:"status"`
	RadiusKm  float64 `json:"radius_km"`
	From      string  `json:"from"`
	To        string  `json:"to"`
	Vaccine   string  `json:"vaccine"`
	Dose      int     `json:"dose"`
	CreatedAt string  `json:"created_at"`
}

func viewEntry(e clinic.Entry) entryView {
	return entryView{ID: e.ID, Status: e.Status, RadiusKm: e.RadiusKm, From: e.From.Format(time.RFC3339),
		To: e.To.Format(time.RFC3339), Vaccine: e.VaccineCode, Dose: e.Dose, CreatedAt: e.CreatedAt.Format(time.RFC3339)}
}
