package web

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/httpx"
	"github.com/vaxbook/vaxbook/internal/identity"
)

func (s *Web) principal(r *http.Request) (httpx.Principal, error) {
	return httpx.Citizen(s.cfg.Identity, r)
}

type manageForm struct {
	Reference                       string
	BirthMonth, BirthDay, BirthYear string
}

func (s *Web) manageFind(w http.ResponseWriter, r *http.Request) {
	s.views.render(w, r, http.StatusOK, "manage_find", &Page{Title: "manage.title", Data: manageForm{}})
}

// manageLookup unlocks an appointment for this browser when the reference
// and the date of birth both match; a wrong pair gets the same answer
// whichever half was wrong, so neither can be probed alone.
func (s *Web) manageLookup(w http.ResponseWriter, r *http.Request) {
	f := manageForm{Reference: strings.ToUpper(strings.TrimSpace(r.PostFormValue("reference"))),
		BirthMonth: r.PostFormValue("birth_month"), BirthDay: r.PostFormValue("birth_day"),
		BirthYear: r.PostFormValue("birth_year")}
	birth := identityForm{BirthMonth: f.BirthMonth, BirthDay: f.BirthDay, BirthYear: f.BirthYear}.attested("").BirthDate
	a, err := s.cfg.Booking.AppointmentByReference(r.Context(), f.Reference)
	if err == nil {
		var who identity.Person
		who, err = s.cfg.Identity.Person(r.Context(), a.PersonID)
		if err == nil && (birth == "" || who.BirthDate != birth) {
			err = apperr.NotFound("appointment")
		}
	}
	if apperr.Is(err, "not-found") {
		s.views.render(w, r, http.StatusNotFound, "manage_find", &Page{Title: "manage.title", Data: f,
			Error: "manage.not_found"})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	j := s.readJourney(r)
	j.Manage = a.ID
	s.writeJourney(w, j)
	http.Redirect(w, r, "/manage/appointment", http.StatusSeeOther)
}

// managed returns the unlocked appointment or sends the person to the
// lookup form.
func (s *Web) managed(w http.ResponseWriter, r *http.Request) (booking.Detail, journey, bool) {
	j := s.readJourney(r)
	if j.Manage == "" {
		http.Redirect(w, r, "/manage", http.StatusSeeOther)
		return booking.Detail{}, j, false
	}
	d, err := s.cfg.Booking.Detail(r.Context(), j.Manage)
	if err != nil {
		s.fail(w, r, err)
		return booking.Detail{}, j, false
	}
	return d, j, true
}

// manageView shows the appointment, on a page of its own when it is
// cancelled or past, since neither can be changed.
func (s *Web) manageView(w http.ResponseWriter, r *http.Request) {
	d, _, ok := s.managed(w, r)
	if !ok {
		return
	}
	v := s.appointmentView(requestLang(r), d)
	page := "manage_view"
	switch {
	case d.Appointment.Status == booking.StatusCancelled:
		page = "manage_cancelled"
	case v.Past:
		page = "manage_past"
	}
	s.views.render(w, r, http.StatusOK, page, &Page{Title: "manage.view_title", Data: v})
}

// cancelView is the cancel page: the appointment, and the number of the
// later dose that is booked too (0 when none), which the page asks about.
type cancelView struct {
	Appointment appointmentView
	NextDose    int
}

func (s *Web) manageCancelAsk(w http.ResponseWriter, r *http.Request) {
	d, _, ok := s.managed(w, r)
	if !ok {
		return
	}
	s.renderCancel(w, r, d, http.StatusOK)
}

func (s *Web) renderCancel(w http.ResponseWriter, r *http.Request, d booking.Detail, status int) {
	v := cancelView{Appointment: s.appointmentView(requestLang(r), d)}
	next, err := s.cfg.Booking.NextDoseOptions(r.Context(), d.Appointment.ID, 0)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if next.Booked != nil && next.Booked.Status == booking.StatusBooked {
		v.NextDose = next.Booked.Dose
	}
	s.views.render(w, r, status, "manage_cancel", &Page{Title: "manage.cancel_title", Data: v})
}

// manageCancel cancels, the same call as DELETE /v1/appointments/{id}.
// When a later dose is booked the form says whether to keep it or cancel
// it too (booking.ChangeRequest.Dose2); a later dose booked after the
// page was shown is asked about again rather than guessed.
func (s *Web) manageCancel(w http.ResponseWriter, r *http.Request) {
	d, _, ok := s.managed(w, r)
	if !ok {
		return
	}
	dose2 := r.PostFormValue("dose2")
	if dose2 != booking.Dose2Keep && dose2 != booking.Dose2Cancel {
		dose2 = booking.Dose2Ask
	}
	_, err := s.cfg.Booking.Cancel(r.Context(), booking.ChangeRequest{AppointmentID: d.Appointment.ID,
		PersonID: d.Appointment.PersonID, Actor: s.ownerActor(r, d.Appointment), Dose2: dose2,
		Lang: requestLang(r)})
	if apperr.Is(err, "conflict") && dose2 == booking.Dose2Ask {
		s.renderCancel(w, r, d, http.StatusConflict)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/manage/appointment", http.StatusSeeOther)
}

// ownerActor names the person in audit records by their reference.
func (s *Web) ownerActor(r *http.Request, a booking.Appointment) string {
	who, err := s.cfg.Identity.Person(r.Context(), a.PersonID)
	if err != nil {
		return "person:unknown"
	}
	return "person:" + who.Ref
}

// manageSlots lists times near the appointment's site for a reschedule.
func (s *Web) manageSlots(w http.ResponseWriter, r *http.Request) {
	d, j, ok := s.managed(w, r)
	if !ok {
		return
	}
	v := s.searchSlots(w, r, d.Site.PostalCode, &j)
	v.Action = "/manage/reschedule"
	s.views.render(w, r, http.StatusOK, "slots", &Page{Title: "slots.title", Data: v})
}

// manageReschedule moves the appointment, the same call as POST
// /v1/appointments/{id}:reschedule: the new seat and the release of the
// old one commit together.
func (s *Web) manageReschedule(w http.ResponseWriter, r *http.Request) {
	d, j, ok := s.managed(w, r)
	if !ok {
		return
	}
	actor := s.ownerActor(r, d.Appointment)
	token, ok := s.rescheduleAdmission(w, r, j, strings.TrimPrefix(actor, "person:"))
	if !ok {
		return
	}
	_, err := s.cfg.Booking.Reschedule(r.Context(), booking.ChangeRequest{AppointmentID: d.Appointment.ID,
		PersonID: d.Appointment.PersonID, Actor: actor, NewSlotID: formSlotID(r)})
	switch apperr.NameOf(err) {
	case "":
		if token != "" {
			if err := s.cfg.Room.Spend(r.Context(), token); err != nil {
				s.cfg.Log.WarnContext(r.Context(), "admission token not spent", slog.String("error", err.Error()))
			}
			j.Admission, j.AdmissionExpires = "", time.Time{}
			s.writeJourney(w, j)
		}
		http.Redirect(w, r, "/manage/appointment", http.StatusSeeOther)
	case "slot-full", "not-found":
		j.Notice = "slots.gone"
		s.writeJourney(w, j)
		http.Redirect(w, r, "/manage/reschedule", http.StatusSeeOther)
	default:
		s.fail(w, r, err)
	}
}
