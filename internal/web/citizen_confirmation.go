package web

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/booking"
)

type appointmentView struct {
	ID, Reference, Status        string
	Site, Address, When, Vaccine string
	Calendar                     string
	Past                         bool
}

func (s *Web) appointmentView(lang string, d booking.Detail) appointmentView {
	start := zoned(d.Slot.Start, d.Site.TimeZone)
	return appointmentView{ID: d.Appointment.ID, Reference: d.Appointment.Reference, Status: d.Appointment.Status,
		Site: d.Site.Name, Address: d.Site.Address + ", " + d.Site.City + ", " + d.Site.State + " " + d.Site.PostalCode,
		When: when(lang, start), Vaccine: d.Vaccine.Name, Calendar: "/appointments/" + d.Appointment.ID + "/calendar.ics",
		Past: !d.Slot.End.After(s.cfg.Clock.Now()) || d.Appointment.Status == booking.StatusCompleted ||
			d.Appointment.Status == booking.StatusNoShow}
}

// ownDetail reads an appointment the signed-in person may see: their own
// through the session, or one unlocked on the manage page.
func (s *Web) ownDetail(w http.ResponseWriter, r *http.Request, id string) (booking.Detail, bool) {
	d, err := s.cfg.Booking.Detail(r.Context(), id)
	if err == nil && !s.mayView(r, d.Appointment) {
		err = apperr.NotFound("appointment")
	}
	if err != nil {
		s.fail(w, r, err)
		return booking.Detail{}, false
	}
	return d, true
}

func (s *Web) mayView(r *http.Request, a booking.Appointment) bool {
	if s.readJourney(r).Manage == a.ID {
		return true
	}
	p, err := s.principal(r)
	return err == nil && p.PersonID == a.PersonID
}

func (s *Web) confirmation(w http.ResponseWriter, r *http.Request) {
	d, ok := s.ownDetail(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	s.views.render(w, r, http.StatusOK, "confirmation", &Page{Title: "confirmation.title",
		Data: s.appointmentView(requestLang(r), d)})
}

// calendar serves the appointment as an iCalendar file (RFC 5545).
func (s *Web) calendar(w http.ResponseWriter, r *http.Request) {
	d, ok := s.ownDetail(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	lang := requestLang(r)
	const stamp = "20060102T150405Z"
	esc := strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\n", `\n`)
	lines := []string{
		"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//vaxbook//web//EN", "METHOD:PUBLISH", "BEGIN:VEVENT",
		"UID:" + d.Appointment.ID + "@vaxbook",
		"DTSTAMP:" + s.cfg.Clock.Now().UTC().Format(stamp),
		"DTSTART:" + d.Slot.Start.UTC().Format(stamp),
		"DTEND:" + d.Slot.End.UTC().Format(stamp),
		"SUMMARY:" + esc.Replace(s.views.cat.T(lang, "calendar.summary", d.Vaccine.Name)),
		"LOCATION:" + esc.Replace(d.Site.Name+", "+d.Site.Address+", "+d.Site.City+", "+d.Site.State),
		"DESCRIPTION:" + esc.Replace(s.views.cat.T(lang, "calendar.description", d.Appointment.Reference,
			strings.TrimSuffix(s.cfg.PublicURL, "/")+"/manage")),
		"END:VEVENT", "END:VCALENDAR",
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="vaccination-%s.ics"`, d.Appointment.Reference))
	_, _ = w.Write([]byte(strings.Join(lines, "\r\n") + "\r\n"))
}
