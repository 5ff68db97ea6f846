package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/identity"
	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/store"
)

func init() {
	register("notify", "notification outbox: 'work' sends messages, 'failed' lists those that ran out of attempts", runNotify)
}

// mailFlags configure where messages go: an SMTP server when --smtp-host
// is set, otherwise a folder of .eml files beside a SQLite database.
type mailFlags struct {
	smtpHost  string
	smtpPort  int
	smtpTLS   string
	smtpUser  string
	from      string
	publicURL string
	mailDir   string
}

func (m *mailFlags) bind(fs *flag.FlagSet) {
	m.bindMail(fs)
	fs.StringVar(&m.publicURL, "public-url", env("VAXBOOK_PUBLIC_URL", "http://127.0.0.1:8080"),
		"address people reach the service at, for links in messages (VAXBOOK_PUBLIC_URL)")
}

// bindMail binds the mail flags alone; serve has its own --public-url.
func (m *mailFlags) bindMail(fs *flag.FlagSet) {
	port, _ := strconv.Atoi(env("VAXBOOK_SMTP_PORT", "587"))
	fs.StringVar(&m.smtpHost, "smtp-host", env("VAXBOOK_SMTP_HOST", ""), "SMTP server for messages (VAXBOOK_SMTP_HOST); unset writes .eml files")
	fs.IntVar(&m.smtpPort, "smtp-port", port, "SMTP port (VAXBOOK_SMTP_PORT)")
	fs.StringVar(&m.smtpTLS, "smtp-tls", env("VAXBOOK_SMTP_TLS", notify.TLSOpportunistic),
		"opportunistic (STARTTLS when offered), required, implicit or none (VAXBOOK_SMTP_TLS)")
	fs.StringVar(&m.smtpUser, "smtp-user", env("VAXBOOK_SMTP_USER", ""), "SMTP user; the password is read from VAXBOOK_SMTP_PASSWORD")
	fs.StringVar(&m.from, "mail-from", env("VAXBOOK_MAIL_FROM", ""), "From address of messages (VAXBOOK_MAIL_FROM)")
	fs.StringVar(&m.mailDir, "mail-dir", env("VAXBOOK_MAIL_DIR", ""), "folder for .eml files (VAXBOOK_MAIL_DIR; default PATH.mail beside a SQLite database)")
}

// sender returns the configured sender.
func (m *mailFlags) sender(db *store.DB) (notify.Sender, error) {
	if m.smtpHost != "" {
		return notify.NewSMTP(notify.SMTPConfig{Host: m.smtpHost, Port: m.smtpPort, TLS: m.smtpTLS,
			Username: m.smtpUser, Password: os.Getenv("VAXBOOK_SMTP_PASSWORD")})
	}
	switch {
	case m.mailDir != "":
		return &notify.Folder{Dir: m.mailDir}, nil
	case db.Dialect == store.SQLite:
		return notify.FolderBeside(db.Path), nil
	}
	return nil, errors.New("set --smtp-host (or --mail-dir) to send messages from PostgreSQL")
}

func runNotify(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "work" && args[0] != "failed") {
		return &exitError{code: 2, err: errors.New("usage: vaxbook notify work|failed [flags]")}
	}
	fs := flag.NewFlagSet("notify "+args[0], flag.ContinueOnError)
	var d dbFlags
	var m mailFlags
	d.bind(fs)
	m.bind(fs)
	limit := fs.Int("limit", 100, "failed: how many to list")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	log := newLogger(d.verbose)
	db, err := d.open(ctx, log)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := notify.Migrate(ctx, db); err != nil {
		return err
	}
	o, err := m.outbox(ctx, db, &d, log)
	if err != nil {
		return err
	}
	if args[0] == "failed" {
		list, err := o.Failed(ctx, *limit)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"failed": list})
	}
	return work(ctx, o, log)
}

// outbox builds an outbox that reads content from the database.
func (m *mailFlags) outbox(ctx context.Context, db *store.DB, d *dbFlags, log *slog.Logger) (*notify.Outbox, error) {
	keys, err := d.keys(db, log)
	if err != nil {
		return nil, err
	}
	sender, err := m.sender(db)
	if err != nil {
		return nil, err
	}
	src := notify.Services(booking.NewService(db, booking.Config{Log: log}), identity.New(db, keys, clock.System{}))
	return notify.New(db, notify.Options{Config: notify.Config{PublicURL: m.publicURL, From: m.from},
		Source: src, Sender: sender, Log: log})
}

// work sends messages until interrupted, for a deployment that sends from
// its own process.
func work(ctx context.Context, o *notify.Outbox, log *slog.Logger) error {
	if err := o.Start(ctx); err != nil {
		return err
	}
	log.InfoContext(ctx, "sending notifications")
	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := o.Stop(stopCtx); err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	return nil
}
