// Package httpapi assembles the HTTP server: the per-domain handler packages
// (internal/httpapi/*api and internal/web), the operational endpoints, the
// OpenAPI document and the middleware every request passes through.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/httpx"
	"github.com/vaxbook/vaxbook/internal/store"
)

// Module is one domain's set of routes.
type Module interface {
	// Register adds the module's routes.
	Register(r *httpx.Router)
	// OpenAPI returns the module's fragment of the OpenAPI document: a JSON
	// object with "paths" and, optionally, "components": {"schemas": ...}.
	OpenAPI() []byte
}

// Config is what the server needs besides its modules.
type Config struct {
	DB       *store.DB
	Log      *slog.Logger
	Registry *prometheus.Registry
	// Ready reports extra readiness conditions (demo data loaded, ...);
	// nil means ready once the database answers and is migrated.
	Ready func(ctx context.Context) error
}

// Server is the assembled handler.
type Server struct {
	cfg     Config
	router  *httpx.Router
	openapi []byte
	handler http.Handler
}

// New builds the server from its modules.
func New(cfg Config, modules ...Module) (*Server, error) {
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
		cfg.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	s := &Server{cfg: cfg, router: httpx.NewRouter()}
	doc, err := mergeOpenAPI(modules)
	if err != nil {
		return nil, err
	}
	s.openapi = doc
	s.routesOps()
	for _, m := range modules {
		m.Register(s.router)
	}
	metrics := newHTTPMetrics(cfg.Registry)
	s.handler = s.recoverer(metrics.wrap(securityHeaders(http.HandlerFunc(s.route))))
	return s, nil
}

// ServeHTTP serves a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Routes lists the documented names of every registered route.
func (s *Server) Routes() []string { return s.router.Routes() }

// OpenAPIDocument returns the merged document.
func (s *Server) OpenAPIDocument() []byte { return s.openapi }

// route sends the request to its handler, answering unknown routes with a
// problem body rather than the mux's plain text.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.router.Handler(r); pattern == "" {
		httpx.WriteProblem(w, apperr.New("not-found", "no such route: %s %s", r.Method, r.URL.Path))
		return
	}
	s.router.ServeHTTP(w, r)
}

func (s *Server) routesOps() {
	r := s.router
	r.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		httpx.JSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.HandleFunc("GET /readyz", s.readyz)
	r.Handle("GET /metrics", promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{}))
	r.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(s.openapi)
	})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	notReady := func(detail string) {
		httpx.WriteProblem(w, apperr.New("unavailable", "%s", detail))
	}
	if err := s.cfg.DB.Ping(ctx); err != nil {
		notReady("database unreachable")
		return
	}
	if n, err := s.cfg.DB.Pending(ctx); err != nil || n > 0 {
		notReady("migrations not applied")
		return
	}
	if s.cfg.Ready != nil {
		if err := s.cfg.Ready(ctx); err != nil {
			notReady(err.Error())
			return
		}
	}
	httpx.JSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// recoverer turns a panic into a 500 problem: no client may see a stack
// trace or a dropped connection.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.cfg.Log.ErrorContext(r.Context(), "handler panic", slog.String("route", r.Pattern),
					slog.Any("panic", p))
				httpx.WriteProblem(w, apperr.New("internal", "the error was logged"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newHTTPMetrics(reg *prometheus.Registry) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vaxbook_http_requests_total", Help: "HTTP requests by route and status.",
		}, []string{"route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "vaxbook_http_request_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// wrap counts requests by route pattern (never by raw path, which could hold
// references) and status.
func (m *httpMetrics) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		m.requests.WithLabelValues(route, strconv.Itoa(sw.status)).Inc()
		m.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}
