// Package bookingapi serves holds, appointments and the administration of
// sites and slots over HTTP (API.md "Holds and appointments").
package bookingapi

import (
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
)

// siteView is a site as responses show it.
type siteView struct {
	ID         int64   `json:"id"`
	Name       string  `json:"name"`
	Address    string  `json:"address"`
	City       string  `json:"city,omitempty"`
	State      string  `json:"state,omitempty"`
	PostalCode string  `json:"postal_code"`
	Lat        float64 `json:"lat"`
	Lng        float64 `json:"lng"`
	TimeZone   string  `json:"time_zone"`
}

type vaccineView struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// slotView shows times in the site's own zone (API.md).
type slotView struct {
	ID      int64       `json:"id"`
	Start   string      `json:"start"`
	End     string      `json:"end"`
	Site    siteView    `json:"site"`
	Vaccine vaccineView `json:"vaccine"`
	Dose    int         `json:"dose"`
}

type appointmentView struct {
	ID          string   `json:"id"`
	Reference   string   `json:"reference"`
	Status      string   `json:"status"`
	Slot        slotView `json:"slot"`
	Dose        int      `json:"dose"`
	Pool        string   `json:"pool"`
	RuleVersion string   `json:"rule_version"`
	DecisionRef string   `json:"decision_ref"`
	CreatedAt   string   `json:"created_at"`
	UpdatedAt   string   `json:"updated_at"`
}

func localTime(t time.Time, tz string) string {
	if loc, err := time.LoadLocation(tz); err == nil {
		t = t.In(loc)
	}
	return t.Format(time.RFC3339)
}

func viewSlot(d booking.Detail) slotView {
	s := d.Site
	return slotView{ID: d.Slot.ID, Start: localTime(d.Slot.Start, s.TimeZone), End: localTime(d.Slot.End, s.TimeZone),
		Site: siteView{ID: s.ID, Name: s.Name, Address: s.Address, City: s.City, State: s.State,
			PostalCode: s.PostalCode, Lat: s.Lat, Lng: s.Lng, TimeZone: s.TimeZone},
		Vaccine: vaccineView{Code: d.Vaccine.Code, Name: d.Vaccine.Name}, Dose: d.Slot.Dose}
}

func viewAppointment(d booking.Detail) appointmentView {
	a := d.Appointment
	return appointmentView{ID: a.ID, Reference: a.Reference, Status: a.Status, Slot: viewSlot(d), Dose: a.Dose,
		Pool: a.Pool, RuleVersion: a.RuleVersion, DecisionRef: a.DecisionRef,
		CreatedAt: a.CreatedAt.Format(time.RFC3339Nano), UpdatedAt: a.UpdatedAt.Format(time.RFC3339Nano)}
}
