// Package store opens the database (embedded SQLite or PostgreSQL), applies
// the embedded migrations, runs write transactions and turns driver errors
// into a few errors the domain packages can reason about.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// Dialect names a storage engine.
type Dialect string

// The two engines vaxbook runs on.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// DB is an open database. Reads may use Read directly; every write goes
// through InTx so that SQLite's single writer is respected.
type DB struct {
	Dialect Dialect
	// Read serves queries outside write transactions.
	Read *sql.DB
	// Write is the pool that write transactions use. On SQLite it holds
	// exactly one connection: several writers colliding on busy timeouts
	// stall for seconds, one serialized writer does not.
	Write *sql.DB
	// Path is the SQLite file ("" on PostgreSQL).
	Path string
	// URL is the URL the database was opened with.
	URL string
}

// Options tune Open.
type Options struct {
	// MaxConns bounds the PostgreSQL pool (default 32).
	MaxConns int
	// Logger receives connection-level events; nil discards them.
	Logger *slog.Logger
}

// Open connects to rawURL: "sqlite://PATH" (or a bare path) or
// "postgres://...". It does not migrate; call Migrate.
func Open(ctx context.Context, rawURL string, opts Options) (*DB, error) {
	switch {
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		return openPostgres(ctx, rawURL, opts)
	case strings.HasPrefix(rawURL, "sqlite://"):
		return openSQLite(ctx, strings.TrimPrefix(rawURL, "sqlite://"), rawURL)
	case strings.Contains(rawURL, "://"):
		return nil, fmt.Errorf("open database: unsupported URL scheme in %q", redactURL(rawURL))
	default:
		return openSQLite(ctx, rawURL, "sqlite://"+rawURL)
	}
}

func openPostgres(ctx context.Context, rawURL string, opts Options) (*DB, error) {
	pool, err := sql.Open("pgx", rawURL)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	maxConns := opts.MaxConns
	if maxConns <= 0 {
		maxConns = 32
	}
	pool.SetMaxOpenConns(maxConns)
	pool.SetMaxIdleConns(maxConns)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	if err := pool.PingContext(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect postgres: %w", err)
	}
	return &DB{Dialect: Postgres, Read: pool, Write: pool, URL: rawURL}, nil
}

func openSQLite(ctx context.Context, path, rawURL string) (*DB, error) {
	if path == "" {
		return nil, errors.New("open sqlite: empty path")
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
	}
	// synchronous(FULL): a 201 must survive a power cut, not just a crash.
	// _txlock=immediate takes the write lock at BEGIN, so a write
	// transaction never fails half-way on an upgrade from a read lock.
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)"} {
		q.Add("_pragma", p)
	}
	dsn := "file:" + path + "?" + q.Encode()
	write, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxIdleTime(0)
	write.SetConnMaxLifetime(0)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	read, err := sql.Open("sqlite", dsn)
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	read.SetMaxOpenConns(8)
	read.SetMaxIdleConns(8)
	return &DB{Dialect: SQLite, Read: read, Write: write, Path: path, URL: rawURL}, nil
}

// Close closes both pools.
func (db *DB) Close() error {
	err := db.Write.Close()
	if db.Read != db.Write {
		err = errors.Join(err, db.Read.Close())
	}
	return err
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	return db.Read.PingContext(ctx)
}

// Tx is a write transaction.
type Tx struct {
	*sql.Tx
	Dialect Dialect
}

// InTx runs fn in a write transaction and commits when fn returns nil. On
// PostgreSQL a serialization failure or deadlock is retried a few times: the
// transaction did not happen, so running it again is safe.
func (db *DB) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	const attempts = 4
	var err error
	for i := 0; i < attempts; i++ {
		err = db.inTxOnce(ctx, fn)
		if err == nil || !IsRetryable(err) {
			return err
		}
		time.Sleep(time.Duration(i+1) * 5 * time.Millisecond)
	}
	return err
}

func (db *DB) inTxOnce(ctx context.Context, fn func(tx *Tx) error) (err error) {
	sqlTx, err := db.Write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	tx := &Tx{Tx: sqlTx, Dialect: db.Dialect}
	defer func() {
		if p := recover(); p != nil {
			_ = sqlTx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = sqlTx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Savepoint runs fn inside a savepoint of tx: if fn fails, only its own
// writes are undone and the transaction goes on. Batched bookings use it so
// that one caller's refusal does not undo another's seat.
func (tx *Tx) Savepoint(ctx context.Context, name string, fn func() error) error {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT "+name); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	if err := fn(); err != nil {
		if _, rbErr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT "+name); rbErr != nil {
			return errors.Join(err, fmt.Errorf("rollback to savepoint: %w", rbErr))
		}
		return err
	}
	if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT "+name); err != nil {
		return fmt.Errorf("release savepoint: %w", err)
	}
	return nil
}

// redactURL drops the password from a database URL before it is printed.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

// Redacted returns the database URL without its password, for logs.
func (db *DB) Redacted() string { return redactURL(db.URL) }
