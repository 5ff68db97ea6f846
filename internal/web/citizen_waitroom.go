package web

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/waitroom"
)

// roomOn reports whether the waiting room is on: then booking needs an
// admission token, which the pages get for the person here.
func (s *Web) roomOn() bool { return s.cfg.Room != nil && s.cfg.Room.Settings().On() }

// admitted reports whether the journey carries an admission token that
// has not expired. The room still checks it at booking time.
func (j journey) admitted(now time.Time) bool {
	return j.Admission != "" && now.Before(j.AdmissionExpires)
}

type waitView struct {
	Phase    string
	OpensAt  string
	Status   string
	Position int
	Wait     string
	Message  string
}

// waitingRoom shows the person's place in the queue. Once admitted, the
// token goes into the journey and the booking carries on. There is no
// automatic refresh: a button checks again, so nobody is moved on while
// reading.
func (s *Web) waitingRoom(w http.ResponseWriter, r *http.Request) {
	if !s.roomOn() {
		http.Redirect(w, r, "/book", http.StatusSeeOther)
		return
	}
	j := s.readJourney(r)
	now := s.cfg.Room.Now()
	if j.admitted(now) {
		s.afterRoom(w, r, j)
		return
	}
	st := s.cfg.Room.Settings()
	v := waitView{Phase: st.Phase(now)}
	if !st.OpensAt.IsZero() {
		// The opening is shown in the zone of the rules in force, the
		// one the people booking live in.
		loc := time.UTC
		if rs, _, err := s.rules(r.Context(), ""); err == nil && rs.Loc != nil {
			loc = rs.Loc
		}
		v.OpensAt = when(requestLang(r), st.OpensAt.In(loc))
	}
	if j.Ticket != "" {
		ts, err := s.cfg.Room.Status(r.Context(), j.Ticket)
		switch {
		case apperr.Is(err, "not-found"):
			j.Ticket = ""
			s.writeJourney(w, j)
		case err != nil:
			s.fail(w, r, err)
			return
		case ts.Status == "admitted" && ts.Token != "":
			j.Admission, j.AdmissionExpires, j.Ticket = ts.Token, ts.TokenExpires, ""
			s.afterRoom(w, r, j)
			return
		default:
			v.Status, v.Position, v.Message = ts.Status, ts.Position, ts.Message
			v.Wait = waitMinutes(ts.EstimatedWait)
		}
	}
	s.views.render(w, r, http.StatusOK, "waiting_room", &Page{Title: "wait.title", Data: v})
}

func waitMinutes(sec int) string {
	m := (sec + 59) / 60
	if m < 1 {
		m = 1
	}
	return strconv.Itoa(m)
}

// joinWaitingRoom takes a ticket for this browser. The client key is
// derived from the CSRF seed, so asking again returns the same ticket.
func (s *Web) joinWaitingRoom(w http.ResponseWriter, r *http.Request) {
	if !s.roomOn() {
		http.Redirect(w, r, "/book", http.StatusSeeOther)
		return
	}
	j := s.readJourney(r)
	seed := ""
	if c, err := r.Cookie(CSRFCookie); err == nil {
		seed = c.Value
	}
	client := "web:" + base64.RawURLEncoding.EncodeToString(s.cfg.Keys.Hash("web-waitroom", seed)[:16])
	ts, _, err := s.cfg.Room.Join(r.Context(), client)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	j.Ticket = ts.Ticket
	if ts.Status == "admitted" && ts.Token != "" {
		j.Admission, j.AdmissionExpires, j.Ticket = ts.Token, ts.TokenExpires, ""
	}
	s.writeJourney(w, j)
	http.Redirect(w, r, "/book/waiting-room", http.StatusSeeOther)
}

// admission returns the journey's admission token for a hold or a booking,
// the same check POST /v1/holds and POST /v1/appointments make. When the
// room refuses it, the person is sent back to the queue.
//
// At confirm time (spent true) a token already spent is let through: a
// person keeps one hold, and a hold needs an unspent token, so the only
// confirm that can meet a spent token is a repeat of the booking that
// spent it, which the idempotency key replays.
func (s *Web) admission(w http.ResponseWriter, r *http.Request, p person, j journey, spent bool) (string, bool) {
	if !s.roomOn() {
		return "", true
	}
	err := s.cfg.Room.Check(r.Context(), j.Admission, p.PersonRef)
	if err == nil {
		return j.Admission, true
	}
	var e *apperr.Error
	if spent && errors.As(err, &e) && e.Extra["reason"] == waitroom.ReasonAlreadyUsed {
		return "", true
	}
	if apperr.Is(err, "admission-required") {
		j.Admission, j.AdmissionExpires = "", time.Time{}
		s.writeJourney(w, j)
		http.Redirect(w, r, "/book/waiting-room", http.StatusSeeOther)
		return "", false
	}
	s.fail(w, r, err)
	return "", false
}

// afterRoom sends an admitted person on: to the booking, or back to the
// reschedule that sent them to the queue.
func (s *Web) afterRoom(w http.ResponseWriter, r *http.Request, j journey) {
	next := "/book"
	if j.AfterRoom != "" {
		next, j.AfterRoom = localPath(j.AfterRoom), ""
	}
	s.writeJourney(w, j)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// rescheduleAdmission is the waiting room's check for a reschedule from
// the manage pages, as POST /v1/appointments/{id}:reschedule makes it:
// the token is bound to the appointment's owner. Without an admission
// the person queues and comes back to the list of times.
func (s *Web) rescheduleAdmission(w http.ResponseWriter, r *http.Request, j journey, personRef string) (string, bool) {
	if !s.roomOn() {
		return "", true
	}
	if j.admitted(s.cfg.Room.Now()) {
		err := s.cfg.Room.Check(r.Context(), j.Admission, personRef)
		if err == nil {
			return j.Admission, true
		}
		if !apperr.Is(err, "admission-required") {
			s.fail(w, r, err)
			return "", false
		}
	}
	j.Admission, j.AdmissionExpires, j.AfterRoom = "", time.Time{}, "/manage/reschedule"
	s.writeJourney(w, j)
	http.Redirect(w, r, "/book/waiting-room", http.StatusSeeOther)
	return "", false
}
