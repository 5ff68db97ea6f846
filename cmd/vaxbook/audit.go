package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/store"
)

func init() {
	register("audit", "verify, export and seal the audit log; set up the append-only role", runAudit)
}

const auditUsage = `usage: vaxbook audit <subcommand> [flags]

subcommands:
  verify                  rebuild the Merkle tree from the database and check every checkpoint
  export --month YYYY-MM  write a month's records with the checkpoint and proofs (JSON)
  verify-bundle FILE      check an exported bundle offline
  seal                    seal what is committed now and sign a checkpoint
  grant --role NAME       PostgreSQL: make NAME a service role that may only append to the log
  public-key              print the checkpoints' verifier key`

func runAudit(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return &exitError{code: 2, err: errors.New(auditUsage)}
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "verify":
		return auditVerify(ctx, rest)
	case "export":
		return auditExport(ctx, rest)
	case "verify-bundle":
		return auditVerifyBundle(rest)
	case "seal":
		return auditSeal(ctx, rest)
	case "grant":
		return auditGrant(ctx, rest)
	case "public-key":
		return auditPublicKey(ctx, rest)
	}
	return &exitError{code: 2, err: fmt.Errorf("unknown subcommand %q\n\n%s", sub, auditUsage)}
}

// auditFlags are the flags every audit subcommand shares.
type auditFlags struct {
	db        dbFlags
	keyFile   string
	publicKey string
}

func (a *auditFlags) bind(fs *flag.FlagSet) {
	a.db.bind(fs)
	fs.StringVar(&a.keyFile, "key-file", env("VAXBOOK_AUDIT_KEY_FILE", ""),
		"Ed25519 checkpoint signing key in note format (VAXBOOK_AUDIT_KEY_FILE); SQLite defaults to PATH.audit.key")
	fs.StringVar(&a.publicKey, "public-key", env("VAXBOOK_AUDIT_PUBLIC_KEY", ""),
		"checkpoint verifier key, name+hash+base64 (VAXBOOK_AUDIT_PUBLIC_KEY); default: derived from the key file")
}

func (a *auditFlags) parse(name string, args []string, extra func(fs *flag.FlagSet)) (*flag.FlagSet, error) {
	fs := flag.NewFlagSet("audit "+name, flag.ContinueOnError)
	a.bind(fs)
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	return fs, nil
}

// auditKey loads the signing key: from keyFile, or for SQLite from a file
// beside the database, created on first use (and said so). PostgreSQL
// needs a configured file: a key made up on one node would sign
// checkpoints no other node can continue.
func auditKey(db *store.DB, keyFile string, create bool, log *slog.Logger) (audit.Key, error) {
	if keyFile == "" {
		if db.Dialect != store.SQLite {
			return audit.Key{}, errors.New("VAXBOOK_AUDIT_KEY_FILE (or --key-file) is required with PostgreSQL; " +
				"make one with: vaxbook audit public-key --key-file PATH --create")
		}
		keyFile = db.Path + ".audit.key"
		create = true
	}
	return loadKeyFile(keyFile, create, log)
}

// publicKeyOf returns --public-key, or the public half of the signing key.
func (a *auditFlags) publicKeyOf(db *store.DB, log *slog.Logger) (string, error) {
	if a.publicKey != "" {
		return a.publicKey, nil
	}
	key, err := auditKey(db, a.keyFile, false, log)
	if err != nil {
		return "", fmt.Errorf("no --public-key and %w", err)
	}
	return key.PublicKey(), nil
}

func auditVerify(ctx context.Context, args []string) error {
	var a auditFlags
	var asJSON bool
	if _, err := a.parse("verify", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	}); err != nil {
		return err
	}
	log := newLogger(a.db.verbose)
	db, err := a.db.open(ctx, log)
	if err != nil {
		return err
	}
	defer db.Close()
	pub, err := a.publicKeyOf(db, log)
	if err != nil {
		return err
	}
	rep, err := audit.Verify(ctx, db, pub)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else {
		printReport(rep)
	}
	if !rep.OK {
		return &exitError{code: 1, err: fmt.Errorf("the audit log does not verify: %s", describe(*rep.First))}
	}
	return nil
}

func printReport(rep *audit.Report) {
	fmt.Printf("leaves %d, checkpoints %d, newest checkpoint size %d\n", rep.Leaves, rep.Checkpoints, rep.TreeSize)
	for _, p := range rep.Problems {
		fmt.Println("  " + describe(p))
	}
	if rep.Truncated {
		fmt.Println("  (more problems not shown)")
	}
	if rep.OK {
		fmt.Println("ok: every leaf matches its record and every checkpoint its signature and root")
	}
}

func describe(p audit.Problem) string {
	var where []string
	if p.Seq != 0 {
		where = append(where, fmt.Sprintf("seq %d", p.Seq))
	}
	if p.Kind != audit.ProblemCheckpointRoot && p.Kind != audit.ProblemCheckpointSig && p.TreeSize == 0 {
		where = append(where, fmt.Sprintf("leaf %d", p.LeafIndex))
	}
	if p.TreeSize != 0 {
		where = append(where, fmt.Sprintf("checkpoint %d", p.TreeSize))
	}
	return fmt.Sprintf("%s at %s: %s", p.Kind, strings.Join(where, ", "), p.Detail)
}

