// Package loadtest simulates opening day against a running vaxbook over
// HTTP: people arriving on a curve, waiting in the queue, signing in, being
// evaluated, searching, holding and booking with an idempotency key, with
// the double clicks, client timeouts, stale choices and abandoned places of
// a real morning. It reports a funnel, latencies per step, queue waits and
// the admission rate, and writes every 201 it saw for `vaxbook check`.
package loadtest

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"
)

// Config describes one run. Zero fields take the defaults of Defaults.
type Config struct {
	// Target is the base URL of the vaxbook under test.
	Target string
	// AllowRemote permits a target that is not a loopback address.
	AllowRemote bool
	// People is how many simulated people arrive.
	People int
	// Curve shapes arrivals over Arrivals (see ParseCurve).
	Curve Curve
	// Arrivals is the window over which people arrive.
	Arrivals time.Duration
	// MaxRun bounds the whole run; people still in flight when it ends are
	// counted as stopped (bookings in flight are resolved first).
	MaxRun time.Duration
	// Concurrency bounds the requests in flight at once.
	Concurrency int
	// RequestTimeout bounds one request.
	RequestTimeout time.Duration
	// Seed makes the choices of a run repeatable.
	Seed uint64
	// ForwardedFor gives each person an address of their own from the
	// benchmarking range 198.18.0.0/15 (RFC 2544), sent in
	// X-Forwarded-For. Without it every simulated person shares the
	// driver's address and per-address rate limits treat the run as one
	// client; it only has an effect when the server trusts the driver's
	// address as a proxy.
	ForwardedFor bool

	// Shares of people who behave a certain way, each between 0 and 1.
	Ineligible     float64 // too young for the active rules
	DoubleClick    float64 // send the booking twice at once with one key
	ClientTimeout  float64 // give up on the first booking attempt early, then retry with the same key
	Stale          float64 // think for a while between search and choice
	AbandonHold    float64 // take a hold and walk away
	AbandonQueue   float64 // join the queue and never come back
	DirectBooking  float64 // book a slot without a hold first
	ReleaseAbandon float64 // of those abandoning a hold, share who release it

	// ZIPs are the postal codes people search near (and live in).
	ZIPs []string
	// EligibleAge and IneligibleAge are the ages, in years, of eligible and
	// ineligible people on the day of the run.
	EligibleAge, IneligibleAge [2]int
	// Answers is the eligibility questionnaire every person sends.
	Answers map[string]any
	// Dose is the dose people book.
	Dose int

	// Responses receives every 201 of POST /v1/appointments as NDJSON.
	Responses io.Writer
	// Progress receives a progress bar (TTY) or periodic lines.
	Progress    io.Writer
	ProgressTTY bool
	// ProgressEvery is the interval of plain progress lines.
	ProgressEvery time.Duration
	// Log receives driver-level events; never personal data.
	Log *slog.Logger
}

// Defaults returns a configuration for n people against target.
func Defaults(target string, n int) Config {
	return Config{
		Target: target, People: n, Curve: Curve{Kind: CurveBurst},
		Arrivals: 2 * time.Minute, MaxRun: 10 * time.Minute,
		Concurrency: 128, RequestTimeout: 30 * time.Second, Seed: 1,
		Ineligible: 0.2, DoubleClick: 0.05, ClientTimeout: 0.05, Stale: 0.1,
		AbandonHold: 0.05, AbandonQueue: 0.03, DirectBooking: 0.3, ReleaseAbandon: 0.5,
		ZIPs: []string{"02114", "01602", "01201", "02139", "01851", "02301", "02740", "01901"},
		// 66-89 is eligible under every Massachusetts 2021 version from
		// phase2-g2 on; 10-15 is too young under all of them (phase3 admits
		// 16 and over).
		EligibleAge: [2]int{66, 90}, IneligibleAge: [2]int{10, 16},
		Answers: map[string]any{"conditions": []string{}, "occupation": "", "residence": "private"},
		Dose:    1, ProgressEvery: 5 * time.Second,
	}
}

// Validate checks the configuration, refusing targets off this machine
// unless AllowRemote is set: a load test aimed at the wrong host is an
// attack.
func (c *Config) Validate() error {
	u, err := url.Parse(c.Target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("target %q is not an http(s) URL", c.Target)
	}
	if !c.AllowRemote && !isLoopback(u.Hostname()) {
		return fmt.Errorf("target host %q is not a loopback address; pass --allow-remote to aim elsewhere", u.Hostname())
	}
	switch {
	case c.People <= 0:
		return errors.New("people must be positive")
	case c.Concurrency <= 0:
		return errors.New("concurrency must be positive")
	case c.MaxRun <= 0 || c.Arrivals < 0:
		return errors.New("durations must be positive")
	case len(c.ZIPs) == 0:
		return errors.New("at least one ZIP code is needed")
	}
	for _, s := range []float64{c.Ineligible, c.DoubleClick, c.ClientTimeout, c.Stale,
		c.AbandonHold, c.AbandonQueue, c.DirectBooking, c.ReleaseAbandon} {
		if s < 0 || s > 1 {
			return fmt.Errorf("share %v is outside 0..1", s)
		}
	}
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
