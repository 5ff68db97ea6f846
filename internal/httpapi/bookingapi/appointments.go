package bookingapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/httpx"
)

type bookBody struct {
	SlotID      int64  `json:"slot_id,omitempty"`
	HoldID      string `json:"hold_id,omitempty"`
	DecisionRef string `json:"decision_ref"`
	// Dose is optional (the slot's dose); when given it must be 1 to 10.
	Dose *int `json:"dose,omitempty"`
}

// dose returns the requested dose, 0 meaning the slot's.
func (b *bookBody) dose() int {
	if b.Dose == nil {
		return 0
	}
	return *b.Dose
}

func (b *bookBody) validate() error {
	f := httpx.Fields{}
	f.Check((b.SlotID == 0) == (b.HoldID == ""), "slot_id", "give slot_id or hold_id, not both")
	f.Check(b.SlotID < 0, "slot_id", "must be a slot id")
	f.Check(len(b.HoldID) > 64, "hold_id", "too long")
	f.Check(b.DecisionRef == "" || len(b.DecisionRef) > 64, "decision_ref", "required: the decision_ref from eligibility:evaluate")
	f.Check(b.Dose != nil && (*b.Dose < 1 || *b.Dose > 10), "dose", "between 1 and 10")
	return f.Err()
}

// maxKeyLength bounds Idempotency-Key values.
const maxKeyLength = 255

func (m *Module) book(w http.ResponseWriter, r *http.Request) {
	p, ok := m.citizen(w, r, false)
	if !ok {
		return
	}
	key := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if key == "" || len(key) > maxKeyLength {
		m.fail(w, r, apperr.New("idempotency-key-required", "send an Idempotency-Key header (1 to 255 characters) so a retry cannot book twice"))
		return
	}
	var body bookBody
	if err := httpx.Decode(w, r, &body); err != nil {
		m.fail(w, r, err)
		return
	}
	if err := body.validate(); err != nil {
		m.fail(w, r, err)
		return
	}
	idem := &booking.Idempotency{Scope: p.Actor() + "|POST /v1/appointments", Key: key,
		RequestHash: requestHash(body), Render: render}
	token, err := m.admitted(r, p)
	if err != nil {
		// A repeat of a booking that committed is answered from the stored
		// response even though its admission no longer passes: the first
		// attempt spent the token (or it expired meanwhile), and the person
		// must still learn that they are booked. Only a refusal pays for
		// the look-up.
		if replay, _ := m.Booking.StoredResponse(r.Context(), idem); replay != nil {
			writeReplay(w, replay)
			return
		}
		m.fail(w, r, err)
		return
	}
	_, replay, err := m.Booking.Book(r.Context(), booking.BookRequest{PersonID: p.PersonID, PersonRef: p.PersonRef,
		Actor: p.Actor(), SlotID: body.SlotID, HoldID: body.HoldID, DecisionRef: body.DecisionRef, Dose: body.dose(),
		Lang: p.Lang, Idempotency: idem})
	if err != nil {
		m.fail(w, r, err)
		return
	}
	if !replay.Replayed && token != "" {
		if err := m.Admission.Spend(r.Context(), token); err != nil {
			m.Log.WarnContext(r.Context(), "admission token not spent", "error", err.Error())
		}
	}
	writeReplay(w, replay)
}

// render is the response stored with the idempotency key: the 201 body of
// a committed booking, or the problem body of a refusal.
func render(result any, err error) booking.Replay {
	if err != nil {
		var e *apperr.Error
		if !errors.As(err, &e) {
			return booking.Replay{Status: 500}
		}
		rec := newRecorder()
		httpx.WriteProblem(rec, e)
		return booking.Replay{Status: rec.status, Body: rec.body.Bytes()}
	}
	d := result.(booking.Detail)
	rec := newRecorder()
	httpx.JSON(rec, http.StatusCreated, viewAppointment(d))
	return booking.Replay{Status: http.StatusCreated, Body: rec.body.Bytes(), Location: "/v1/appointments/" + d.Appointment.ID}
}

func writeReplay(w http.ResponseWriter, r *booking.Replay) {
	if r.Location != "" {
		w.Header().Set("Location", r.Location)
	}
	if r.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	ct := "application/json"
	if r.Status >= 400 {
		ct = "application/problem+json"
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(r.Status)
	_, _ = w.Write(r.Body)
}

func (m *Module) getAppointment(w http.ResponseWriter, r *http.Request) {
	p, ok := m.citizen(w, r, true)
	if !ok {
		return
	}
	d, err := m.Booking.Detail(r.Context(), r.PathValue("id"))
	if err == nil && d.Appointment.PersonID != p.PersonID {
		err = apperr.NotFound("appointment")
	}
	if err != nil {
		m.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, viewAppointment(d))
}

func (m *Module) listAppointments(w http.ResponseWriter, r *http.Request) {
	p, ok := m.citizen(w, r, true)
	if !ok {
		return
	}
	list, err := m.Booking.AppointmentsOf(r.Context(), p.PersonID)
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

func (m *Module) cancel(w http.ResponseWriter, r *http.Request) {
	p, ok := m.citizen(w, r, true)
	if !ok {
		return
	}
	id := r.PathValue("id")
	// dose2=keep|cancel answers what happens to a later dose that is booked;
	// without it such a cancellation is a conflict that asks (booking.Dose2Ask).
	if _, err := m.Booking.Cancel(r.Context(), booking.ChangeRequest{AppointmentID: id, PersonID: p.PersonID,
		Actor: p.Actor(), Dose2: r.URL.Query().Get("dose2")}); err != nil {
		m.fail(w, r, err)
		return
	}
	d, err := m.Booking.Detail(r.Context(), id)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, viewAppointment(d))
}

type rescheduleBody struct {
	SlotID int64 `json:"slot_id"`
}

func (m *Module) appointmentAction(w http.ResponseWriter, r *http.Request) {
	id, action := splitAction(r)
	if h, ok := m.Actions[action]; ok && action != "reschedule" {
		h(w, r)
		return
	}
	if action != "reschedule" {
		m.fail(w, r, apperr.NotFound("action"))
		return
	}
	p, ok := m.citizen(w, r, true)
	if !ok {
		return
	}
	var body rescheduleBody
	if err := httpx.Decode(w, r, &body); err != nil {
		m.fail(w, r, err)
		return
	}
	if body.SlotID <= 0 {
		m.fail(w, r, apperr.Invalid("slot_id", "required"))
		return
	}
	token, err := m.admitted(r, p)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	d, err := m.Booking.Reschedule(r.Context(), booking.ChangeRequest{AppointmentID: id, PersonID: p.PersonID,
		Actor: p.Actor(), NewSlotID: body.SlotID, Lang: p.Lang})
	if err != nil {
		m.fail(w, r, err)
		return
	}
	if token != "" {
		_ = m.Admission.Spend(r.Context(), token)
	}
	httpx.JSON(w, http.StatusOK, viewAppointment(d))
}
