package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/httpx"
)

// hold takes the chosen time's seat for the hold period, the same call as
// POST /v1/holds. A time that went since the list was drawn sends the
// person back to the list with a message; their answers stay.
func (s *Web) hold(w http.ResponseWriter, r *http.Request) {
	p, ok := s.citizen(w, r)
	if !ok {
		return
	}
	j := s.readJourney(r)
	if !j.Eligible {
		http.Redirect(w, r, "/book/result", http.StatusSeeOther)
		return
	}
	if _, ok := s.admission(w, r, p, j, false); !ok {
		return
	}
	h, err := s.cfg.Booking.Hold(r.Context(), booking.HoldRequest{PersonID: p.PersonID, Actor: p.Actor(),
		SlotID: formSlotID(r)})
	if err != nil {
		s.backToSlots(w, r, j, err)
		return
	}
	j.SlotID, j.HoldID, j.HoldExpires, j.IdemKey = h.SlotID, h.ID, h.ExpiresAt, newKey()
	s.writeJourney(w, j)
	http.Redirect(w, r, "/book/check", http.StatusSeeOther)
}

// backToSlots returns to the list of times with the refusal's message, or
// shows the refusal when it is not about the time chosen.
func (s *Web) backToSlots(w http.ResponseWriter, r *http.Request, j journey, err error) {
	switch apperr.NameOf(err) {
	case "slot-full", "hold-expired", "not-found":
		j.Notice = "slots.gone"
		j.SlotID, j.HoldID, j.IdemKey = 0, "", ""
		s.writeJourney(w, j)
		http.Redirect(w, r, "/book/slots", http.StatusSeeOther)
	default:
		s.fail(w, r, err)
	}
}

func newKey() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// extend moves the hold's end, as long as it has not ended.
func (s *Web) extend(w http.ResponseWriter, r *http.Request) {
	p, ok := s.citizen(w, r)
	if !ok {
		return
	}
	j := s.readJourney(r)
	h, err := s.cfg.Booking.ExtendHold(r.Context(), p.PersonID, j.HoldID)
	if err != nil {
		s.backToSlots(w, r, j, err)
		return
	}
	j.HoldExpires = h.ExpiresAt
	j.Notice = "check.extended"
	s.writeJourney(w, j)
	http.Redirect(w, r, "/book/check", http.StatusSeeOther)
}

type checkView struct {
	Name, BirthDate, PostalCode, Contact string
	Answers                              []answerRow
	Site, Address, When, Vaccine         string
	HoldEnds                             string
	HoldUnix                             int64
	IdemKey                              string
	Notice                               string
}

type answerRow struct {
	Step   int
	Label  string
	Answer string
}

