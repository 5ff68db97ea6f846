// Package web serves the pages people use: the citizen booking journey and
// the staff console, rendered on the server with the U.S. Web Design
// System. Every step is a plain form that works without JavaScript, and
// every page calls the same services the JSON API does.
package web

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/eligibility"
	"github.com/vaxbook/vaxbook/internal/geo"
	"github.com/vaxbook/vaxbook/internal/httpx"
	"github.com/vaxbook/vaxbook/internal/identity"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/waitroom"
)

// Config is what the pages need; every field but Registry is required.
type Config struct {
	Log   *slog.Logger
	Clock clock.Clock
	// PublicURL is the address people reach the service at; https makes
	// every cookie Secure.
	PublicURL string
	// Keys seal the journey cookie and derive the CSRF tokens.
	Keys        *pii.Keys
	Identity    *identity.Store
	Eligibility *eligibility.Service
	Booking     *booking.Service
	// Search is the slot search index GET /v1/slots answers from.
	Search *geo.Index
	// Registry is read by the staff dashboard; when it is also a
	// Registerer the console's own counters (bookings and 409s by site)
	// are registered on it.
	Registry prometheus.Gatherer
	// Room is the waiting room; when it is on, /book sends people through
	// it and the booking carries their admission token. Nil: no room.
	Room *waitroom.Room
	// Limiter rate-limits the manage lookup per client address; nil when
	// limits are off.
	Limiter *waitroom.Limiter
	// DashboardInterval is how often the dashboard samples the registry
	// (default 2 s).
	DashboardInterval time.Duration
}

// Web is the pages module.
type Web struct {
	cfg    Config
	views  *views
	assets *assets
	guard  *guard

	staffQ  staffQueries
	dash    sampler
	metrics *Metrics
}

// New loads the templates, translations and assets.
func New(cfg Config) (*Web, error) {
	if cfg.Log == nil || cfg.Clock == nil || cfg.Keys == nil || cfg.Identity == nil ||
		cfg.Eligibility == nil || cfg.Booking == nil || cfg.Search == nil {
		return nil, errors.New("web: Log, Clock, Keys, Identity, Eligibility, Booking and Search are required")
	}
	a, err := newAssets()
	if err != nil {
		return nil, err
	}
	cat, err := loadCatalog()
	if err != nil {
		return nil, err
	}
	v, err := loadViews(cat, a, cfg.Log)
	if err != nil {
		return nil, err
	}
	secure := strings.HasPrefix(cfg.PublicURL, "https://")
	reg, _ := cfg.Registry.(prometheus.Registerer)
	m, err := newMetrics(cfg.Booking, reg)
	if err != nil {
		return nil, err
	}
	return &Web{cfg: cfg, views: v, assets: a, guard: newGuard(secure, cfg.Keys.Hash), metrics: m}, nil
}

// Metrics returns the console's counters: add it to the booking service
// as a listener and as a refusal observer.
func (s *Web) Metrics() *Metrics { return s.metrics }

// OpenAPI returns nil: the pages are HTML, not part of the JSON contract.
func (s *Web) OpenAPI() []byte { return nil }

// Register adds every page route.
func (s *Web) Register(r *httpx.Router) {
	r.Handle("GET /static/", s.assets)
	s.page(r, "GET /{$}", s.start)
	s.page(r, "GET /lang/{lang}", s.switchLang)
	s.page(r, "GET /book", s.begin)
	s.page(r, "GET /book/waiting-room", s.waitingRoom)
	s.page(r, "POST /book/waiting-room", s.joinWaitingRoom)
	s.page(r, "GET /book/identity", s.identityPage)
	s.page(r, "POST /book/identity", s.identitySubmit)
	s.page(r, "GET /book/questions/{step}", s.questionPage)
	s.page(r, "POST /book/questions/{step}", s.questionSubmit)
	s.page(r, "GET /book/result", s.result)
	s.page(r, "GET /book/slots", s.slots)
	s.page(r, "POST /book/hold", s.hold)
	s.page(r, "POST /book/hold/extend", s.extend)
	s.page(r, "GET /book/check", s.check)
	s.page(r, "POST /book/confirm", s.confirm)
	s.page(r, "GET /book/confirmation/{id}", s.confirmation)
	s.page(r, "GET /appointments/{id}/calendar.ics", s.calendar)
	s.page(r, "GET /manage", s.manageFind)
	s.page(r, "POST /manage", s.limited("manage", s.manageLookup))
	s.page(r, "GET /manage/appointment", s.manageView)
	s.page(r, "GET /manage/cancel", s.manageCancelAsk)
	s.page(r, "POST /manage/cancel", s.manageCancel)
	s.page(r, "GET /manage/reschedule", s.manageSlots)
	s.page(r, "POST /manage/reschedule", s.manageReschedule)
	s.registerStaff(r)
}

// begin starts a booking: through the waiting room when it is on and the
// person has no admission yet, then straight to the questions when the
// browser already has a session, else to the identity form.
func (s *Web) begin(w http.ResponseWriter, r *http.Request) {
	if s.roomOn() && !s.readJourney(r).admitted(s.cfg.Room.Now()) {
		http.Redirect(w, r, "/book/waiting-room", http.StatusSeeOther)
		return
	}
	if _, err := s.principal(r); err == nil {
		http.Redirect(w, r, "/book/questions/1", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/book/identity", http.StatusSeeOther)
}

// page registers a page handler behind the guard.
func (s *Web) page(r *httpx.Router, pattern string, h http.HandlerFunc) {
	r.Handle(pattern, s.guard.wrap(h))
}

func (s *Web) start(w http.ResponseWriter, r *http.Request) {
	s.views.render(w, r, http.StatusOK, "start", &Page{Title: "start.title"})
}

// switchLang remembers the chosen language and returns to the page the
// person was on.
func (s *Web) switchLang(w http.ResponseWriter, r *http.Request) {
	lang := r.PathValue("lang")
	if !validLang(lang) {
		http.NotFound(w, r)
		return
	}
	http.SetCookie(w, s.guard.cookie(LangCookie, lang, 365*24*3600))
	http.Redirect(w, r, localPath(r.URL.Query().Get("next")), http.StatusSeeOther)
}

// localPath returns p when it is a path on this site, else "/", so a
// crafted link cannot send people elsewhere.
func localPath(p string) string {
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") ||
		strings.Contains(p, `\`) {
		return "/"
	}
	return p
}

// limited applies the app's rate limit of kind per client address (the
// Limiter), answering a refusal with a page rather than the API's JSON.
// Without a Limiter (limits off) h runs as is.
func (s *Web) limited(kind string, h http.HandlerFunc) http.HandlerFunc {
	if s.cfg.Limiter == nil {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) {
		passed := false
		probe := &headerOnly{h: http.Header{}}
		s.cfg.Limiter.Wrap(kind, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			passed = true
			h(w, r)
		})).ServeHTTP(probe, r)
		if !passed {
			if ra := probe.h.Get("Retry-After"); ra != "" {
				w.Header().Set("Retry-After", ra)
			}
			s.fail(w, r, apperr.New("rate-limited", "too many lookups from this address"))
		}
	}
}

// headerOnly receives the limiter's refusal, which the page replaces.
type headerOnly struct{ h http.Header }

func (p *headerOnly) Header() http.Header         { return p.h }
func (p *headerOnly) Write(b []byte) (int, error) { return len(b), nil }
func (p *headerOnly) WriteHeader(int)             {}
