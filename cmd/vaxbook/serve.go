package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/vaxbook/vaxbook/internal/app"
	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/waitroom"
)

func init() {
	register("serve", "run the HTTP service (applies migrations first)", runServe)
}

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

type serveFlags struct {
	db        dbFlags
	addr      string
	publicURL string
	redisURL  string
	demo      bool
	demoDate  string
	imports   listFlag
	shiftTo   string
	holdTTL   time.Duration
	mail      mailFlags
	room      roomFlags
	clinic    app.ClinicConfig
	auditKey  string // audit.go

	// importHosts allow POST /v1/admin/imports to fetch from them.
	importHosts string
}

// roomFlags configure the waiting room at start; an administrator can
// change it later with PUT /v1/admin/waiting-room.
type roomFlags struct {
	mode       string
	opensAt    string
	rate       float64
	tokenTTL   time.Duration
	rateLimits bool
	proxies    string
}

func (r *roomFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&r.mode, "waitroom-mode", env("VAXBOOK_WAITROOM_MODE", ""),
		"off, fifo or lottery (VAXBOOK_WAITROOM_MODE); empty keeps what an administrator stored (off until configured)")
	fs.StringVar(&r.opensAt, "waitroom-opens-at", env("VAXBOOK_WAITROOM_OPENS_AT", ""), "when the room opens, RFC 3339")
	fs.Float64Var(&r.rate, "waitroom-rate", 0, "admissions per second (default 10)")
	fs.DurationVar(&r.tokenTTL, "waitroom-token-ttl", 0, "how long an admission token lasts (default 10m)")
	fs.BoolVar(&r.rateLimits, "rate-limits", env("VAXBOOK_RATE_LIMITS", "on") != "off",
		"per-address and per-person rate limits (VAXBOOK_RATE_LIMITS=off turns them off, for load tests from one address)")
	fs.StringVar(&r.proxies, "trusted-proxies", env("VAXBOOK_TRUSTED_PROXIES", ""),
		"comma-separated CIDRs of proxies whose X-Forwarded-For is believed (VAXBOOK_TRUSTED_PROXIES)")
}

func (r *roomFlags) config() (app.WaitroomConfig, error) {
	var c app.WaitroomConfig
	c.Room.Mode, c.Room.AdmissionRatePerS, c.Room.TokenTTL = r.mode, r.rate, r.tokenTTL
	if r.opensAt != "" {
		t, err := time.Parse(time.RFC3339, r.opensAt)
		if err != nil {
			return c, fmt.Errorf("--waitroom-opens-at: %w", err)
		}
		c.Room.OpensAt = t
	} else if r.mode != "" && r.mode != "off" {
		c.Room.OpensAt = time.Now() // a room turned on without a time opens now
	}
	c.NoRateLimits = !r.rateLimits
	if r.proxies != "" {
		p, err := waitroom.ParseCIDRs(r.proxies)
		if err != nil {
			return c, fmt.Errorf("--trusted-proxies: %w", err)
		}
		c.TrustedProxies = p
	}
	return c, nil
}

func (f *serveFlags) bind(fs *flag.FlagSet) {
	f.db.bind(fs)
	fs.StringVar(&f.addr, "addr", env("VAXBOOK_ADDR", "127.0.0.1:8080"), "listen address (VAXBOOK_ADDR)")
	fs.StringVar(&f.publicURL, "public-url", env("VAXBOOK_PUBLIC_URL", ""),
		"address people and aggregators reach the service at (VAXBOOK_PUBLIC_URL; default http://ADDR)")
	fs.StringVar(&f.redisURL, "redis-url", env("VAXBOOK_REDIS_URL", ""), "Redis for a waiting room shared by several nodes (VAXBOOK_REDIS_URL)")
	fs.BoolVar(&f.demo, "demo", false, "load the demo data: the real feeds moved to start tomorrow and the Massachusetts 2021 rules")
	fs.StringVar(&f.demoDate, "demo-date", "", "first day of the demo feeds (YYYY-MM-DD; default tomorrow)")
	fs.Var(&f.imports, "import", "SMART Scheduling Links manifest (path or URL) to import at start; repeatable")
	fs.StringVar(&f.shiftTo, "shift-to", "", "move imported feeds so their first day is this date (YYYY-MM-DD)")
	fs.StringVar(&f.importHosts, "import-hosts", env("VAXBOOK_IMPORT_HOSTS", ""),
		"comma-separated host:port pairs POST /v1/admin/imports may fetch feeds from (VAXBOOK_IMPORT_HOSTS); empty refuses every URL")
	fs.DurationVar(&f.holdTTL, "hold-ttl", 5*time.Minute, "how long a hold keeps its seat")
	f.mail.bindMail(fs)
	f.room.bind(fs)
	bindAuditKeyFile(fs, &f.auditKey)
}

func runServe(ctx context.Context, args []string) error {
	var f serveFlags
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	f.bind(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := newLogger(f.db.verbose)
	cfg, err := f.appConfig(ctx, log)
	if err != nil {
		return err
	}
	a, err := app.New(ctx, cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		a.Close()
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	a.Start(runCtx)
	srv := &http.Server{Handler: a.Handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
	log.Info("listening", slog.String("addr", ln.Addr().String()), slog.String("public_url", cfg.PublicURL),
		slog.String("database", string(a.DB.Dialect)))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err = <-errc:
	case <-ctx.Done():
		log.Info("shutting down")
		shutCtx, done := context.WithTimeout(context.Background(), 15*time.Second)
		err = srv.Shutdown(shutCtx)
		done()
	}
	cancel()
	if cerr := a.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func (f *serveFlags) appConfig(ctx context.Context, log *slog.Logger) (app.Config, error) {
	public := f.publicURL
	if public == "" {
		public = "http://" + f.addr
	}
	cfg := app.Config{DatabaseURL: f.db.url, PublicURL: strings.TrimRight(public, "/"), RedisURL: f.redisURL,
		Log: log, HoldTTL: f.holdTTL, Imports: f.imports, ShiftTo: f.shiftTo}
	for _, h := range strings.Split(f.importHosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			cfg.ImportHosts = append(cfg.ImportHosts, h)
		}
	}
	if f.demo {
		date := f.demoDate
		if date == "" {
			date = time.Now().AddDate(0, 0, 1).Format("2006-01-02")
		}
		if _, err := time.Parse("2006-01-02", date); err != nil {
			return cfg, fmt.Errorf("--demo-date: %w", err)
		}
		cfg.Demo = &app.Demo{Date: date}
	}
	room, err := f.room.config()
	if err != nil {
		return cfg, err
	}
	cfg.Waitroom = room
	cfg.Clinic = f.clinic
	cfg.MailFrom = f.mail.from
	switch {
	case f.mail.smtpHost != "":
		sender, err := notify.NewSMTP(notify.SMTPConfig{Host: f.mail.smtpHost, Port: f.mail.smtpPort,
			TLS: f.mail.smtpTLS, Username: f.mail.smtpUser, Password: os.Getenv("VAXBOOK_SMTP_PASSWORD")})
		if err != nil {
			return cfg, err
		}
		cfg.Mail = sender
	case f.mail.mailDir != "":
		cfg.Mail = &notify.Folder{Dir: f.mail.mailDir}
	}
	keys, err := f.db.keysFor(ctx, log)
	if err != nil {
		return cfg, err
	}
	cfg.Keys = keys
	if cfg.AuditKey, err = serveAuditKey(f.auditKey, log); err != nil {
		return cfg, err
	}
	return cfg, nil
}
