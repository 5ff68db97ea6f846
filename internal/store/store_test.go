package store_test

import (
	"context"
	"testing"

	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
)

func TestMigrateAndConstraints(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		n, err := db.Pending(ctx)
		if err != nil || n != 0 {
			t.Fatalf("pending = %d, %v; want 0 after Migrate", n, err)
		}
		err = db.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.ExecContext(ctx, store.RebindFor(db.Dialect,
				"INSERT INTO regions (code, name, jurisdiction) VALUES (?, ?, ?)"), "MA", "Massachusetts", "MA")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		err = db.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.ExecContext(ctx, store.RebindFor(db.Dialect,
				"INSERT INTO regions (code, name, jurisdiction) VALUES (?, ?, ?)"), "MA", "again", "MA")
			return err
		})
		if !store.IsUniqueViolation(err) {
			t.Fatalf("duplicate region: err = %v, want a unique violation", err)
		}
	})
}

func TestParseQueries(t *testing.T) {
	t.Parallel()
	text := "-- name: a\nSELECT ? WHERE x = '?'\n-- name: b\nSELECT 1\n-- name: b postgres\nSELECT 2\n"
	pg := store.ParseQueries(store.Postgres, "t", text)
	if got := pg.Get("a"); got != "SELECT $1 WHERE x = '?'" {
		t.Errorf("a on postgres = %q", got)
	}
	if got := pg.Get("b"); got != "SELECT 2" {
		t.Errorf("b on postgres = %q, want the engine-specific text", got)
	}
	lite := store.ParseQueries(store.SQLite, "t", text)
	if got := lite.Get("b"); got != "SELECT 1" {
		t.Errorf("b on sqlite = %q", got)
	}
}
