// Package notify sends what follows a committed change to an appointment:
// confirmations with a calendar file, reminders, cancellations, reschedules,
// next-dose reminders and waitlist offers. Jobs are written to a river
// queue in the same transaction as the change (the transactional outbox of
// DESIGN.md invariant 5), and a worker renders each message from the
// current state of the appointment when it sends it.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"
)

// Message types, one per template.
const (
	TypeConfirmation = "confirmation"
	TypeReminder     = "reminder"
	TypeCancellation = "cancellation"
	TypeReschedule   = "reschedule"
	TypeNextDose     = "next_dose"
	TypeOffer        = "offer"
)

// Config tunes the outbox. The zero value is usable: every field has a
// default, applied by New.
type Config struct {
	// PublicURL is where people reach the service; links in messages and
	// the domain of Message-IDs come from it.
	PublicURL string
	// From is the sender address of every message.
	From string
	// Reminders lists how long before the appointment a reminder goes out
	// (default: the day before and three hours before). A reminder whose
	// time has already passed when the booking commits is not scheduled.
	Reminders []time.Duration
	// MaxAttempts is how often a message is tried before it is kept as
	// failed (default 10).
	MaxAttempts int
	// RetryBase is the wait after the first failure; each later one doubles
	// it, up to RetryMax (defaults 5s and 1h).
	RetryBase time.Duration
	RetryMax  time.Duration
	// PollInterval is how often the worker looks for due jobs (default
	// 50ms). Neither driver here listens for notifications, so this bounds
	// the lag between a commit and its message.
	PollInterval time.Duration
	// Workers is how many messages are sent at once (default 4).
	Workers int
	// SendTimeout bounds one attempt (default 30s).
	SendTimeout time.Duration
}

func (c *Config) defaults() error {
	if c.PublicURL == "" {
		c.PublicURL = "http://127.0.0.1:8080"
	}
	if _, err := url.Parse(c.PublicURL); err != nil {
		return fmt.Errorf("notify: public URL: %w", err)
	}
	if c.From == "" {
		c.From = "vaxbook <no-reply@" + c.domain() + ">"
	}
	if c.Reminders == nil {
		c.Reminders = []time.Duration{24 * time.Hour, 3 * time.Hour}
	}
	c.MaxAttempts = orInt(c.MaxAttempts, 10)
	c.RetryBase = orDur(c.RetryBase, 5*time.Second)
	c.RetryMax = orDur(c.RetryMax, time.Hour)
	c.PollInterval = orDur(c.PollInterval, 50*time.Millisecond)
	c.Workers = orInt(c.Workers, 4)
	c.SendTimeout = orDur(c.SendTimeout, 30*time.Second)
	if c.RetryMax < c.RetryBase {
		return errors.New("notify: RetryMax is shorter than RetryBase")
	}
	return nil
}

// domain is the host part of Message-IDs and calendar UIDs.
func (c *Config) domain() string {
	u, err := url.Parse(c.PublicURL)
	if err != nil || u.Hostname() == "" {
		return "vaxbook.invalid"
	}
	return u.Hostname()
}

func orInt(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

func orDur(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

// Visit is what a message says about an appointment (or, for an offer, a
// slot), read when the message is sent.
type Visit struct {
	AppointmentID string
	Reference     string
	Status        string
	PersonID      int64
	Dose          int
	Start         time.Time
	End           time.Time
	SiteName      string
	Address       string
	SitePhone     string
	TimeZone      string
	VaccineName   string
	VaccineDoses  int
	// MinIntervalDays is the product's shortest wait before the next dose.
	MinIntervalDays int
}

// Recipient is who a message goes to.
type Recipient struct {
	Ref       string
	GivenName string
	Email     string
	Phone     string
	Lang      string
}

// LogValue keeps contact details out of logs.
func (r Recipient) LogValue() slog.Value { return slog.StringValue("person:" + r.Ref) }

// Source reads the content of messages. booking.Service and
// identity.Store provide it in production (see Services).
type Source interface {
	// Visit returns an appointment with its slot, site and vaccine, or an
	// error wrapping store.ErrNotFound.
	Visit(ctx context.Context, appointmentID string) (Visit, error)
	// SlotVisit returns a slot with its site and vaccine (no appointment).
	SlotVisit(ctx context.Context, slotID int64) (Visit, error)
	// Recipient returns the person's name, contact and language.
	Recipient(ctx context.Context, personID int64) (Recipient, error)
}
