package app

import (
	"fmt"

	"github.com/vaxbook/vaxbook/internal/httpapi"
	"github.com/vaxbook/vaxbook/internal/httpapi/fhirapi"
	"github.com/vaxbook/vaxbook/internal/httpapi/searchapi"
)

// defaultPublicURL matches serve's default listen address, for callers
// (tests) that configure no public URL.
const defaultPublicURL = "http://127.0.0.1:8080"

// buildSearch returns the modules served from the search index: slot
// search and site details, and the SMART Scheduling Links publication,
// whose absolute links come from the public URL.
func (a *App) buildSearch() ([]httpapi.Module, error) {
	public := a.cfg.PublicURL
	if public == "" {
		public = defaultPublicURL
	}
	fhir, err := fhirapi.New(fhirapi.Config{Index: a.Search, PublicURL: public, Log: a.log})
	if err != nil {
		return nil, fmt.Errorf("publication: %w", err)
	}
	return []httpapi.Module{searchapi.New(a.Search, a.log), fhir}, nil
}
