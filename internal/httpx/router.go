package httpx

import (
	"net/http"
	"sort"
)

// Router wraps http.ServeMux and remembers every route it registers, so a
// test can check that /openapi.json documents them all.
type Router struct {
	*http.ServeMux
	routes []string
}

// NewRouter returns an empty Router.
func NewRouter() *Router { return &Router{ServeMux: http.NewServeMux()} }

// Handle registers h for pattern ("METHOD /path"). ServeMux wildcards must
// fill a whole path segment, so a route such as
// "POST /v1/appointments/{id}:reschedule" is registered under a pattern
// that captures "{id_action}"; documented then names the route as the
// OpenAPI document spells it.
func (r *Router) Handle(pattern string, h http.Handler, documented ...string) {
	if len(documented) == 0 {
		documented = []string{pattern}
	}
	r.routes = append(r.routes, documented...)
	r.ServeMux.Handle(pattern, h)
}

// HandleFunc registers f for pattern.
func (r *Router) HandleFunc(pattern string, f func(http.ResponseWriter, *http.Request), documented ...string) {
	r.Handle(pattern, http.HandlerFunc(f), documented...)
}

// Routes returns the documented names of the registered routes, sorted.
func (r *Router) Routes() []string {
	out := append([]string(nil), r.routes...)
	sort.Strings(out)
	return out
}
