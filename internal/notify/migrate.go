package notify

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/vaxbook/vaxbook/internal/store"
)

// driver returns the river driver for the engine. Both run over
// database/sql on the store's write pool, so jobs are inserted with the
// booking's own *sql.Tx; on SQLite that pool is the one serialized write
// connection, which river shares with every other writer.
func driver(db *store.DB) riverdriver.Driver[*sql.Tx] {
	if db.Dialect == store.SQLite {
		return riversqlite.New(db.Write)
	}
	return riverdatabasesql.New(db.Write)
}

// Migrate applies river's own migrations (its job, leader and queue
// tables). Run it after the store's migrations, from migrate, serve and
// tests.
func Migrate(ctx context.Context, db *store.DB) error {
	m, err := rivermigrate.New(driver(db), &rivermigrate.Config{Logger: quiet(nil)})
	if err != nil {
		return fmt.Errorf("river migrations: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("river migrations: %w", err)
	}
	return nil
}

// quiet returns log, or a logger that drops everything: river logs to
// standard output when given none.
func quiet(log *slog.Logger) *slog.Logger {
	if log != nil {
		return log
	}
	return slog.New(slog.DiscardHandler)
}

// warnOnly passes on river's warnings and errors only: its Info lines (job
// counts every few seconds) are loop chatter, not state changes worth an
// operator's time.
type warnOnly struct{ slog.Handler }

func (h warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}

func (h warnOnly) WithAttrs(attrs []slog.Attr) slog.Handler {
	return warnOnly{h.Handler.WithAttrs(attrs)}
}

func (h warnOnly) WithGroup(name string) slog.Handler { return warnOnly{h.Handler.WithGroup(name)} }
