package clinicapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/clinic"
	"github.com/vaxbook/vaxbook/internal/httpx"
)

func (m *Module) releaseWalkIns(w http.ResponseWriter, r *http.Request) {
	p, ok := m.clinicStaff(w, r)
	if !ok {
		return
	}
	slotID, err := pathID(r, "slot")
	if err != nil {
		m.fail(w, r, err)
		return
	}
	s, moved, err := m.Booking.ReleaseWalkIns(r.Context(), p.SiteID, slotID, p.Actor())
	if err != nil {
		m.fail(w, r, err)
		return
	}
	m.promote(r, slotID)
	d, err := m.Booking.SlotDetail(r.Context(), s.ID)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"released": moved, "slot": viewSlot(d)})
}

// promote offers seats that a change freed to the waitlist. The change has
// committed already; a failure here is logged and the sweep tries again.
func (m *Module) promote(r *http.Request, slotID int64) {
	if _, err := m.Clinic.PromoteSlot(r.Context(), slotID); err != nil {
		m.Log.WarnContext(r.Context(), "waitlist promotion failed", "slot_id", slotID, "error", err.Error())
	}
}

type capacityBody struct {
	Capacity *int           `json:"capacity"`
	Moves    []booking.Move `json:"moves,omitempty"`
}

func (m *Module) capacity(w http.ResponseWriter, r *http.Request) {
	p, ok := m.clinicStaff(w, r)
	if !ok {
		return
	}
	slotID, err := pathID(r, "slot")
	if err != nil {
		m.fail(w, r, err)
		return
	}
	var b capacityBody
	if err := httpx.Decode(w, r, &b); err != nil {
		m.fail(w, r, err)
		return
	}
	if b.Capacity == nil || len(b.Moves) > 1000 {
		m.fail(w, r, apperr.Invalid("capacity", "required; at most 1000 moves"))
		return
	}
	if _, err := m.Booking.ChangeCapacity(r.Context(), booking.CapacityChange{SlotID: slotID, Capacity: *b.Capacity,
		Moves: b.Moves, SiteID: p.SiteID, Actor: p.Actor()}); err != nil {
		m.fail(w, r, err)
		return
	}
	m.promote(r, slotID)
	d, err := m.Booking.SlotDetail(r.Context(), slotID)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, viewSlot(d))
}

type bookTogetherBody struct {
	BookTogether bool `json:"book_together"`
}

func (m *Module) bookTogether(w http.ResponseWriter, r *http.Request) {
	p, ok := m.clinicStaff(w, r)
	if !ok {
		return
	}
	siteID, err := pathID(r, "site")
	if err == nil {
		err = siteAllowed(p, siteID)
	}
	if err != nil {
		m.fail(w, r, err)
		return
	}
	var b bookTogetherBody
	if err := httpx.Decode(w, r, &b); err != nil {
		m.fail(w, r, err)
		return
	}
	site, err := m.Booking.SetBookTogether(r.Context(), siteID, b.BookTogether, p.Actor())
	if err != nil {
		m.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"site_id": site.ID, "book_together": site.BookTogether})
}

func (m *Module) report(w http.ResponseWriter, r *http.Request) {
	if _, err := httpx.Staff(m.Auth, r, httpx.RoleAdmin); err != nil {
		m.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	var group []string
	if g := q.Get("group_by"); g != "" {
		group = strings.Split(g, ",")
	}
	f := httpx.Fields{}
	from, errFrom := time.Parse("2006-01-02", q.Get("from"))
	to, errTo := time.Parse("2006-01-02", q.Get("to"))
	f.Check(errFrom != nil, "from", "a date as YYYY-MM-DD")
	f.Check(errTo != nil, "to", "a date as YYYY-MM-DD")
	if err := f.Err(); err != nil {
		m.fail(w, r, err)
		return
	}
	res, err := m.Clinic.Report(r.Context(), clinic.ReportRequest{GroupBy: group, From: from, To: to})
	if err != nil {
		m.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.JSON(w, http.StatusOK, res)
}
