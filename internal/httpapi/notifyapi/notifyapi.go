// Package notifyapi serves the operators' view of the notification outbox:
// the messages that ran out of attempts.
package notifyapi

import (
	"context"
	_ "embed"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/httpx"
	"github.com/vaxbook/vaxbook/internal/notify"
)

//go:embed openapi.json
var openapi []byte

// Outbox is what the module reads; *notify.Outbox implements it.
type Outbox interface {
	Failed(ctx context.Context, limit int) ([]notify.Failed, error)
}

// Module serves the outbox routes.
type Module struct {
	Outbox Outbox
	Auth   httpx.Authenticator
	Log    *slog.Logger
}

// OpenAPI returns the module's document fragment.
func (m *Module) OpenAPI() []byte { return openapi }

// Register adds the routes.
func (m *Module) Register(r *httpx.Router) {
	r.HandleFunc("GET /v1/admin/outbox/failed", m.failed)
}

func (m *Module) failed(w http.ResponseWriter, r *http.Request) {
	if _, err := httpx.Staff(m.Auth, r, httpx.RoleAdmin); err != nil {
		httpx.Problem(w, r, m.Log, err)
		return
	}
	limit := 100
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			httpx.Problem(w, r, m.Log, apperr.Invalid("limit", "a whole number from 1 to 500"))
			return
		}
		limit = n
	}
	list, err := m.Outbox.Failed(r.Context(), limit)
	if err != nil {
		httpx.Problem(w, r, m.Log, err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"failed": list})
}
