// Package storetest gives each test its own migrated database: a fresh
// schema on the PostgreSQL named by VAXBOOK_TEST_DATABASE_URL, or a fresh
// SQLite file in the test's temporary directory.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/vaxbook/vaxbook/internal/store"
)

// EnvURL names the PostgreSQL server the suite uses.
const EnvURL = "VAXBOOK_TEST_DATABASE_URL"

// Engines lists the engines every behavioural test runs on.
var Engines = []store.Dialect{store.SQLite, store.Postgres}

// Each runs fn as a subtest once per engine, each with its own database.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, engine := range Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			fn(t, Open(t, engine))
		})
	}
}

// Open returns a migrated database of the given engine, removed when the
// test ends. Without VAXBOOK_TEST_DATABASE_URL a PostgreSQL test is skipped,
// unless VAXBOOK_REQUIRE_POSTGRES is set (as CI sets it), where it fails.
func Open(t testing.TB, engine store.Dialect) *store.DB {
	t.Helper()
	ctx := context.Background()
	var rawURL string
	switch engine {
	case store.SQLite:
		rawURL = "sqlite://" + filepath.Join(t.TempDir(), "test.db")
	case store.Postgres:
		rawURL = postgresSchema(t)
	default:
		t.Fatalf("unknown engine %q", engine)
	}
	db, err := store.Open(ctx, rawURL, store.Options{MaxConns: 40})
	if err != nil {
		t.Fatalf("open %s: %v", engine, err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx, nil); err != nil {
		t.Fatalf("migrate %s: %v", engine, err)
	}
	return db
}

// URL returns a database URL of the given engine for a test that starts
// the binary or a server itself; the database is created but not migrated.
func URL(t testing.TB, engine store.Dialect) string {
	t.Helper()
	if engine == store.SQLite {
		return "sqlite://" + filepath.Join(t.TempDir(), "test.db")
	}
	return postgresSchema(t)
}

func postgresSchema(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvURL)
	if base == "" {
		if os.Getenv("VAXBOOK_REQUIRE_POSTGRES") != "" {
			t.Fatalf("%s is not set but VAXBOOK_REQUIRE_POSTGRES is", EnvURL)
		}
		t.Skipf("%s not set; PostgreSQL tests skipped", EnvURL)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open admin connection: %v", err)
	}
	defer admin.Close()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer a.Close()
		_, _ = a.Exec("DROP SCHEMA " + schema + " CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
