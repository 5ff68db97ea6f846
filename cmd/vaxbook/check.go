package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/check"
	"github.com/vaxbook/vaxbook/internal/store"
)

func init() {
	register("check", "prove the booking invariants on the database (after a load run)", runCheck)
}

func runCheck(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	var d dbFlags
	d.bind(fs)
	responses := fs.String("responses", "", "NDJSON file of the 201s a load run saw (vaxbook loadtest --responses)")
	since := fs.String("since", "", "RFC 3339 start of the run window (default: from the responses file, else all)")
	until := fs.String("until", "", "RFC 3339 end of the run window (default: from the responses file, else all)")
	jobKind := fs.String("confirmation-kind", check.DefaultConfirmationKind, "river job kind of a booking confirmation (empty skips)")
	auditPub := fs.String("audit-public-key", env("VAXBOOK_AUDIT_PUBLIC_KEY", ""),
		"verifier key of the audit checkpoints, note format (VAXBOOK_AUDIT_PUBLIC_KEY)")
	auditKeyFile := fs.String("audit-key-file", env("VAXBOOK_AUDIT_KEY_FILE", ""),
		"the audit signing key file; its public half verifies the checkpoints (VAXBOOK_AUDIT_KEY_FILE)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return &exitError{code: 2, err: err}
	}
	cfg := check.Config{ConfirmationKind: *jobKind, AuditPublicKey: *auditPub}
	var err error
	if cfg.Since, err = parseOptionalTime(*since); err != nil {
		return &exitError{code: 2, err: fmt.Errorf("--since: %w", err)}
	}
	if cfg.Until, err = parseOptionalTime(*until); err != nil {
		return &exitError{code: 2, err: fmt.Errorf("--until: %w", err)}
	}
	if *responses != "" {
		if cfg.Responses, err = readResponses(*responses); err != nil {
			return &exitError{code: 2, err: err}
		}
	}
	// Open without migrating: check only reads, and a database that is
	// behind on migrations should fail the check rather than be changed.
	// Opening a SQLite path that does not exist would create an empty
	// database; say what is missing instead.
	if path, ok := sqlitePath(d.url); ok {
		if _, err := os.Stat(path); err != nil {
			return &exitError{code: 2, err: fmt.Errorf("no database at %s: %w", path, err)}
		}
	}
	db, err := store.Open(ctx, d.url, store.Options{Logger: newLogger(d.verbose)})
	if err != nil {
		return err
	}
	defer db.Close()
	cfg.DB = db
	if cfg.AuditPublicKey == "" {
		if cfg.AuditPublicKey, err = publicAuditKey(db, *auditKeyFile); err != nil {
			return &exitError{code: 2, err: err}
		}
	}
	rep, err := check.Run(ctx, cfg)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else {
		fmt.Print(rep.Summary())
	}
	if !rep.OK() {
		return &exitError{code: 1, err: errors.New("invariant violations found")}
	}
	return nil
}

func parseOptionalTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

func readResponses(path string) (*check.Responses, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return check.ReadResponses(f)
}

// publicAuditKey reads a signing key file and returns its verifier key.
// Without a file named, SQLite's key beside the database (where serve
// keeps it) is used if it exists; otherwise the proofs go unchecked, and
// the report says so.
func publicAuditKey(db *store.DB, path string) (string, error) {
	if path == "" && db.Dialect == store.SQLite {
		path = db.Path + ".audit.key"
		if _, err := os.Stat(path); err != nil {
			return "", nil
		}
	}
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	k, err := audit.ParseKey(string(b))
	if err != nil {
		return "", err
	}
	return k.PublicKey(), nil
}

// sqlitePath returns the file of a SQLite database URL.
func sqlitePath(rawURL string) (string, bool) {
	if strings.HasPrefix(rawURL, "postgres://") || strings.HasPrefix(rawURL, "postgresql://") {
		return "", false
	}
	return strings.TrimPrefix(rawURL, "sqlite://"), true
}
