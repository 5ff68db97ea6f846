// Package waitroomapi serves the waiting room: its state, tickets, the
// published lottery draw, the admin settings and the waiting-room page.
package waitroomapi

import (
	"crypto/rand"
	"embed"
	"encoding/base64"
	"log/slog"
	"net/http"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/httpx"
	"github.com/vaxbook/vaxbook/internal/waitroom"
)

//go:embed openapi.json
var openapi []byte

//go:embed static/waitroom.js page.html
var assets embed.FS

// Client identification for callers without a citizen session.
const (
	ClientHeader = "Waiting-Room-Client"
	clientCookie = "vaxbook_wr_client"
)

// Module is the waiting-room API and page.
type Module struct {
	Room *waitroom.Room
	Auth httpx.Authenticator
	Log  *slog.Logger
	// Limit wraps a handler with a rate limit of the named kind; nil means
	// no limit. Ticket creation uses the kind "tickets".
	Limit func(kind string, h http.Handler) http.Handler
	// SecureCookies marks cookies Secure (behind HTTPS).
	SecureCookies bool
}

// Register adds the routes.
func (m *Module) Register(r *httpx.Router) {
	create := http.Handler(http.HandlerFunc(m.createTicket))
	page := http.Handler(http.HandlerFunc(m.pagePost))
	if m.Limit != nil {
		create = m.Limit("tickets", create)
		page = m.Limit("tickets", page)
	}
	r.HandleFunc("GET /v1/waiting-room", m.info)
	r.HandleFunc("PUT /v1/admin/waiting-room", m.configure)
	r.Handle("POST /v1/waiting-room/tickets", create)
	r.HandleFunc("GET /v1/waiting-room/tickets/{ticket}", m.ticket)
	r.HandleFunc("DELETE /v1/waiting-room/tickets/{ticket}", m.leave)
	r.HandleFunc("POST /v1/waiting-room/tickets/{ticket}/notify", m.notify)
	r.HandleFunc("GET /v1/waiting-room/draw", m.draw)
	r.HandleFunc("GET /waiting-room", m.page)
	r.Handle("POST /waiting-room", page)
	r.HandleFunc("GET /waiting-room/waitroom.js", m.script)
}

// OpenAPI returns the module's document fragment.
func (m *Module) OpenAPI() []byte { return openapi }

type info struct {
	State          string    `json:"state"`
	OpensAt        time.Time `json:"opens_at,omitzero"`
	Mode           string    `json:"mode"`
	RatePerS       float64   `json:"admission_rate_per_s"`
	TokenTTLS      int       `json:"token_ttl_s"`
	SeedCommitment string    `json:"seed_commitment,omitempty"`
	PublicValue    string    `json:"public_value,omitempty"`
}

func (m *Module) info(w http.ResponseWriter, r *http.Request) {
	s := m.Room.Settings()
	w.Header().Set("Cache-Control", "max-age=1")
	httpx.JSON(w, http.StatusOK, infoOf(s, m.Room.Now()))
}

func infoOf(s waitroom.Settings, now time.Time) info {
	return info{State: s.Phase(now), OpensAt: s.OpensAt, Mode: s.Mode, RatePerS: s.RatePerS,
		TokenTTLS: int(s.TokenTTL.Seconds()), SeedCommitment: s.Commitment(), PublicValue: s.PublicValue}
}

type settingsBody struct {
	OpensAt     time.Time `json:"opens_at"`
	Mode        string    `json:"mode"`
	RatePerS    float64   `json:"admission_rate_per_s"`
	TokenTTLS   int       `json:"token_ttl_s"`
	PublicValue string    `json:"public_value"`
}

func (m *Module) configure(w http.ResponseWriter, r *http.Request) {
	p, err := httpx.Staff(m.Auth, r, httpx.RoleAdmin)
	if err != nil {
		httpx.Problem(w, r, m.Log, err)
		return
	}
	var b settingsBody
	if err := httpx.Decode(w, r, &b); err != nil {
		httpx.Problem(w, r, m.Log, err)
		return
	}
	s, err := m.Room.Configure(r.Context(), waitroom.Settings{Mode: b.Mode, OpensAt: b.OpensAt, RatePerS: b.RatePerS,
		TokenTTL: time.Duration(b.TokenTTLS) * time.Second, PublicValue: b.PublicValue}, p.Actor())
	if err != nil {
		httpx.Problem(w, r, m.Log, err)
		return
	}
	httpx.JSON(w, http.StatusOK, infoOf(s, m.Room.Now()))
}

