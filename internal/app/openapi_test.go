package app_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/vaxbook/vaxbook/internal/app/apptest"
)

// TestOpenAPIDocumentsEveryRoute fails when a route the server registers is
// missing from /openapi.json, or the document names a method the route
// does not have.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	t.Parallel()
	svc := apptest.Start(t, apptest.Options{NoDemo: true})
	resp, err := http.Get(svc.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Fatalf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	routes := svc.Server.Routes()
	t.Logf("%d routes registered", len(routes))
	if len(routes) < 20 {
		t.Fatalf("only %d routes registered", len(routes))
	}
	for _, route := range routes {
		method, path, ok := strings.Cut(route, " ")
		if !ok {
			continue // method-less patterns are pages' catch-alls
		}
		if strings.HasPrefix(path, "/static/") || !(strings.HasPrefix(path, "/v1/") || strings.HasPrefix(path, "/fhir/") ||
			path == "/healthz" || path == "/readyz" || path == "/metrics" || path == "/openapi.json") {
			continue // HTML pages are not part of the JSON contract
		}
		ops, found := doc.Paths[strings.TrimSuffix(path, "{$}")]
		if !found {
			t.Errorf("%s is registered but not documented", route)
			continue
		}
		if _, found := ops[strings.ToLower(method)]; !found {
			t.Errorf("%s: the document has no %s operation for %s", route, method, path)
		}
	}
}
