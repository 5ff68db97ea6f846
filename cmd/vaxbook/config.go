package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/store"
)

// env returns the variable's value or def.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// dbFlags are the flags every data command shares.
type dbFlags struct {
	url     string
	dataKey string
	verbose bool
}

func (d *dbFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&d.url, "database-url", env("VAXBOOK_DATABASE_URL", "sqlite://vaxbook.db"),
		"sqlite://PATH or postgres://... (VAXBOOK_DATABASE_URL)")
	fs.StringVar(&d.dataKey, "data-key", env("VAXBOOK_DATA_KEY", ""),
		"base64 32-byte key sealing personal data (VAXBOOK_DATA_KEY); SQLite generates PATH.key when unset")
	fs.BoolVar(&d.verbose, "v", false, "debug logging")
}

// open opens and migrates the database.
func (d *dbFlags) open(ctx context.Context, log *slog.Logger) (*store.DB, error) {
	db, err := store.Open(ctx, d.url, store.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx, log); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// keys returns the personal-data keys: from --data-key, or for SQLite from
// a key file beside the database, created on first use (and said so).
// PostgreSQL refuses to start without a configured key: a generated key on
// one node would make data unreadable on the next.
func (d *dbFlags) keys(db *store.DB, log *slog.Logger) (*pii.Keys, error) {
	if d.dataKey != "" {
		master, err := pii.ParseKey(d.dataKey)
		if err != nil {
			return nil, err
		}
		return pii.NewKeys(master)
	}
	if db.Dialect != store.SQLite {
		return nil, fmt.Errorf("VAXBOOK_DATA_KEY (or --data-key) is required with PostgreSQL; make one with: head -c32 /dev/urandom | base64")
	}
	path := db.Path + ".key"
	master, created, err := pii.LoadOrCreateKeyFile(path)
	if err != nil {
		return nil, err
	}
	if created {
		log.Warn("generated a new data key beside the database; back it up, personal data cannot be read without it",
			slog.String("key_file", filepath.Clean(path)))
	}
	return pii.NewKeys(master)
}

// newLogger returns the process logger: JSON unless VAXBOOK_LOG_FORMAT=text.
func newLogger(verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(os.Getenv("VAXBOOK_LOG_FORMAT"), "text") {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}

// keysFor resolves the personal-data keys without keeping a connection
// open: the key file of a SQLite database sits beside it.
func (d *dbFlags) keysFor(ctx context.Context, log *slog.Logger) (*pii.Keys, error) {
	db, err := store.Open(ctx, d.url, store.Options{})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return d.keys(db, log)
}
