package bookingapi

import (
	"net/http"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/httpx"
)

type holdBody struct {
	SlotID int64 `json:"slot_id"`
}

type holdView struct {
	HoldID    string `json:"hold_id"`
	SlotID    int64  `json:"slot_id"`
	State     string `json:"state"`
	ExpiresAt string `json:"expires_at"`
}

func viewHold(h booking.Hold) holdView {
	return holdView{HoldID: h.ID, SlotID: h.SlotID, State: h.State, ExpiresAt: h.ExpiresAt.Format(time.RFC3339)}
}

func (m *Module) createHold(w http.ResponseWriter, r *http.Request) {
	p, ok := m.citizen(w, r, false)
	if !ok {
		return
	}
	var body holdBody
	if err := httpx.Decode(w, r, &body); err != nil {
		m.fail(w, r, err)
		return
	}
	if body.SlotID <= 0 {
		m.fail(w, r, apperr.Invalid("slot_id", "required: a slot id from GET /v1/slots"))
		return
	}
	if _, err := m.admitted(r, p); err != nil {
		m.fail(w, r, err)
		return
	}
	h, err := m.Booking.Hold(r.Context(), booking.HoldRequest{PersonID: p.PersonID, Actor: p.Actor(), SlotID: body.SlotID})
	if err != nil {
		m.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/holds/"+h.ID)
	httpx.JSON(w, http.StatusCreated, viewHold(h))
}

func (m *Module) getHold(w http.ResponseWriter, r *http.Request) {
	p, ok := m.citizen(w, r, false)
	if !ok {
		return
	}
	h, err := m.Booking.GetHold(r.Context(), p.PersonID, r.PathValue("id"))
	if err != nil {
		m.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, viewHold(h))
}

func (m *Module) releaseHold(w http.ResponseWriter, r *http.Request) {
	p, ok := m.citizen(w, r, false)
	if !ok {
		return
	}
	if err := m.Booking.ReleaseHold(r.Context(), p.PersonID, p.Actor(), r.PathValue("id")); err != nil {
		m.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (m *Module) holdAction(w http.ResponseWriter, r *http.Request) {
	id, action := splitAction(r)
	if action != "extend" {
		m.fail(w, r, apperr.NotFound("action"))
		return
	}
	p, ok := m.citizen(w, r, false)
	if !ok {
		return
	}
	h, err := m.Booking.ExtendHold(r.Context(), p.PersonID, id)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, viewHold(h))
}