// ticketBody is a ticket as API.md shows it.
type ticketBody struct {
	Ticket             string    `json:"ticket"`
	Status             string    `json:"status"`
	Position           *int      `json:"position"`
	EstimatedWaitS     int       `json:"estimated_wait_s"`
	PollAfterS         int       `json:"poll_after_s"`
	AdmissionToken     string    `json:"admission_token,omitempty"`
	AdmissionExpiresAt time.Time `json:"admission_expires_at,omitzero"`
	Message            string    `json:"message"`
	NotifyURL          string    `json:"notify_url,omitempty"`
}

func bodyOf(s waitroom.Status) ticketBody {
	b := ticketBody{Ticket: s.Ticket, Status: s.Status, EstimatedWaitS: s.EstimatedWait, PollAfterS: s.PollAfter,
		AdmissionToken: s.Token, AdmissionExpiresAt: s.TokenExpires, Message: s.Message}
	if s.Position > 0 {
		b.Position = &s.Position
	}
	if s.Status == "sold_out" {
		b.NotifyURL = "/v1/waiting-room/tickets/" + s.Ticket + "/notify"
	}
	return b
}

func (m *Module) createTicket(w http.ResponseWriter, r *http.Request) {
	client, err := m.client(w, r)
	if err != nil {
		httpx.Problem(w, r, m.Log, err)
		return
	}
	s, created, err := m.Room.Join(r.Context(), client)
	if err != nil {
		httpx.Problem(w, r, m.Log, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.JSON(w, status, bodyOf(s))
}

// client names the caller for "one ticket per client": the person of a
// citizen session, else the client key from the header or cookie, else a
// new key sent back in both.
func (m *Module) client(w http.ResponseWriter, r *http.Request) (string, error) {
	if httpx.BearerToken(r) != "" || hasCookie(r, httpx.SessionCookie) {
		p, err := httpx.Citizen(m.Auth, r)
		if err != nil {
			return "", err
		}
		return "person:" + p.PersonRef, nil
	}
	key := r.Header.Get(ClientHeader)
	if key == "" {
		if c, err := r.Cookie(clientCookie); err == nil {
			key = c.Value
		}
	}
	if len(key) > 128 {
		return "", apperr.Invalid(ClientHeader, "at most 128 characters")
	}
	if key == "" {
		b := make([]byte, 18)
		_, _ = rand.Read(b)
		key = base64.RawURLEncoding.EncodeToString(b)
		http.SetCookie(w, &http.Cookie{Name: clientCookie, Value: key, Path: "/", HttpOnly: true,
			Secure: m.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: 86400})
	}
	w.Header().Set(ClientHeader, key)
	return "client:" + key, nil
}

func hasCookie(r *http.Request, name string) bool {
	_, err := r.Cookie(name)
	return err == nil
}

func (m *Module) ticket(w http.ResponseWriter, r *http.Request) {
	s, err := m.Room.Status(r.Context(), r.PathValue("ticket"))
	if err != nil {
		httpx.Problem(w, r, m.Log, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.JSON(w, http.StatusOK, bodyOf(s))
}

func (m *Module) leave(w http.ResponseWriter, r *http.Request) {
	if err := m.Room.Leave(r.Context(), r.PathValue("ticket")); err != nil {
		httpx.Problem(w, r, m.Log, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (m *Module) notify(w http.ResponseWriter, r *http.Request) {
	if err := m.Room.Notify(r.Context(), r.PathValue("ticket")); err != nil {
		httpx.Problem(w, r, m.Log, err)
		return
	}
	httpx.JSON(w, http.StatusAccepted, map[string]string{"status": "recorded",
		"message": "We noted that you want to hear when appointments come back. Keep your ticket."})
}

func (m *Module) draw(w http.ResponseWriter, r *http.Request) {
	d, ok, err := m.Room.Published(r.Context())
	if err != nil {
		httpx.Problem(w, r, m.Log, err)
		return
	}
	if !ok {
		s := m.Room.Settings()
		if s.Mode != waitroom.ModeLottery {
			httpx.WriteProblem(w, apperr.NotFound("lottery draw"))
			return
		}
		// Before the draw only the commitment is public.
		d = waitroom.Draw{OpensAt: s.OpensAt, Commitment: s.Commitment(), PublicValue: s.PublicValue}
	}
	httpx.JSON(w, http.StatusOK, d)
}
