// Package booking owns the inventory (regions, sites, slots with online and
// walk-in pools) and everything that takes or returns a seat: holds,
// appointments, reschedules, cancellations and idempotent replays. Every
// seat is taken by one guarded conditional UPDATE inside the transaction
// that records the appointment; there is no other path.
package booking

import (
	"context"
	"time"

	"github.com/vaxbook/vaxbook/internal/eligibility/gate"
	"github.com/vaxbook/vaxbook/internal/store"
)

// Appointment statuses.
const (
	StatusBooked    = "booked"
	StatusCancelled = "cancelled"
	StatusCompleted = "completed"
	StatusNoShow    = "no_show"
)

// Seat pools of a slot.
const (
	PoolOnline = "online"
	PoolWalkIn = "walkin"
)

// Site is a place that vaccinates.
type Site struct {
	ID           int64   `json:"id"`
	Region       string  `json:"region"`
	Name         string  `json:"name"`
	Address      string  `json:"address"`
	City         string  `json:"city"`
	State        string  `json:"state"`
	PostalCode   string  `json:"postal_code"`
	Lat          float64 `json:"lat"`
	Lng          float64 `json:"lng"`
	TimeZone     string  `json:"time_zone"`
	Phone        string  `json:"phone,omitempty"`
	URL          string  `json:"url,omitempty"`
	Source       string  `json:"-"`
	ExternalID   string  `json:"-"`
	BookTogether bool    `json:"book_together"`
}

// Vaccine is a product, named by its CVX code.
type Vaccine struct {
	Code            string `json:"code"`
	Name            string `json:"name"`
	Doses           int    `json:"doses"`
	MinIntervalDays int    `json:"min_interval_days"`
	MaxIntervalDays int    `json:"max_interval_days"`
	MinAge          int    `json:"min_age"`
}

// Slot is a time at a site with an online pool and a walk-in pool.
type Slot struct {
	ID              int64     `json:"id"`
	SiteID          int64     `json:"site_id"`
	VaccineCode     string    `json:"vaccine_code"`
	Dose            int       `json:"dose"`
	Start           time.Time `json:"start"`
	End             time.Time `json:"end"`
	Capacity        int       `json:"capacity"`
	Remaining       int       `json:"remaining"`
	WalkInCapacity  int       `json:"walk_in_capacity"`
	WalkInRemaining int       `json:"walk_in_remaining"`
	DeepLink        string    `json:"-"`
}

// Appointment is a booked seat for one person and one dose.
type Appointment struct {
	ID          string    `json:"id"`
	Reference   string    `json:"reference"`
	PersonID    int64     `json:"-"`
	SlotID      int64     `json:"slot_id"`
	VaccineCode string    `json:"vaccine_code"`
	Dose        int       `json:"dose"`
	Pool        string    `json:"pool"`
	Status      string    `json:"status"`
	DecisionRef string    `json:"decision_ref"`
	RuleVersion string    `json:"rule_version"`
	BookedBy    string    `json:"-"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Hold keeps a seat for a person for a short time.
type Hold struct {
	ID        string    `json:"hold_id"`
	SlotID    int64     `json:"slot_id"`
	PersonID  int64     `json:"-"`
	Pool      string    `json:"-"`
	State     string    `json:"state"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Event kinds that listeners (notifications, the waitlist) receive inside
// the transaction that made the change.
const (
	EventBooked      = "booked"
	EventCancelled   = "cancelled"
	EventRescheduled = "rescheduled"
	EventMoved       = "moved" // staff moved the appointment (capacity change)
)

// Event tells listeners what changed. It carries ids only; a listener reads
// what it needs, so messages show the state at send time.
type Event struct {
	Kind          string
	AppointmentID string
	PersonID      int64
	SlotID        int64
	PreviousSlot  int64 // reschedules and moves
	SlotStart     time.Time
	At            time.Time
	// Dose, SeriesDoses and MinIntervalDays describe the booked dose when
	// the change knows them (zero otherwise), so that listeners need not
	// read them again inside the transaction.
	Dose            int
	SeriesDoses     int
	MinIntervalDays int
}

// Listener is told of every appointment change inside its transaction, so
// whatever it writes (an outbox job, a waitlist offer) commits with it.
type Listener interface {
	OnEvent(ctx context.Context, tx *store.Tx, e Event) error
}

// RefusalObserver is told of every hold, booking or reschedule the service
// refuses, with the slot it was for (0 when the request named only a hold).
// The dashboard counts 409s by site with it, for the API and the pages alike.
type RefusalObserver interface {
	Refused(ctx context.Context, slotID int64, err error)
}

// Gate is the eligibility re-check and freeze check that runs inside the
// booking transaction (invariant 4). It returns the rule version that
// admitted the booking, or an apperr: ineligible, bookings-frozen or
// outside-jurisdiction.
type Gate interface {
	Admit(ctx context.Context, tx *store.Tx, c gate.Check) (ruleVersion string, err error)
}
