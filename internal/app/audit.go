package app

import (
	"context"
	"log/slog"

	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/httpapi"
	"github.com/vaxbook/vaxbook/internal/httpapi/auditapi"
	"github.com/vaxbook/vaxbook/internal/store"
)

// buildAudit makes the sealer and the audit HTTP module.
func (a *App) buildAudit() (httpapi.Module, error) {
	key, err := a.auditKey()
	if err != nil {
		return nil, err
	}
	cfg := a.cfg.Audit
	cfg.Metrics = a.Registry
	if a.Sealer, err = audit.NewSealer(a.DB, key, cfg, a.log, a.cfg.Clock); err != nil {
		return nil, err
	}
	return &auditapi.Module{DB: a.DB, Auth: a.Identity, Log: a.log, PublicKey: key.PublicKey(),
		Clock: a.cfg.Clock}, nil
}

// auditKey returns the configured key or a default one. A throwaway key
// on PostgreSQL keeps tests and demos running; its checkpoints cannot be
// checked once the process is gone, which the warning says.
func (a *App) auditKey() (audit.Key, error) {
	if a.cfg.AuditKey != nil {
		return *a.cfg.AuditKey, nil
	}
	if a.DB.Dialect == store.SQLite {
		path := a.DB.Path + ".audit.key"
		key, created, err := audit.LoadOrCreateKeyFile(path, audit.DefaultOrigin)
		if created {
			a.log.Warn("generated a new audit signing key beside the database; back it up",
				slog.String("key_file", path), slog.String("public_key", key.PublicKey()))
		}
		return key, err
	}
	key, _, err := audit.GenerateKey(audit.DefaultOrigin)
	if err == nil {
		a.log.Warn("no audit key configured: checkpoints are signed with a throwaway key; set VAXBOOK_AUDIT_KEY_FILE",
			slog.String("public_key", key.PublicKey()))
	}
	return key, err
}

// startAudit runs the sealer until ctx ends.
func (a *App) startAudit(ctx context.Context) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		_ = a.Sealer.Run(ctx)
	}()
}