// check shows everything the booking will use, with a link to change each
// answer, the hold's end time and the confirm form.
func (s *Web) check(w http.ResponseWriter, r *http.Request) {
	p, ok := s.citizen(w, r)
	if !ok {
		return
	}
	j := s.readJourney(r)
	if j.HoldID == "" || !j.Eligible {
		http.Redirect(w, r, "/book/slots", http.StatusSeeOther)
		return
	}
	d, err := s.cfg.Booking.SlotDetail(r.Context(), j.SlotID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	lang := requestLang(r)
	v := checkView{Name: p.GivenName + " " + p.FamilyName, BirthDate: p.BirthDate, PostalCode: p.PostalCode,
		Contact: p.Email, Site: d.Site.Name, Address: d.Site.Address + ", " + d.Site.City + ", " + d.Site.State,
		When: when(lang, zoned(d.Slot.Start, d.Site.TimeZone)), Vaccine: d.Vaccine.Name,
		HoldEnds: clockTime(lang, zoned(j.HoldExpires, d.Site.TimeZone)), HoldUnix: j.HoldExpires.Unix(),
		IdemKey: j.IdemKey, Notice: j.Notice}
	if v.Contact == "" {
		v.Contact = p.Phone
	}
	for i, q := range questions {
		v.Answers = append(v.Answers, answerRow{Step: i + 1, Label: s.views.cat.T(lang, "question."+q.name+".short"),
			Answer: s.answerText(lang, q, &j)})
	}
	if j.Notice != "" {
		j.Notice = ""
		s.writeJourney(w, j)
	}
	s.views.render(w, r, http.StatusOK, "check", &Page{Title: "check.title", Data: v})
}

func (s *Web) answerText(lang string, q question, j *journey) string {
	vals := q.get(j)
	if len(vals) == 0 {
		return s.views.cat.T(lang, "check.none")
	}
	out := ""
	for i, v := range vals {
		if i > 0 {
			out += ", "
		}
		out += s.codeLabel(lang, q.name, v)
	}
	return out
}

// confirmed is what the idempotent booking stores and replays: the
// appointment's id, or the refusal's problem name.
type confirmed struct {
	ID      string `json:"id,omitempty"`
	Problem string `json:"problem,omitempty"`
	// Replayed is set when the outcome is a stored one.
	Replayed bool `json:"-"`
}

// confirm books the held seat. The form carries its own idempotency key,
// so a second submit of the same form (a double click, a reload) replays
// the first one's outcome instead of booking again.
func (s *Web) confirm(w http.ResponseWriter, r *http.Request) {
	p, ok := s.citizen(w, r)
	if !ok {
		return
	}
	j := s.readJourney(r)
	key := r.PostFormValue("idempotency_key")
	if key == "" {
		http.Redirect(w, r, "/book/check", http.StatusSeeOther)
		return
	}
	// Without a hold there is nothing to book, only an outcome to replay,
	// which needs no admission.
	token, ok := "", true
	if j.HoldID != "" {
		token, ok = s.admission(w, r, p, j, true)
	}
	if !ok {
		return
	}
	// The key is minted by the server for one hold, so it alone names the
	// request: a repeat after the journey moved on still replays.
	hash := sha256.Sum256([]byte("web-confirm|" + key))
	req := booking.BookRequest{PersonID: p.PersonID, PersonRef: p.PersonRef, Actor: p.Actor(), HoldID: j.HoldID,
		DecisionRef: j.DecisionRef, Idempotency: &booking.Idempotency{Scope: p.Actor() + "|web confirm",
			Key: key, RequestHash: hash[:], Render: renderConfirmed}}
	// The booking finishes even if the browser gives up on this request
	// (a second click aborts the first): its replay then finds it.
	ctx := context.WithoutCancel(r.Context())
	c, err := s.book(ctx, req)
	if err == nil && c.Problem != "" {
		err = apperr.New(c.Problem, "refused")
	}
	if err != nil && j.HoldID == "" {
		http.Redirect(w, r, "/book/check", http.StatusSeeOther)
		return
	}
	if err != nil {
		s.backToSlots(w, r, j, err)
		return
	}
	// An admission admits one booking, as with the API: spent once the
	// booking stands (a replay spent it the first time).
	if token != "" && !c.Replayed {
		if err := s.cfg.Room.Spend(ctx, token); err != nil {
			s.cfg.Log.WarnContext(ctx, "admission token not spent", slog.String("error", err.Error()))
		}
	}
	j.SlotID, j.HoldID, j.IdemKey, j.DecisionRef, j.Eligible, j.Answered = 0, "", "", "", false, 0
	j.Admission, j.AdmissionExpires = "", time.Time{}
	s.writeJourney(w, j)
	http.Redirect(w, r, "/book/confirmation/"+c.ID, http.StatusSeeOther)
}

// book runs Book, waiting out a concurrent request with the same key.
func (s *Web) book(ctx context.Context, req booking.BookRequest) (confirmed, error) {
	for try := 0; ; try++ {
		d, replay, err := s.cfg.Booking.Book(ctx, req)
		if apperr.Is(err, "idempotency-in-flight") && try < 50 {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if replay != nil && replay.Replayed {
			var c confirmed
			if jerr := json.Unmarshal(replay.Body, &c); jerr != nil {
				return confirmed{}, jerr
			}
			c.Replayed = true
			return c, nil
		}
		if err != nil {
			return confirmed{}, err
		}
		return confirmed{ID: d.Appointment.ID}, nil
	}
}

func renderConfirmed(result any, err error) booking.Replay {
	if err != nil {
		name := apperr.NameOf(err)
		b, _ := json.Marshal(confirmed{Problem: name})
		return booking.Replay{Status: httpx.StatusOf(name), Body: b}
	}
	d := result.(booking.Detail)
	b, _ := json.Marshal(confirmed{ID: d.Appointment.ID})
	return booking.Replay{Status: http.StatusCreated, Body: b, Location: "/book/confirmation/" + d.Appointment.ID}
}
