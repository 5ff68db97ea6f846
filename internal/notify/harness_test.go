package notify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/mail"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/eligibility/gate"
	"github.com/vaxbook/vaxbook/internal/identity"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/store"
)

// delivery is one message the test SMTP server accepted.
type delivery struct {
	From, To string
	Data     []byte
	TLS      bool
}

// MessageID returns the Message-ID header of the delivery.
func (d delivery) MessageID(t *testing.T) string {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(d.Data))
	if err != nil {
		t.Fatalf("parse delivered message: %v", err)
	}
	return m.Header.Get("Message-ID")
}

// mailServer is a real SMTP server on 127.0.0.1 that records what it
// accepts. It offers STARTTLS with a certificate the sender is told to
// trust, and can drop the connection right after receiving a message.
type mailServer struct {
	addr string
	tls  *tls.Config
	// dropAfterData makes the server hang up after reading a message's
	// data, before it replies: the sender cannot know it was delivered.
	dropAfterData atomic.Int32

	mu      sync.Mutex
	got     []delivery
	arrived chan struct{}
	srv     *smtp.Server
}

func newMailServer(t *testing.T) *mailServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := &mailServer{addr: l.Addr().String(), tls: selfSigned(t), arrived: make(chan struct{}, 1000)}
	m.serve(t, l)
	return m
}

// newDownMailServer reserves an address but does not serve on it yet.
func newDownMailServer(t *testing.T) *mailServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return &mailServer{addr: addr, tls: selfSigned(t), arrived: make(chan struct{}, 1000)}
}

// start serves on the reserved address.
func (m *mailServer) start(t *testing.T) {
	t.Helper()
	l, err := net.Listen("tcp", m.addr)
	if err != nil {
		t.Fatal(err)
	}
	m.serve(t, l)
}

func (m *mailServer) serve(t *testing.T, l net.Listener) {
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &mailSession{m: m, c: c}, nil
	}))
	srv.Domain = "localhost"
	srv.TLSConfig = m.tls
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	m.srv = srv
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
}

func (m *mailServer) sender(t *testing.T) Sender {
	t.Helper()
	host, port, _ := net.SplitHostPort(m.addr)
	p, _ := strconv.Atoi(port)
	pool := x509.NewCertPool()
	pool.AddCert(m.tls.Certificates[0].Leaf)
	s, err := NewSMTP(SMTPConfig{Host: host, Port: p, Timeout: 5 * time.Second,
		TLSConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (m *mailServer) deliveries() []delivery {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]delivery(nil), m.got...)
}

// to returns the deliveries to one address.
func (m *mailServer) to(addr string) []delivery {
	var out []delivery
	for _, d := range m.deliveries() {
		if d.To == addr {
			out = append(out, d)
		}
	}
	return out
}

// waitFor waits until n messages reached addr.
func (m *mailServer) waitFor(t *testing.T, addr string, n int) []delivery {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		if got := m.to(addr); len(got) >= n {
			return got
		}
		select {
		case <-m.arrived:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("waited 30s for %d message(s) to %s, have %d", n, addr, len(m.to(addr)))
		}
	}
}

type mailSession struct {
	m        *mailServer
	c        *smtp.Conn
	from, to string
}

func (s *mailSession) Reset()        {}
func (s *mailSession) Logout() error { return nil }

func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = to
	return nil
}

func (s *mailSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := s.c.TLSConnectionState()
	s.m.mu.Lock()
	s.m.got = append(s.m.got, delivery{From: s.from, To: s.to, Data: data, TLS: isTLS})
	s.m.mu.Unlock()
	s.m.arrived <- struct{}{}
	if s.m.dropAfterData.Load() > 0 {
		s.m.dropAfterData.Add(-1)
		s.c.Conn().Close()
		return errors.New("connection dropped by the test")
	}
	return nil
}

// selfSigned makes a certificate for 127.0.0.1.
func selfSigned(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}}}
}

// shiftClock is the wall clock plus an offset a test can move forward:
// time keeps flowing (river's retries come due), and a test can jump to
// the day before an appointment.
type shiftClock struct{ offset atomic.Int64 }

func (c *shiftClock) Now() time.Time                  { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *shiftClock) Advance(d time.Duration)         { c.offset.Add(int64(d)) }
func (c *shiftClock) Until(t time.Time) time.Duration { return t.Sub(c.Now()) }

type allowGate struct{}

func (allowGate) Admit(context.Context, *store.Tx, gate.Check) (string, error) { return "test-1", nil }

// failingListener fails every booking after the outbox wrote its jobs,
// so the whole transaction rolls back.
type failingListener struct{ on atomic.Bool }

func (f *failingListener) OnEvent(context.Context, *store.Tx, booking.Event) error {
	if f.on.Load() {
		return errors.New("listener refuses: roll back")
	}
	return nil
}

// env is a booking service with the outbox as its listener, sending to a
// real SMTP server.
type env struct {
	db     *store.DB
	clock  *shiftClock
	svc    *booking.Service
	ids    *identity.Store
	outbox *Outbox
	mail   *mailServer
	fail   *failingListener
	site   int64
}

