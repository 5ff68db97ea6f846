package app

import (
	"fmt"

	"github.com/vaxbook/vaxbook/internal/httpapi/importapi"
)

// buildImports returns the admin import module. Only manifests on the
// configured ImportHosts can be imported over HTTP.
func (a *App) buildImports() (*importapi.Module, error) {
	m, err := importapi.New(importapi.Config{DB: a.DB, Auth: a.Identity, Log: a.log, Clock: a.cfg.Clock,
		Hosts: a.cfg.ImportHosts})
	if err != nil {
		return nil, fmt.Errorf("imports: %w", err)
	}
	return m, nil
}
