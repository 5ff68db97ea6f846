// Package fhirapi publishes our live availability in the SMART Scheduling
// Links format (GET /fhir/$bulk-publish and the NDJSON files it links), so
// public aggregators can list our slots and send people to our own booking
// pages. It renders from the geo index, never from the booking tables per
// request, and answers conditional requests.
package fhirapi

import (
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/geo"
	"github.com/vaxbook/vaxbook/internal/httpx"
)

//go:embed openapi.json
var openapi []byte

// File names the manifest links, under /fhir/.
const (
	ManifestPath  = "/fhir/$bulk-publish"
	LocationsPath = "/fhir/locations.ndjson"
	SchedulesPath = "/fhir/schedules.ndjson"
	SlotsPath     = "/fhir/slots.ndjson"
)

// Config configures the publication.
type Config struct {
	Index *geo.Index
	// PublicURL is where people and aggregators reach the service
	// (VAXBOOK_PUBLIC_URL); every link in the feed is built from it.
	PublicURL string
	Log       *slog.Logger
	// MaxAge is the Cache-Control max-age (default one minute, the polling
	// interval the specification suggests to clients).
	MaxAge time.Duration
}

// Module serves the publication.
type Module struct {
	cfg    Config
	public string

	mu       sync.Mutex
	rendered *rendering
}

// New checks the configuration and returns the module.
func New(cfg Config) (*Module, error) {
	if cfg.Index == nil {
		return nil, errors.New("fhirapi: Index is required")
	}
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("fhirapi: public URL %q must be an absolute http(s) URL", cfg.PublicURL)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = time.Minute
	}
	return &Module{cfg: cfg, public: strings.TrimRight(cfg.PublicURL, "/")}, nil
}

// Register adds the routes.
func (m *Module) Register(r *httpx.Router) {
	r.HandleFunc("GET "+ManifestPath, m.serve(func(x *rendering) file { return x.manifest }))
	r.HandleFunc("GET "+LocationsPath, m.serve(func(x *rendering) file { return x.locations }))
	r.HandleFunc("GET "+SchedulesPath, m.serve(func(x *rendering) file { return x.schedules }))
	r.HandleFunc("GET "+SlotsPath, m.serve(func(x *rendering) file { return x.slots }))
}

// OpenAPI returns the module's part of the API document.
func (m *Module) OpenAPI() []byte { return openapi }

func (m *Module) serve(pick func(*rendering) file) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		view, ok := m.cfg.Index.View()
		if !ok {
			httpx.WriteProblem(w, apperr.New("unavailable", "the publication is starting; try again shortly").
				With("retry_after_s", 1))
			return
		}
		f := pick(m.render(view))
		h := w.Header()
		h.Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(m.cfg.MaxAge.Seconds())))
		h.Set("ETag", f.etag)
		h.Set("Last-Modified", f.modified.UTC().Format(http.TimeFormat))
		if notModified(r, f) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Type", f.contentType)
		_, _ = w.Write(f.body)
	}
}

// notModified applies RFC 9110's rules: If-None-Match decides when sent,
// otherwise If-Modified-Since at one-second resolution.
func notModified(r *http.Request, f file) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		for _, tag := range strings.Split(inm, ",") {
			tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
			if tag == "*" || tag == f.etag {
				return true
			}
		}
		return false
	}
	ims, err := http.ParseTime(r.Header.Get("If-Modified-Since"))
	return err == nil && !f.modified.Truncate(time.Second).After(ims)
}

// render returns the files for view's data, rendering them once per
// generation of the index.
func (m *Module) render(view geo.View) *rendering {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rendered != nil && m.rendered.gen == view.Generation() {
		return m.rendered
	}
	m.rendered = renderView(view, m.public)
	return m.rendered
}
