package clinicapi

import (
	"net/http"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/clinic"
	"github.com/vaxbook/vaxbook/internal/httpx"
)

type joinBody struct {
	PostalCode  string  `json:"postal_code"`
	RadiusKm    float64 `json:"radius_km"`
	From        string  `json:"from"`
	To          string  `json:"to"`
	Vaccine     string  `json:"vaccine"`
	Dose        int     `json:"dose"`
	DecisionRef string  `json:"decision_ref"`
}

func (m *Module) joinWaitlist(w http.ResponseWriter, r *http.Request) {
	p, ok := m.citizen(w, r)
	if !ok {
		return
	}
	var b joinBody
	if err := httpx.Decode(w, r, &b); err != nil {
		m.fail(w, r, err)
		return
	}
	f := httpx.Fields{}
	from, errFrom := time.Parse(time.RFC3339, b.From)
	to, errTo := time.Parse(time.RFC3339, b.To)
	f.Check(errFrom != nil, "from", "an RFC 3339 time with an offset")
	f.Check(errTo != nil, "to", "an RFC 3339 time with an offset")
	if err := f.Err(); err != nil {
		m.fail(w, r, err)
		return
	}
	if b.Dose == 0 {
		b.Dose = 1
	}
	e, err := m.Clinic.Join(r.Context(), clinic.JoinRequest{PersonID: p.PersonID, Actor: p.Actor(),
		PostalCode: b.PostalCode, RadiusKm: b.RadiusKm, From: from, To: to, VaccineCode: b.Vaccine, Dose: b.Dose,
		DecisionRef: b.DecisionRef})
	if err != nil {
		m.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/waitlist")
	httpx.JSON(w, http.StatusCreated, viewEntry(e))
}

func (m *Module) listWaitlist(w http.ResponseWriter, r *http.Request) {
	p, ok := m.citizen(w, r)
	if !ok {
		return
	}
	entries, offers, err := m.Clinic.Waitlist(r.Context(), p.PersonID)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	views := make([]entryView, 0, len(entries))
	for _, e := range entries {
		views = append(views, viewEntry(e))
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"entries": views, "offers": offers})
}

func (m *Module) leaveWaitlist(w http.ResponseWriter, r *http.Request) {
	p, ok := m.citizen(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if id == "" || len(id) > 64 {
		m.fail(w, r, apperr.NotFound("waitlist entry"))
		return
	}
	if err := m.Clinic.Leave(r.Context(), p.PersonID, p.Actor(), id); err != nil {
		m.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
