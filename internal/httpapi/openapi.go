package httpapi

import (
	"encoding/json"
	"fmt"
)

// base is the part of the OpenAPI document that belongs to no module.
const base = `{
  "openapi": "3.1.0",
  "info": {"title": "vaxbook", "version": "1",
    "description": "Vaccine appointment booking. Errors are RFC 9457 problem details; the last path segment of type is the problem's name (API.md). Where this differs from API.md, and why: another person's appointment, hold or decision answers 404 not-found rather than 403, so that a reference that exists looks the same as one that does not; a token of the wrong kind (a citizen session on a staff route, or the reverse) is 401 unauthenticated."},
  "paths": {
    "/healthz": {"get": {"summary": "Process is up", "responses": {"200": {"description": "up"}}}},
    "/readyz": {"get": {"summary": "Database reachable and migrated", "responses": {"200": {"description": "ready"}, "503": {"$ref": "#/components/responses/Problem"}}}},
    "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "text exposition format"}}}},
    "/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1"}}}}
  },
  "components": {
    "schemas": {
      "Problem": {"type": "object", "required": ["type", "title", "status"], "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}}}}
    },
    "parameters": {
      "AdmissionToken": {"name": "Admission-Token", "in": "header", "required": false, "schema": {"type": "string"},
        "description": "Required while the waiting room is on: the token from an admitted ticket. It binds to the first person who uses it and books once."}
    },
    "responses": {
      "Problem": {"description": "A problem (RFC 9457)", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    },
    "securitySchemes": {
      "session": {"type": "http", "scheme": "bearer", "description": "citizen session token"},
      "staff": {"type": "http", "scheme": "bearer", "description": "staff token"}
    }
  }
}`

type fragment struct {
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]json.RawMessage `json:"schemas"`
	} `json:"components"`
}

func mergeOpenAPI(modules []Module) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal([]byte(base), &doc); err != nil {
		return nil, fmt.Errorf("openapi base: %w", err)
	}
	paths := doc["paths"].(map[string]any)
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	for _, m := range modules {
		raw := m.OpenAPI()
		if len(raw) == 0 {
			continue
		}
		var f fragment
		if err := json.Unmarshal(raw, &f); err != nil {
			return nil, fmt.Errorf("openapi fragment of %T: %w", m, err)
		}
		for p, ops := range f.Paths {
			existing, _ := paths[p].(map[string]any)
			if existing == nil {
				existing = map[string]any{}
			}
			for method, op := range ops {
				if _, dup := existing[method]; dup {
					return nil, fmt.Errorf("openapi: %s %s documented twice", method, p)
				}
				existing[method] = op
			}
			paths[p] = existing
		}
		for name, s := range f.Components.Schemas {
			schemas[name] = s
		}
	}
	return json.MarshalIndent(doc, "", "  ")
}
