// Package importapi serves POST /v1/admin/imports: an administrator
// imports a SMART Scheduling Links feed from a URL on a host the operator
// allowed. The allow-list is what keeps an admin-supplied URL from
// becoming a way to reach internal addresses; the importer itself fetches
// output files only from the manifest's own origin and refuses redirects
// to another, so every request it makes stays on an allowed host.
package importapi

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/httpx"
	"github.com/vaxbook/vaxbook/internal/smartlinks"
	"github.com/vaxbook/vaxbook/internal/store"
)

//go:embed openapi.json
var openapi []byte

// DefaultTimeout bounds one import; it stays under serve's 60-second write
// timeout so the report still reaches the caller.
const DefaultTimeout = 50 * time.Second

// maxFileBytes bounds each file of an imported feed (the real feeds are a
// few megabytes).
const maxFileBytes = 256 << 20

// Config configures the module.
type Config struct {
	DB    *store.DB
	Auth  httpx.Authenticator
	Log   *slog.Logger
	Clock clock.Clock
	// Hosts are the host:port pairs manifests may be fetched from; empty
	// refuses every URL.
	Hosts []string
	// Timeout bounds one import (default DefaultTimeout).
	Timeout time.Duration
	// HTTPClient fetches feeds (default: smartlinks' own).
	HTTPClient *http.Client
}

// Module serves the import route.
type Module struct {
	cfg   Config
	hosts map[string]bool
	// running admits one import at a time: two imports of one feed could
	// both insert the same new slot, and one would fail on the unique key.
	running sync.Mutex
}

// New checks the allow-list: every entry must be host:port.
func New(cfg Config) (*Module, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	m := &Module{cfg: cfg, hosts: map[string]bool{}}
	for _, h := range cfg.Hosts {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		host, port, err := net.SplitHostPort(h)
		if err != nil || host == "" || port == "" {
			return nil, fmt.Errorf("import host %q: want host:port", h)
		}
		m.hosts[hostPort(host, port)] = true
	}
	return m, nil
}

func hostPort(host, port string) string {
	return net.JoinHostPort(strings.ToLower(host), port)
}

// OpenAPI returns the module's document fragment.
func (m *Module) OpenAPI() []byte { return openapi }

// Register adds the route.
func (m *Module) Register(r *httpx.Router) {
	r.HandleFunc("POST /v1/admin/imports", m.create)
}

type importRequest struct {
	ManifestURL string `json:"manifest_url"`
}

func (m *Module) create(w http.ResponseWriter, r *http.Request) {
	p, err := httpx.Staff(m.cfg.Auth, r, httpx.RoleAdmin)
	if err != nil {
		httpx.Problem(w, r, m.cfg.Log, err)
		return
	}
	var req importRequest
	if err := httpx.Decode(w, r, &req); err != nil {
		httpx.Problem(w, r, m.cfg.Log, err)
		return
	}
	u, err := m.allowed(req.ManifestURL)
	if err != nil {
		httpx.Problem(w, r, m.cfg.Log, err)
		return
	}
	if !m.running.TryLock() {
		httpx.Problem(w, r, m.cfg.Log, apperr.New("conflict", "another import is running; try again when it is done"))
		return
	}
	defer m.running.Unlock()
	rep, err := m.run(r.Context(), u, p.Actor())
	if err != nil {
		httpx.Problem(w, r, m.cfg.Log, err)
		return
	}
	httpx.JSON(w, http.StatusOK, rep)
}

// allowed accepts an http(s) URL without credentials whose host:port (the
// scheme's default port when none is written) is on the allow-list.
func (m *Module) allowed(raw string) (*url.URL, error) {
	if len(m.hosts) == 0 {
		return nil, apperr.New("invalid-request",
			"imports over HTTP are off: allow the feed's host:port with serve --import-hosts or VAXBOOK_IMPORT_HOSTS")
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return nil, apperr.Invalid("manifest_url", "must be an http or https URL (local files cannot be imported over HTTP)")
	}
	if u.User != nil {
		return nil, apperr.Invalid("manifest_url", "must not carry a user name or password")
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	if !m.hosts[hostPort(u.Hostname(), port)] {
		return nil, apperr.Invalid("manifest_url",
			"host "+hostPort(u.Hostname(), port)+" is not allowed; add it to serve --import-hosts or VAXBOOK_IMPORT_HOSTS")
	}
	return u, nil
}

// run imports synchronously within the timeout. A feed that cannot be
// read is the caller's to fix (400); a database failure is ours (500).
func (m *Module) run(ctx context.Context, u *url.URL, actor string) (smartlinks.Report, error) {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	start := time.Now()
	rep, err := smartlinks.Import(ctx, m.cfg.DB, u.String(), smartlinks.Options{Log: m.cfg.Log, Clock: m.cfg.Clock,
		HTTPClient: m.cfg.HTTPClient, MaxFileBytes: maxFileBytes, Actor: actor})
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return rep, apperr.New("unavailable",
			"the import took longer than %s; batches already written stay, and importing again completes the rest", m.cfg.Timeout)
	case errors.Is(err, smartlinks.ErrManifest):
		return rep, apperr.New("invalid-request", "%s", err.Error())
	case err != nil:
		return rep, fmt.Errorf("import: %w", err)
	}
	m.cfg.Log.InfoContext(ctx, "feed imported over HTTP", slog.String("source", rep.Source),
		slog.String("actor", actor), slog.Duration("took", time.Since(start)))
	return rep, nil
}
