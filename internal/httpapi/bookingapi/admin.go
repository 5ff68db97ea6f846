package bookingapi

import (
	"net/http"
	"strconv"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/httpx"
)

func (m *Module) createSite(w http.ResponseWriter, r *http.Request) {
	p, err := httpx.Staff(m.Auth, r, httpx.RoleAdmin)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	var body booking.NewSite
	if err := httpx.Decode(w, r, &body); err != nil {
		m.fail(w, r, err)
		return
	}
	site, err := m.Booking.CreateSite(r.Context(), p.Actor(), body)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/sites/"+strconv.FormatInt(site.ID, 10))
	httpx.JSON(w, http.StatusCreated, site)
}

func (m *Module) generateSlots(w http.ResponseWriter, r *http.Request) {
	p, err := httpx.Staff(m.Auth, r, httpx.RoleAdmin)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	siteID, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || siteID <= 0 {
		m.fail(w, r, apperr.NotFound("site"))
		return
	}
	var body booking.Generate
	if err := httpx.Decode(w, r, &body); err != nil {
		m.fail(w, r, err)
		return
	}
	n, err := m.Booking.GenerateSlots(r.Context(), p.Actor(), siteID, body)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusCreated, map[string]int{"created": n})
}
