package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strconv"
	"time"
)

// TLS policies for SMTP.
const (
	// TLSOpportunistic upgrades with STARTTLS when the server offers it.
	TLSOpportunistic = "opportunistic"
	// TLSRequired refuses to send unless STARTTLS succeeds.
	TLSRequired = "required"
	// TLSImplicit connects with TLS from the start (port 465).
	TLSImplicit = "implicit"
	// TLSNone never upgrades; for a relay on the same host.
	TLSNone = "none"
)

// SMTPConfig configures the SMTP sender.
type SMTPConfig struct {
	Host string
	Port int // default 587 (465 with TLSImplicit)
	// TLS is one of the TLS* policies (default TLSOpportunistic).
	TLS      string
	Username string
	Password string
	// HelloName is sent in EHLO (default "localhost").
	HelloName string
	// Timeout bounds connecting and each command (default 30s).
	Timeout time.Duration
	// TLSConfig overrides the TLS settings (tests use it to trust their
	// own certificate); ServerName defaults to Host.
	TLSConfig *tls.Config
}

// SMTP sends messages through an SMTP server, one connection per message:
// a notification worker sends a few messages a second at most, and a
// fresh connection never inherits a half-finished session.
type SMTP struct {
	cfg SMTPConfig
}

// NewSMTP validates cfg and returns a sender.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if cfg.Host == "" {
		return nil, errors.New("smtp: host is required")
	}
	switch cfg.TLS {
	case "":
		cfg.TLS = TLSOpportunistic
	case TLSOpportunistic, TLSRequired, TLSImplicit, TLSNone:
	default:
		return nil, fmt.Errorf("smtp: unknown TLS policy %q", cfg.TLS)
	}
	if cfg.Port == 0 {
		cfg.Port = 587
		if cfg.TLS == TLSImplicit {
			cfg.Port = 465
		}
	}
	if cfg.HelloName == "" {
		cfg.HelloName = "localhost"
	}
	cfg.Timeout = orDur(cfg.Timeout, 30*time.Second)
	return &SMTP{cfg: cfg}, nil
}

// Send delivers m to its To address.
func (s *SMTP) Send(ctx context.Context, m *Message) error {
	if m.To == "" {
		return ErrNoAddress
	}
	from, err := mail.ParseAddress(m.From)
	if err != nil {
		return fmt.Errorf("smtp: bad From address: %w", err)
	}
	c, err := s.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := s.secure(c); err != nil {
		return err
	}
	if err := s.auth(c); err != nil {
		return err
	}
	if err := c.Mail(from.Address); err != nil {
		return scrub("mail", err)
	}
	if err := c.Rcpt(m.To); err != nil {
		return scrub("rcpt", err)
	}
	w, err := c.Data()
	if err != nil {
		return scrub("data", err)
	}
	if _, err := io.Copy(w, bytes.NewReader(m.Bytes())); err != nil {
		return scrub("data", err)
	}
	if err := w.Close(); err != nil {
		return scrub("data", err)
	}
	_ = c.Quit()
	return nil
}

func (s *SMTP) dial(ctx context.Context) (*smtp.Client, error) {
	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
	d := net.Dialer{Timeout: s.cfg.Timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("smtp connect: %w", err)
	}
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	if s.cfg.TLS == TLSImplicit {
		conn = tls.Client(conn, s.tlsConfig())
	}
	if _, ok := ctx.Deadline(); !ok {
		_ = conn.SetDeadline(time.Now().Add(s.cfg.Timeout))
	}
	c, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		conn.Close()
		return nil, scrub("greeting", err)
	}
	if err := c.Hello(s.cfg.HelloName); err != nil {
		c.Close()
		return nil, scrub("hello", err)
	}
	return c, nil
}

// secure applies the TLS policy after EHLO.
func (s *SMTP) secure(c *smtp.Client) error {
	if s.cfg.TLS == TLSImplicit || s.cfg.TLS == TLSNone {
		return nil
	}
	if ok, _ := c.Extension("STARTTLS"); !ok {
		if s.cfg.TLS == TLSRequired {
			return errors.New("smtp: server does not offer STARTTLS and TLS is required")
		}
		return nil
	}
	if err := c.StartTLS(s.tlsConfig()); err != nil {
		return scrub("starttls", err)
	}
	return nil
}

func (s *SMTP) auth(c *smtp.Client) error {
	if s.cfg.Username == "" {
		return nil
	}
	if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, s.cfg.Host)); err != nil {
		return scrub("auth", err)
	}
	return nil
}

func (s *SMTP) tlsConfig() *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.cfg.TLSConfig != nil {
		cfg = s.cfg.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = s.cfg.Host
	}
	return cfg
}

// scrub keeps only the status codes of an SMTP reply: a server's text may
// echo the recipient's address, and the error is stored with the job.
func scrub(stage string, err error) error {
	var te *textproto.Error
	if errors.As(err, &te) {
		return fmt.Errorf("smtp %s: reply %d", stage, te.Code)
	}
	return fmt.Errorf("smtp %s: %w", stage, err)
}
