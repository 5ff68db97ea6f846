package audit

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/vaxbook/vaxbook/internal/store"
)

// appendOnlyTables are the tables the service may read and append to but
// never change.
var appendOnlyTables = []string{"audit_log", "audit_log_default", "audit_leaves", "audit_nodes", "audit_checkpoints"}

// GrantAppendOnly sets up role, on PostgreSQL, as the role the service runs
// as: it may read and write every table of the current schema, except that
// on the audit tables it may only SELECT and INSERT. It creates the role
// (NOLOGIN; give it LOGIN and a password yourself) if it does not exist.
// Run it as the owner of the tables, after every migration: grants cover
// the tables that exist when it runs. The owner keeps its rights, so the
// service must not connect as the owner.
func GrantAppendOnly(ctx context.Context, db *store.DB, role string) error {
	if db.Dialect != store.Postgres {
		return errors.New("audit grant: roles exist only on PostgreSQL; SQLite relies on its triggers")
	}
	if role == "" {
		return errors.New("audit grant: empty role name")
	}
	conn, err := db.Write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("audit grant: %w", err)
	}
	defer conn.Close()
	var schema string
	var exists bool
	err = conn.QueryRowContext(ctx, "SELECT current_schema(), EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", role).
		Scan(&schema, &exists)
	if err != nil {
		return fmt.Errorf("audit grant: %w", err)
	}
	for _, stmt := range grantStatements(pgx.Identifier{role}.Sanitize(), pgx.Identifier{schema}.Sanitize(), exists) {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("audit grant: %s: %w", stmt, err)
		}
	}
	return revokePartitions(ctx, db, role)
}

func grantStatements(role, schema string, exists bool) []string {
	var out []string
	if !exists {
		out = append(out, "CREATE ROLE "+role+" NOLOGIN")
	}
	out = append(out,
		"GRANT USAGE ON SCHEMA "+schema+" TO "+role,
		"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "+schema+" TO "+role,
		"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA "+schema+" TO "+role,
		"GRANT EXECUTE ON FUNCTION "+schema+".audit_ensure_partitions(BIGINT, INT) TO "+role,
	)
	for _, t := range appendOnlyTables {
		out = append(out, "REVOKE UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES ON "+schema+"."+t+" FROM "+role)
	}
	return out
}

// revokePartitions takes the same rights off every monthly partition,
// which ALL TABLES granted too.
func revokePartitions(ctx context.Context, db *store.DB, role string) error {
	rows, err := db.Write.QueryContext(ctx, `SELECT c.relname FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'audit_log'::regclass`)
	if err != nil {
		return fmt.Errorf("audit grant: list partitions: %w", err)
	}
	var parts []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return fmt.Errorf("audit grant: list partitions: %w", err)
		}
		parts = append(parts, p)
	}
	rows.Close()
	for _, p := range parts {
		stmt := "REVOKE UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES ON " + pgx.Identifier{p}.Sanitize() +
			" FROM " + pgx.Identifier{role}.Sanitize()
		if _, err := db.Write.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("audit grant: %w", err)
		}
	}
	return nil
}
