// Package waitroom is the virtual waiting room in front of booking: a queue
// (first come first served, or a lottery for an announced opening that
// anyone can verify), admission at a configured rate that follows the
// remaining stock, signed admission tokens (EdDSA JWTs) and their
// verification, and rate limits per client address and per person.
package waitroom

import (
	"errors"
	"fmt"
	"time"
)

// Modes of the room. Off means booking is not gated at all.
const (
	ModeOff     = "off"
	ModeFIFO    = "fifo"
	ModeLottery = "lottery"
)

// Config is the room's static configuration. Mode, OpensAt,
// AdmissionRatePerS and TokenTTL are the initial settings (the serve flags);
// an admin changes them while running with PUT /v1/admin/waiting-room, and
// the database keeps the latest.
type Config struct {
	// Mode is "", off, fifo or lottery; "" keeps whatever is stored.
	Mode              string
	OpensAt           time.Time
	AdmissionRatePerS float64       // default 10
	TokenTTL          time.Duration // default 10 minutes
	// Burst is how many may be admitted at once after a quiet spell;
	// default the rate times one second (at least 1).
	Burst float64
	// Grace is how long a ticket may go without polling before it expires
	// and stops counting (default 2 minutes).
	Grace time.Duration
	// Skew is the clock difference allowed when checking token times
	// (default 30 s).
	Skew time.Duration
	// Audience is the tokens' aud claim (default "vaxbook-booking").
	Audience string
	// QueueURL is where refused bookers are sent (default "/waiting-room").
	QueueURL string
	// Tick is how often admissions run (default 100 ms).
	Tick time.Duration
	// RotateEvery is how often the signing key rotates (default 24 h).
	RotateEvery time.Duration
	// MaxPoll caps poll_after_s (default 60 s, and at most a third of
	// Grace so that a polling browser never expires).
	MaxPoll time.Duration
}

// WithDefaults fills in every zero field.
func (c Config) WithDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.AdmissionRatePerS == 0 {
		c.AdmissionRatePerS = 10
	}
	def(&c.TokenTTL, 10*time.Minute)
	def(&c.Grace, 3*time.Minute)
	def(&c.Skew, 30*time.Second)
	def(&c.Tick, 100*time.Millisecond)
	def(&c.RotateEvery, 24*time.Hour)
	def(&c.MaxPoll, 60*time.Second)
	c.MaxPoll = min(c.MaxPoll, c.Grace/3)
	if c.Audience == "" {
		c.Audience = "vaxbook-booking"
	}
	if c.QueueURL == "" {
		c.QueueURL = "/waiting-room"
	}
	return c
}

// Validate reports every invalid field at once.
func (c Config) Validate() error {
	var errs []error
	switch c.Mode {
	case "", ModeOff, ModeFIFO, ModeLottery:
	default:
		errs = append(errs, fmt.Errorf("waiting room mode %q: want off, fifo or lottery", c.Mode))
	}
	if (c.Mode == ModeFIFO || c.Mode == ModeLottery) && c.OpensAt.IsZero() {
		errs = append(errs, errors.New("waiting room: opens_at is required when the room is on"))
	}
	if err := checkRate(c.AdmissionRatePerS); err != nil {
		errs = append(errs, err)
	}
	if err := checkTTL(c.TokenTTL); err != nil {
		errs = append(errs, err)
	}
	if c.Burst < 0 || c.Grace < 0 || c.Skew < 0 || c.Tick < 0 || c.RotateEvery < 0 {
		errs = append(errs, errors.New("waiting room: burst, grace, skew, tick and rotation must not be negative"))
	}
	return errors.Join(errs...)
}

func checkRate(r float64) error {
	if r <= 0 || r > 100000 {
		return fmt.Errorf("waiting room: admission rate %g/s must be above 0 and at most 100000", r)
	}
	return nil
}

func checkTTL(d time.Duration) error {
	if d < 30*time.Second || d > 24*time.Hour {
		return fmt.Errorf("waiting room: token lifetime %s must be between 30s and 24h", d)
	}
	return nil
}

func (c Config) burst(rate float64) float64 {
	if c.Burst > 0 {
		return c.Burst
	}
	return max(1, rate)
}
