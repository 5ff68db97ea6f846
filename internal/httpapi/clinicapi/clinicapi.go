// Package clinicapi serves the clinic operations over HTTP: check-in,
// next-dose options, the waitlist, walk-ins, capacity changes, proxy and
// agent bookings, no-show counts and the booking report (issue 8).
package clinicapi

import (
	_ "embed"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/clinic"
	"github.com/vaxbook/vaxbook/internal/httpx"
)

//go:embed openapi.json
var openapi []byte

// Module serves the clinic routes.
type Module struct {
	Clinic  *clinic.Service
	Booking *booking.Service
	Auth    httpx.Authenticator
	Log     *slog.Logger
}

// OpenAPI returns the module's document fragment. It also documents
// POST /v1/appointments/{id}:check-in, which bookingapi routes here
// (CheckIn) because it owns the /v1/appointments/{id}:action segment.
func (m *Module) OpenAPI() []byte { return openapi }

// Register adds the routes.
func (m *Module) Register(r *httpx.Router) {
	r.HandleFunc("GET /v1/appointments/{id}/next-dose", m.nextDose)
	r.HandleFunc("POST /v1/waitlist", m.joinWaitlist)
	r.HandleFunc("GET /v1/waitlist", m.listWaitlist)
	r.HandleFunc("DELETE /v1/waitlist/{id}", m.leaveWaitlist)
	r.HandleFunc("POST /v1/proxy/appointments", m.proxyBook)
	r.HandleFunc("GET /v1/proxy/appointments", m.proxyList)
	r.HandleFunc("POST /v1/agent/appointments", m.agentBook)
	r.HandleFunc("POST /v1/admin/sites/{id}/walk-ins", m.walkIn)
	r.HandleFunc("PUT /v1/admin/sites/{id}/book-together", m.bookTogether)
	r.HandleFunc("GET /v1/admin/sites/{id}/no-shows", m.siteNoShows)
	r.HandleFunc("POST /v1/admin/slots/{id}/walk-ins:release", m.releaseWalkIns)
	r.HandleFunc("PUT /v1/admin/slots/{id}/capacity", m.capacity)
	r.HandleFunc("GET /v1/admin/reports/bookings", m.report)
}

func (m *Module) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpx.Problem(w, r, m.Log, err)
}

// citizen authenticates a session whose contact matches the one on file:
// everything here reads or changes the person's own records.
func (m *Module) citizen(w http.ResponseWriter, r *http.Request) (httpx.Principal, bool) {
	p, err := httpx.Citizen(m.Auth, r)
	if err == nil && !p.Trusted {
		err = apperr.New("forbidden", "this session was opened with contact details that differ from the ones on file")
	}
	if err != nil {
		m.fail(w, r, err)
		return p, false
	}
	return p, true
}

// clinicStaff authenticates clinic staff (site-bound) or an admin (any
// site; SiteID 0).
func (m *Module) clinicStaff(w http.ResponseWriter, r *http.Request) (httpx.Principal, bool) {
	p, err := httpx.Staff(m.Auth, r, httpx.RoleClinic, httpx.RoleAdmin)
	if err != nil {
		m.fail(w, r, err)
		return p, false
	}
	if p.Role == httpx.RoleAdmin {
		p.SiteID = 0
	}
	return p, true
}

// siteAllowed refuses clinic staff acting on another site's records.
func siteAllowed(p httpx.Principal, siteID int64) error {
	if p.SiteID != 0 && p.SiteID != siteID {
		return apperr.New("forbidden", "clinic staff act on their own site only")
	}
	return nil
}

func pathID(r *http.Request, what string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, apperr.NotFound(what)
	}
	return id, nil
}

// CheckIn serves POST /v1/appointments/{id}:check-in for bookingapi, which
// passes the appointment id as the path segment before the colon.
func (m *Module) CheckIn(w http.ResponseWriter, r *http.Request) {
	p, ok := m.clinicStaff(w, r)
	if !ok {
		return
	}
	seg := r.PathValue("id_action")
	id, _, _ := strings.Cut(seg, ":")
	d, err := m.Booking.CheckIn(r.Context(), booking.CheckInRequest{AppointmentID: id, SiteID: p.SiteID, Actor: p.Actor()})
	if err != nil {
		m.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, viewAppointment(d))
}

func (m *Module) nextDose(w http.ResponseWriter, r *http.Request) {
	p, ok := m.citizen(w, r)
	if !ok {
		return
	}
	a, err := m.Booking.Appointment(r.Context(), r.PathValue("id"))
	if err == nil && a.PersonID != p.PersonID {
		err = apperr.NotFound("appointment")
	}
	if err != nil {
		m.fail(w, r, err)
		return
	}
	next, err := m.Booking.NextDoseOptions(r.Context(), a.ID, 20)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, viewNextDose(next, m.Booking, r))
}

func (m *Module) siteNoShows(w http.ResponseWriter, r *http.Request) {
	p, ok := m.clinicStaff(w, r)
	if !ok {
		return
	}
	siteID, err := pathID(r, "site")
	if err == nil {
		err = siteAllowed(p, siteID)
	}
	if err == nil {
		_, err = m.Booking.Site(r.Context(), siteID)
	}
	if err != nil {
		m.fail(w, r, err)
		return
	}
	n, err := m.Booking.NoShowsOfSite(r.Context(), siteID)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"site_id": siteID, "no_shows": n})
}
