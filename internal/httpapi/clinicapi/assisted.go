package clinicapi

import (
	"net/http"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/clinic"
	"github.com/vaxbook/vaxbook/internal/eligibility"
	"github.com/vaxbook/vaxbook/internal/httpx"
	"github.com/vaxbook/vaxbook/internal/identity"
)

// assistedBody books for someone else: who they are (attested), their
// eligibility answers and the slot.
type assistedBody struct {
	Person  identity.Attested   `json:"person"`
	Answers eligibility.Answers `json:"answers"`
	SlotID  int64               `json:"slot_id"`
	Dose    int                 `json:"dose,omitempty"`
}

func (b *assistedBody) validate() error {
	f := httpx.Fields{}
	f.Check(b.SlotID <= 0, "slot_id", "required")
	f.Check(b.Dose < 0 || b.Dose > 10, "dose", "between 1 and 10")
	return f.Err()
}

type assistedView struct {
	PersonRef   string          `json:"person_ref"`
	DecisionRef string          `json:"decision_ref"`
	RuleVersion string          `json:"rule_version"`
	Appointment appointmentView `json:"appointment"`
}

// book decodes the body and books for the person it names as actor.
func (m *Module) book(w http.ResponseWriter, r *http.Request, actor, pool string, siteID int64) {
	var b assistedBody
	if err := httpx.Decode(w, r, &b); err != nil {
		m.fail(w, r, err)
		return
	}
	if err := b.validate(); err != nil {
		m.fail(w, r, err)
		return
	}
	res, err := m.Clinic.BookFor(r.Context(), clinic.AssistedRequest{Actor: actor, Person: b.Person,
		Answers: b.Answers, SlotID: b.SlotID, Dose: b.Dose, Pool: pool, SiteID: siteID})
	if err != nil {
		m.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/appointments/"+res.Detail.Appointment.ID)
	httpx.JSON(w, http.StatusCreated, assistedView{PersonRef: res.PersonRef, DecisionRef: res.Decision.Ref,
		RuleVersion: res.Detail.Appointment.RuleVersion, Appointment: viewAppointment(res.Detail)})
}

func (m *Module) proxyBook(w http.ResponseWriter, r *http.Request) {
	p, ok := m.citizen(w, r)
	if !ok {
		return
	}
	m.book(w, r, p.Actor(), booking.PoolOnline, 0)
}

func (m *Module) proxyList(w http.ResponseWriter, r *http.Request) {
	p, ok := m.citizen(w, r)
	if !ok {
		return
	}
	list, err := m.Clinic.ProxyBookings(r.Context(), p.PersonID)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	views := make([]appointmentView, 0, len(list))
	for _, d := range list {
		views = append(views, viewAppointment(d))
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"appointments": views})
}

func (m *Module) agentBook(w http.ResponseWriter, r *http.Request) {
	p, err := httpx.Staff(m.Auth, r, httpx.RoleAgent)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	m.book(w, r, p.Actor(), booking.PoolOnline, 0)
}

func (m *Module) walkIn(w http.ResponseWriter, r *http.Request) {
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
	// The slot must be at the site in the path, whoever asks.
	m.book(w, r, p.Actor(), booking.PoolWalkIn, siteID)
}
