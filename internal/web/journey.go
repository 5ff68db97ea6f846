package web

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"
)

// JourneyCookie carries a person's answers between the pages, sealed so
// that neither the browser nor anyone who copies the cookie can read or
// change them. Keeping them in the request rather than on the server means
// any node can serve the next page and nothing needs sweeping.
const JourneyCookie = "vaxbook_journey"

const journeyContext = "web-journey"

// journey is the state of one booking in progress.
type journey struct {
	// Answers to the eligibility questions, by question name.
	Residence  string   `json:"r,omitempty"`
	Occupation string   `json:"o,omitempty"`
	Conditions []string `json:"c,omitempty"`
	Ties       []string `json:"t,omitempty"`
	Companion  string   `json:"p,omitempty"` // "yes", "no" or "" (not answered)
	// Answered counts the question pages completed.
	Answered int `json:"n,omitempty"`

	DecisionRef string `json:"d,omitempty"`
	Eligible    bool   `json:"e,omitempty"`
	ZIP         string `json:"z,omitempty"`

	SlotID      int64     `json:"s,omitempty"`
	HoldID      string    `json:"h,omitempty"`
	HoldExpires time.Time `json:"x,omitempty"`
	// IdemKey is the confirm form's Idempotency-Key: made once per held
	// slot, so submitting the form twice books once.
	IdemKey string `json:"k,omitempty"`
	// Notice is a catalog key shown once on the next page.
	Notice string `json:"m,omitempty"`
	// Reschedule is the appointment being moved, when the journey is a
	// reschedule from the manage pages.
	Reschedule string `json:"rs,omitempty"`
	// Manage is the appointment unlocked on the manage page by its
	// reference and the person's date of birth.
	Manage string `json:"mg,omitempty"`
	// Ticket is the waiting-room ticket while the person queues;
	// Admission the token they got when admitted, which the hold and the
	// booking present to the room as the API's Admission-Token header.
	Ticket           string    `json:"wt,omitempty"`
	Admission        string    `json:"wa,omitempty"`
	AdmissionExpires time.Time `json:"wx,omitzero"`
	// AfterRoom is where the waiting room sends the person once admitted
	// ("" is /book; a reschedule returns to its list of times).
	AfterRoom string `json:"wr,omitempty"`
}

func (s *Web) readJourney(r *http.Request) journey {
	var j journey
	c, err := r.Cookie(JourneyCookie)
	if err != nil {
		return j
	}
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return j
	}
	plain, err := s.cfg.Keys.Open(journeyContext, raw)
	if err != nil {
		return journey{}
	}
	_ = json.Unmarshal(plain, &j)
	return j
}

func (s *Web) writeJourney(w http.ResponseWriter, j journey) {
	b, _ := json.Marshal(j)
	v := base64.RawURLEncoding.EncodeToString(s.cfg.Keys.Seal(journeyContext, b))
	http.SetCookie(w, s.guard.cookie(JourneyCookie, v, 0))
}

func (s *Web) clearJourney(w http.ResponseWriter) {
	http.SetCookie(w, s.guard.cookie(JourneyCookie, "", -1))
}