// setupWith builds the env on db; the outbox starts unless start is false.
func setupWith(t *testing.T, db *store.DB, mail *mailServer, cfg Config, start bool) *env {
	t.Helper()
	if cfg.RetryBase == 0 {
		cfg.RetryBase, cfg.RetryMax = 100*time.Millisecond, 400*time.Millisecond
	}
	e := newEnv(t, db, mail.sender(t), cfg)
	e.mail = mail
	if start {
		e.start(t)
	}
	return e
}

// benchEnv is an env whose messages go to sender.
func benchEnv(b *testing.B, db *store.DB, sender Sender) *env {
	b.Helper()
	e := newEnv(b, db, sender, Config{})
	e.start(b)
	return e
}

func newEnv(t testing.TB, db *store.DB, sender Sender, cfg Config) *env {
	t.Helper()
	ctx := context.Background()
	if err := Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	e := &env{db: db, clock: &shiftClock{}, fail: &failingListener{}}
	e.ids = identity.New(db, pii.TestKeys(), e.clock)
	e.svc = booking.NewService(db, booking.Config{Clock: e.clock, Gate: allowGate{}})
	cfg.PublicURL = "https://vaxbook.test"
	o, err := New(db, Options{Config: cfg, Source: Services(e.svc, e.ids), Sender: sender, Clock: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	e.outbox = o
	e.svc.AddListener(o)
	e.svc.AddListener(e.fail)
	site, err := e.svc.CreateSite(ctx, "test", booking.NewSite{Region: "IL", Name: "Lakeview Clinic",
		Address: "3500 N Halsted St", City: "Chicago", State: "IL", PostalCode: "60657",
		Lat: 41.94, Lng: -87.65, TimeZone: "America/Chicago"})
	if err != nil {
		t.Fatal(err)
	}
	e.site = site.ID
	return e
}

func setup(t *testing.T, db *store.DB) *env {
	t.Helper()
	return setupWith(t, db, newMailServer(t), Config{}, true)
}

func (e *env) start(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if err := e.outbox.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopCtx, done := context.WithTimeout(context.Background(), 10*time.Second)
		defer done()
		_ = e.outbox.Stop(stopCtx)
		cancel()
	})
}

// slot makes a slot of the given vaccine and dose days days ahead, at
// 10:00 in the site's zone, and returns its id and start.
func (e *env) slot(t testing.TB, days int, vaccine string) (int64, time.Time) {
	t.Helper()
	loc, _ := time.LoadLocation("America/Chicago")
	date := e.clock.Now().In(loc).AddDate(0, 0, days).Format("2006-01-02")
	n, err := e.svc.GenerateSlots(context.Background(), "test", e.site, booking.Generate{From: date, To: date,
		Opens: "10:00", Closes: "10:15", IntervalMin: 15, Capacity: 500, Vaccine: vaccine, Dose: 1})
	if err != nil || n != 1 {
		t.Fatalf("generate slot: %d, %v", n, err)
	}
	var id, startUS int64
	q := store.RebindFor(e.db.Dialect, "SELECT id, start_us FROM slots WHERE site_id = ? ORDER BY id DESC LIMIT 1")
	if err := e.db.Read.QueryRow(q, e.site).Scan(&id, &startUS); err != nil {
		t.Fatal(err)
	}
	return id, time.UnixMicro(startUS)
}

// person creates a person and returns their id and email address.
func (e *env) person(t testing.TB, name, lang string) (int64, string) {
	t.Helper()
	email := fmt.Sprintf("%s.%d@example.org", name, time.Now().UnixNano())
	s, err := e.ids.CreateSession(context.Background(), identity.Attested{GivenName: name, FamilyName: "Tester",
		BirthDate: "1950-02-03", PostalCode: "60657", Email: email, Lang: lang})
	if err != nil {
		t.Fatal(err)
	}
	return s.PersonID, email
}

func (e *env) book(t testing.TB, personID, slotID int64) (booking.Detail, error) {
	t.Helper()
	d, _, err := e.svc.Book(context.Background(), booking.BookRequest{PersonID: personID,
		Actor: "person:test", SlotID: slotID, DecisionRef: "d-test"})
	return d, err
}

// jobs lists the outbox's jobs of one message type.
func (e *env) jobs(t *testing.T, typ string) []*rivertype.JobRow {
	t.Helper()
	res, err := e.outbox.client.JobList(context.Background(),
		river.NewJobListParams().Kinds("notify."+typ).First(1000))
	if err != nil {
		t.Fatal(err)
	}
	return res.Jobs
}

// waitJobs waits until every job of typ has reached a final state.
func (e *env) waitJobs(t *testing.T, typ string, want int) []*rivertype.JobRow {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		jobs := e.jobs(t, typ)
		final := 0
		for _, j := range jobs {
			if j.FinalizedAt != nil {
				final++
			}
		}
		if final == len(jobs) && len(jobs) == want {
			return jobs
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited 30s for %d finished %s job(s): %d jobs, %d finished", want, typ, len(jobs), final)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
