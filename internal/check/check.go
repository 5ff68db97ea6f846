// Package check proves the booking invariants on a database after the fact:
// no slot over capacity and every pool's remaining count explained, no
// person with two active appointments for one dose, every 201 a load run saw
// committed and every committed appointment answered, every booking with its
// audit record and confirmation job, and an audit log that verifies. It
// reads only; `vaxbook check` runs it and exits non-zero on a violation.
package check

import (
	"context"
	_ "embed"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/store"
)

//go:embed queries.sql
var queriesSQL string

// Violation kinds.
const (
	KindOverCapacity        = "slot-over-capacity"
	KindRemaining           = "remaining-inconsistent"
	KindDoubleBooked        = "double-booked"
	KindResponseUncommitted = "response-not-committed"
	KindUnanswered          = "committed-not-answered"
	KindAuditMissing        = "audit-record-missing"
	KindConfirmationMissing = "confirmation-job-missing"
	KindAuditLog            = "audit-log-invalid"
)

// Defaults agreed with the booking and notification code.
const (
	DefaultBookedAction     = "appointment.booked"
	DefaultConfirmationKind = "notify.confirmation"
	DefaultConfirmationArg  = "appointment_id"
)

// maxIDs bounds how many offending ids one violation lists.
const maxIDs = 50

// Config says what to check.
type Config struct {
	DB    *store.DB
	Clock clock.Clock
	// Responses, when set, are matched against the committed appointments.
	Responses *Responses
	// Since and Until bound which appointments must have been answered 201
	// and must have their audit record and job; zero values mean all.
	// They default to the run window of Responses.
	Since, Until time.Time
	// BookedAction is the audit action of a booking.
	BookedAction string
	// ConfirmationKind is the river job kind of a booking confirmation and
	// ConfirmationArg the member of its arguments that holds the
	// appointment id. An empty kind skips the check (and says so).
	ConfirmationKind string
	ConfirmationArg  string
	// AuditPublicKey is the verifier key (note format) of the audit log's
	// checkpoints; when set, the log's Merkle tree and checkpoints are
	// rebuilt and verified with audit.Verify.
	AuditPublicKey string
}

// Violation is one broken invariant with the ids that break it.
type Violation struct {
	Kind   string   `json:"kind"`
	Detail string   `json:"detail"`
	IDs    []string `json:"ids"`
	// Count is the number of offending ids; IDs lists at most 50.
	Count int `json:"count"`
}

// Report is the outcome of a check.
type Report struct {
	Slots        int         `json:"slots"`
	Appointments int         `json:"appointments"`
	InWindow     int         `json:"appointments_in_window"`
	Responses    int         `json:"responses"`
	AuditLeaves  uint64      `json:"audit_leaves"`
	Skipped      []string    `json:"skipped,omitempty"`
	Violations   []Violation `json:"violations"`
}

// OK reports whether no invariant was broken.
func (r *Report) OK() bool { return len(r.Violations) == 0 }

// Summary is one line for a clean run or a list of violations.
func (r *Report) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "checked %d slots, %d appointments (%d in the run window), %d responses: ",
		r.Slots, r.Appointments, r.InWindow, r.Responses)
	if r.OK() {
		b.WriteString("no violations\n")
	} else {
		fmt.Fprintf(&b, "%d violations\n", len(r.Violations))
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(&b, "  not checked: %s\n", s)
	}
	for _, v := range r.Violations {
		fmt.Fprintf(&b, "  %s (%d): %s: %s\n", v.Kind, v.Count, v.Detail, strings.Join(v.IDs, " "))
	}
	return b.String()
}

func (r *Report) add(kind, detail string, ids []string) {
	if len(ids) == 0 {
		return
	}
	sort.Strings(ids)
	v := Violation{Kind: kind, Detail: detail, Count: len(ids), IDs: ids}
	if len(ids) > maxIDs {
		v.IDs = ids[:maxIDs]
	}
	r.Violations = append(r.Violations, v)
}

// checker holds one run's state.
type checker struct {
	cfg Config
	q   *store.Queries
	rep *Report
	// appts maps every appointment id to its row.
	appts map[string]apptRow
}

type apptRow struct {
	reference string
	created   time.Time
}

// Run checks every invariant and returns the report; the error is for a
// check that could not run, not for a violation.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.BookedAction == "" {
		cfg.BookedAction = DefaultBookedAction
	}
	if cfg.ConfirmationArg == "" {
		cfg.ConfirmationArg = DefaultConfirmationArg
	}
	if cfg.Responses != nil && cfg.Since.IsZero() && cfg.Until.IsZero() {
		cfg.Since, cfg.Until = cfg.Responses.Since, cfg.Responses.Until
	}
	c := &checker{
		cfg: cfg,
		q:   store.ParseQueries(cfg.DB.Dialect, "check/queries.sql", queriesSQL),
		rep: &Report{Violations: []Violation{}},
	}
	steps := []func(context.Context) error{
		c.capacity, c.doubleBooked, c.loadAppointments, c.responses,
		c.auditRecords, c.confirmations, c.auditLog,
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return nil, err
		}
	}
	return c.rep, nil
}

// inWindow reports whether an appointment was created during the run.
func (c *checker) inWindow(t time.Time) bool {
	if !c.cfg.Since.IsZero() && t.Before(c.cfg.Since) {
		return false
	}
	if !c.cfg.Until.IsZero() && t.After(c.cfg.Until) {
		return false
	}
	return true
}

// windowIDs returns the ids of appointments created during the run.
func (c *checker) windowIDs() []string {
	var ids []string
	for id, a := range c.appts {
		if c.inWindow(a.created) {
			ids = append(ids, id)
		}
	}
	return ids
}