func auditExport(ctx context.Context, args []string) error {
	var a auditFlags
	var month, out string
	if _, err := a.parse("export", args, func(fs *flag.FlagSet) {
		fs.StringVar(&month, "month", "", "the month to export, YYYY-MM (UTC)")
		fs.StringVar(&out, "o", "", "output file (default: standard output)")
	}); err != nil {
		return err
	}
	if month == "" {
		return &exitError{code: 2, err: errors.New("--month YYYY-MM is required")}
	}
	log := newLogger(a.db.verbose)
	db, err := a.db.open(ctx, log)
	if err != nil {
		return err
	}
	defer db.Close()
	pub, err := a.publicKeyOf(db, log)
	if err != nil {
		return err
	}
	b, err := audit.Export(ctx, db, month, pub)
	if err != nil {
		return err
	}
	w := os.Stdout
	if out != "" {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	if err := json.NewEncoder(w).Encode(b); err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	fmt.Fprintf(os.Stderr, "exported %d records of %s against checkpoint %d\n", len(b.Records), month, b.TreeSize)
	return nil
}

func auditVerifyBundle(args []string) error {
	fs := flag.NewFlagSet("audit verify-bundle", flag.ContinueOnError)
	pub := fs.String("public-key", env("VAXBOOK_AUDIT_PUBLIC_KEY", ""),
		"checkpoint verifier key (VAXBOOK_AUDIT_PUBLIC_KEY); default: the bundle's own, which proves only consistency")
	if err := fs.Parse(args); err != nil {
		return &exitError{code: 2, err: err}
	}
	if fs.NArg() != 1 {
		return &exitError{code: 2, err: errors.New("usage: vaxbook audit verify-bundle [--public-key KEY] FILE")}
	}
	data, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	var b audit.Bundle
	if err := json.Unmarshal(data, &b); err != nil {
		return fmt.Errorf("read bundle: %w", err)
	}
	key := *pub
	if key == "" {
		key = b.PublicKey
		fmt.Fprintln(os.Stderr, "warning: checking against the key inside the bundle; pass --public-key with the published key")
	}
	if err := audit.VerifyBundle(&b, key); err != nil {
		return err
	}
	fmt.Printf("ok: %d records of %s, leaves [%d, %d) of the checkpoint of %d\n", len(b.Records), b.Month,
		b.Begin, b.End, b.TreeSize)
	return nil
}

func auditSeal(ctx context.Context, args []string) error {
	var a auditFlags
	if _, err := a.parse("seal", args, nil); err != nil {
		return err
	}
	log := newLogger(a.db.verbose)
	db, err := a.db.open(ctx, log)
	if err != nil {
		return err
	}
	defer db.Close()
	key, err := auditKey(db, a.keyFile, true, log)
	if err != nil {
		return err
	}
	s, err := audit.NewSealer(db, key, audit.Config{}, log, nil)
	if err != nil {
		return err
	}
	total := 0
	for {
		r, err := s.SealOnce(ctx)
		if err != nil {
			return err
		}
		total += r.Sealed
		if r.Sealed == 0 {
			fmt.Printf("sealed %d records; tree size %d; %d committed records left unsealed\n", total, r.TreeSize, r.Lag)
			return nil
		}
	}
}

func auditGrant(ctx context.Context, args []string) error {
	var a auditFlags
	var role string
	if _, err := a.parse("grant", args, func(fs *flag.FlagSet) {
		fs.StringVar(&role, "role", "vaxbook_app", "the role the service connects as")
	}); err != nil {
		return err
	}
	log := newLogger(a.db.verbose)
	db, err := a.db.open(ctx, log)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := audit.GrantAppendOnly(ctx, db, role); err != nil {
		return err
	}
	fmt.Printf("role %s may read and append to the audit tables, never update, delete or truncate them\n", role)
	return nil
}

func auditPublicKey(ctx context.Context, args []string) error {
	var a auditFlags
	var create bool
	if _, err := a.parse("public-key", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&create, "create", false, "create the key file if it does not exist")
	}); err != nil {
		return err
	}
	log := newLogger(a.db.verbose)
	if a.keyFile != "" {
		key, err := loadKeyFile(a.keyFile, create, log)
		if err != nil {
			return err
		}
		fmt.Println(key.PublicKey())
		return nil
	}
	db, err := a.db.open(ctx, log)
	if err != nil {
		return err
	}
	defer db.Close()
	key, err := auditKey(db, "", create, log)
	if err != nil {
		return err
	}
	fmt.Println(key.PublicKey())
	return nil
}

func loadKeyFile(path string, create bool, log *slog.Logger) (audit.Key, error) {
	if !create {
		data, err := os.ReadFile(path)
		if err != nil {
			return audit.Key{}, fmt.Errorf("read audit key: %w", err)
		}
		return audit.ParseKey(string(data))
	}
	key, created, err := audit.LoadOrCreateKeyFile(path, audit.DefaultOrigin)
	if created {
		log.Warn("generated a new audit signing key; back it up and publish its public key",
			slog.String("key_file", path), slog.String("public_key", key.PublicKey()))
	}
	return key, err
}

// bindAuditKeyFile adds serve's --audit-key-file flag.
func bindAuditKeyFile(fs *flag.FlagSet, dst *string) {
	fs.StringVar(dst, "audit-key-file", env("VAXBOOK_AUDIT_KEY_FILE", ""),
		"Ed25519 key signing audit checkpoints, note format (VAXBOOK_AUDIT_KEY_FILE); created if missing. "+
			"Unset: SQLite keeps PATH.audit.key, PostgreSQL signs with a throwaway key (set it in production)")
}

// serveAuditKey loads (or creates) serve's audit key; nil leaves the
// choice to the app's defaults.
func serveAuditKey(path string, log *slog.Logger) (*audit.Key, error) {
	if path == "" {
		return nil, nil
	}
	key, err := loadKeyFile(path, true, log)
	if err != nil {
		return nil, err
	}
	return &key, nil
}
