// Package identityapi serves POST /v1/sessions: attested sign-in.
package identityapi

import (
	_ "embed"
	"log/slog"
	"net/http"

	"github.com/vaxbook/vaxbook/internal/httpx"
	"github.com/vaxbook/vaxbook/internal/identity"
)

//go:embed openapi.json
var openapi []byte

// Module is the sessions API.
type Module struct {
	IDs *identity.Store
	Log *slog.Logger
	// Limit wraps a handler with a rate limit of the named kind; nil means
	// no limit.
	Limit func(kind string, h http.Handler) http.Handler
}

// Register adds the routes.
func (m *Module) Register(r *httpx.Router) {
	h := http.Handler(http.HandlerFunc(m.createSession))
	if m.Limit != nil {
		h = m.Limit("session", h)
	}
	r.Handle("POST /v1/sessions", h)
}

// OpenAPI returns the module's document fragment.
func (m *Module) OpenAPI() []byte { return openapi }

func (m *Module) createSession(w http.ResponseWriter, r *http.Request) {
	var a identity.Attested
	if err := httpx.Decode(w, r, &a); err != nil {
		httpx.Problem(w, r, m.Log, err)
		return
	}
	s, err := m.IDs.CreateSession(r.Context(), a)
	if err != nil {
		httpx.Problem(w, r, m.Log, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.JSON(w, http.StatusCreated, s)
}
