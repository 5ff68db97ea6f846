package httpx

import (
	"net/http"
	"sort"
)

// Router wraps http.ServeMux and remembers every pattern it registers, so a
// test can check that /openapi.json documents them all.
type Router struct {
	*http.ServeMux
	patterns []string
}

// NewRouter returns an empty Router.
func NewRouter() *Router { return &Router{ServeMux: http.NewServeMux()} }

// Handle registers h for pattern ("METHOD /path").
func (r *Router) Handle(pattern string, h http.Handler) {
	r.patterns = append(r.patterns, pattern)
	r.ServeMux.Handle(pattern, h)
}

// HandleFunc registers f for pattern.
func (r *Router) HandleFunc(pattern string, f func(http.ResponseWriter, *http.Request)) {
	r.Handle(pattern, http.HandlerFunc(f))
}

// Patterns returns the registered patterns, sorted.
func (r *Router) Patterns() []string {
	out := append([]string(nil), r.patterns...)
	sort.Strings(out)
	return out
}
