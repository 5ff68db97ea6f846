package bookingapi

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/httpx"
)

//go:embed openapi.json
var openapi []byte

// Admission is the waiting room as the booking routes see it. Check returns
// nil while the room is off; otherwise it verifies the token and binds it
// to the person on first use. Spend marks it used once a booking
// committed.
type Admission interface {
	Check(ctx context.Context, token, personRef string) error
	Spend(ctx context.Context, token string) error
}

// Module serves holds and appointments.
type Module struct {
	Booking *booking.Service
	Auth    httpx.Authenticator
	Log     *slog.Logger
	// Admission is nil when there is no waiting room at all.
	Admission Admission
	// Limit wraps a handler with a rate limit of the named kind.
	Limit func(kind string, h http.Handler) http.Handler
	// Actions are more "POST /v1/appointments/{id}:NAME" routes served by
	// other modules (clinicapi's check-in), since this module owns the
	// path segment; the other module documents them.
	Actions map[string]http.HandlerFunc
}

// OpenAPI returns the module's document fragment.
func (m *Module) OpenAPI() []byte { return openapi }

// Register adds the routes.
func (m *Module) Register(r *httpx.Router) {
	limit := func(kind string, h http.HandlerFunc) http.Handler {
		if m.Limit == nil {
			return h
		}
		return m.Limit(kind, h)
	}
	r.Handle("POST /v1/holds", limit("booking", m.createHold))
	r.HandleFunc("GET /v1/holds/{id}", m.getHold)
	r.HandleFunc("DELETE /v1/holds/{id}", m.releaseHold)
	r.HandleFunc("POST /v1/holds/{id_action}", m.holdAction, "POST /v1/holds/{id}:extend")
	r.Handle("POST /v1/appointments", limit("booking", m.book))
	r.HandleFunc("GET /v1/appointments", m.listAppointments)
	r.HandleFunc("GET /v1/appointments/{id}", m.getAppointment)
	r.HandleFunc("DELETE /v1/appointments/{id}", m.cancel)
	actions := []string{"POST /v1/appointments/{id}:reschedule"}
	for name := range m.Actions {
		actions = append(actions, "POST /v1/appointments/{id}:"+name)
	}
	r.HandleFunc("POST /v1/appointments/{id_action}", m.appointmentAction, actions...)
	r.HandleFunc("POST /v1/admin/sites", m.createSite)
	r.HandleFunc("POST /v1/admin/sites/{id}/slots:generate", m.generateSlots)
}

func (m *Module) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpx.Problem(w, r, m.Log, err)
}

// citizen authenticates a citizen; trusted requires a session whose
// contact matches the one on file (reading or changing appointments).
func (m *Module) citizen(w http.ResponseWriter, r *http.Request, trusted bool) (httpx.Principal, bool) {
	p, err := httpx.Citizen(m.Auth, r)
	if err == nil && trusted && !p.Trusted {
		err = apperr.New("forbidden", "this session was opened with contact details that differ from the ones on file; "+
			"sign in with those to see or change appointments")
	}
	if err != nil {
		m.fail(w, r, err)
		return p, false
	}
	return p, true
}

// admitted checks the Admission-Token while the waiting room is on.
func (m *Module) admitted(r *http.Request, p httpx.Principal) (string, error) {
	if m.Admission == nil {
		return "", nil
	}
	token := r.Header.Get("Admission-Token")
	return token, m.Admission.Check(r.Context(), token, p.PersonRef)
}

// splitAction splits "{id}:{action}" path segments.
func splitAction(r *http.Request) (id, action string) {
	seg := r.PathValue("id_action")
	i := strings.LastIndexByte(seg, ':')
	if i < 0 {
		return seg, ""
	}
	return seg[:i], seg[i+1:]
}

// requestHash identifies a request body for idempotency: the decoded
// request encoded again, so white space and key order do not matter.
func requestHash(v any) []byte {
	b, _ := json.Marshal(v)
	h := sha256.Sum256(b)
	return h[:]
}
