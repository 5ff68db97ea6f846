package notify

import (
	"context"
	"database/sql"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/store"
)

//go:embed queries.sql
var queriesSQL string

// queueName is the river queue that carries every message.
const queueName = "notify"

// MessageArgs is the job of one message. It holds ids and the time the
// message is about, never content: the worker reads the rest when it sends,
// so a message shows the state at send time.
type MessageArgs struct {
	Type          string `json:"type"`
	AppointmentID string `json:"appointment_id,omitempty"`
	PersonID      int64  `json:"person_id"`
	// SlotStartUS is the appointment's start when the job was written, in
	// microseconds; a reminder or reschedule notice whose appointment has
	// moved since is dropped, because the move wrote its own.
	SlotStartUS int64 `json:"slot_start_us,omitempty"`
	// Before is how long before the start a reminder goes out.
	Before time.Duration `json:"before,omitempty"`
	// Dose is the dose a next-dose reminder is about.
	Dose      int    `json:"dose,omitempty"`
	OfferID   string `json:"offer_id,omitempty"`
	SlotID    int64  `json:"slot_id,omitempty"`
	ExpiresUS int64  `json:"expires_us,omitempty"`
}

// Each message type is its own river job kind ("notify.confirmation",
// ...), so operators and `vaxbook check` can find them by kind.
type (
	// ConfirmationArgs is a booking confirmation job.
	ConfirmationArgs struct{ MessageArgs }
	// ReminderArgs is a reminder job, scheduled before the appointment.
	ReminderArgs struct{ MessageArgs }
	// CancellationArgs is a cancellation notice job.
	CancellationArgs struct{ MessageArgs }
	// RescheduleArgs is a new-time notice job.
	RescheduleArgs struct{ MessageArgs }
	// NextDoseArgs is a reminder to book the next dose, scheduled when due.
	NextDoseArgs struct{ MessageArgs }
	// OfferArgs is a waitlist offer job.
	OfferArgs struct{ MessageArgs }
)

// Kind returns the river job kind.
func (ConfirmationArgs) Kind() string { return "notify." + TypeConfirmation }

// Kind returns the river job kind.
func (ReminderArgs) Kind() string { return "notify." + TypeReminder }

// Kind returns the river job kind.
func (CancellationArgs) Kind() string { return "notify." + TypeCancellation }

// Kind returns the river job kind.
func (RescheduleArgs) Kind() string { return "notify." + TypeReschedule }

// Kind returns the river job kind.
func (NextDoseArgs) Kind() string { return "notify." + TypeNextDose }

// Kind returns the river job kind.
func (OfferArgs) Kind() string { return "notify." + TypeOffer }

func (a MessageArgs) message() MessageArgs { return a }

// jobArgs converts args to the job of its type.
func (a MessageArgs) jobArgs() river.JobArgs {
	switch a.Type {
	case TypeConfirmation:
		return ConfirmationArgs{a}
	case TypeReminder:
		return ReminderArgs{a}
	case TypeCancellation:
		return CancellationArgs{a}
	case TypeReschedule:
		return RescheduleArgs{a}
	case TypeNextDose:
		return NextDoseArgs{a}
	}
	return OfferArgs{a}
}

// kinds lists every job kind of the outbox.
var kinds = []string{ConfirmationArgs{}.Kind(), ReminderArgs{}.Kind(), CancellationArgs{}.Kind(),
	RescheduleArgs{}.Kind(), NextDoseArgs{}.Kind(), OfferArgs{}.Kind()}

// Options are what New needs besides the database.
type Options struct {
	Config Config
	Source Source
	Sender Sender
	Log    *slog.Logger
	Clock  clock.Clock
	// Registry receives the outbox metrics; nil registers none.
	Registry prometheus.Registerer
}

// Outbox writes message jobs inside booking transactions and sends them
// after commit. It implements booking.Listener.
type Outbox struct {
	db      *store.DB
	q       *store.Queries
	cfg     Config
	src     Source
	sender  Sender
	log     *slog.Logger
	clk     clock.Clock
	metrics *metrics
	client  *river.Client[*sql.Tx]
}

var _ booking.Listener = (*Outbox)(nil)

// New builds the outbox and its river client; Start begins sending.
// Migrate must have run.
func New(db *store.DB, opts Options) (*Outbox, error) {
	if err := opts.Config.defaults(); err != nil {
		return nil, err
	}
	if opts.Source == nil || opts.Sender == nil {
		return nil, errors.New("notify: a Source and a Sender are required")
	}
	if opts.Clock == nil {
		opts.Clock = clock.System{}
	}
	o := &Outbox{
		db: db, q: store.ParseQueries(db.Dialect, "notify/queries.sql", queriesSQL),
		cfg: opts.Config, src: opts.Source, sender: opts.Sender,
		log: quiet(opts.Log), clk: opts.Clock, metrics: newMetrics(opts.Registry),
	}
	client, err := river.NewClient(driver(db), o.riverConfig())
	if err != nil {
		return nil, fmt.Errorf("notify: river client: %w", err)
	}
	o.client = client
	return o, nil
}

func (o *Outbox) riverConfig() *river.Config {
	workers := river.NewWorkers()
	river.AddWorker(workers, &worker[ConfirmationArgs]{o: o})
	river.AddWorker(workers, &worker[ReminderArgs]{o: o})
	river.AddWorker(workers, &worker[CancellationArgs]{o: o})
	river.AddWorker(workers, &worker[RescheduleArgs]{o: o})
	river.AddWorker(workers, &worker[NextDoseArgs]{o: o})
	river.AddWorker(workers, &worker[OfferArgs]{o: o})
	cfg := &river.Config{
		Logger:      slog.New(warnOnly{o.log.Handler()}).With(slog.String("component", "river")),
		MaxAttempts: o.cfg.MaxAttempts,
		Queues: map[string]river.QueueConfig{queueName: {
			MaxWorkers: o.cfg.Workers, FetchCooldown: o.cfg.PollInterval / 2,
			FetchPollInterval: o.cfg.PollInterval,
		}},
		RetryPolicy: backoff{base: o.cfg.RetryBase, max: o.cfg.RetryMax, clk: o.clk},
		JobTimeout:  o.cfg.SendTimeout,
		PollOnly:    true,
		Workers:     workers,
		// Failed messages stay listable for a month.
		DiscardedJobRetentionPeriod: 30 * 24 * time.Hour,
	}
	if _, system := o.clk.(clock.System); !system {
		// A test clock drives river too, so scheduled reminders come due
		// when the test moves time forward.
		cfg.Test.Time = riverTime{o.clk}
	}
	return cfg
}

// Start begins working jobs. It returns at once; Stop ends the work.
func (o *Outbox) Start(ctx context.Context) error {
	if err := o.client.Start(ctx); err != nil {
		return fmt.Errorf("notify: start: %w", err)
	}
	return nil
}

// Stop waits for messages in flight, then stops.
func (o *Outbox) Stop(ctx context.Context) error { return o.client.Stop(ctx) }

// OnEvent writes the jobs an appointment change calls for, in the change's
// own transaction: a rolled-back booking leaves no job behind.
func (o *Outbox) OnEvent(ctx context.Context, tx *store.Tx, e booking.Event) error {
	switch e.Kind {
	case booking.EventBooked:
		return o.planned(ctx, tx, e, TypeConfirmation)
	case booking.EventRescheduled, booking.EventMoved:
		return o.planned(ctx, tx, e, TypeReschedule)
	case booking.EventCancelled:
		p, err := o.plan(ctx, tx, e.AppointmentID)
		if err != nil {
			return err
		}
		return o.insert(ctx, tx, MessageArgs{Type: TypeCancellation, AppointmentID: e.AppointmentID,
			PersonID: e.PersonID, SlotStartUS: p.startUS}, time.Time{})
	}
	return nil
}

// plan is what the outbox reads about an appointment to schedule its jobs.
type plan struct {
	startUS               int64
	dose, doses, interval int
}

func (o *Outbox) plan(ctx context.Context, tx *store.Tx, appointmentID string) (plan, error) {
	var p plan
	err := tx.QueryRowContext(ctx, o.q.Get("appointment_plan"), appointmentID).
		Scan(&p.startUS, &p.dose, &p.doses, &p.interval)
	if err != nil {
		return p, fmt.Errorf("plan messages: %w", err)
	}
	return p, nil
}

// eventPlan takes the plan from the event when the booking transaction
// already knew it, and reads it otherwise.
func (o *Outbox) eventPlan(ctx context.Context, tx *store.Tx, e booking.Event) (plan, error) {
	if e.SeriesDoses == 0 || e.SlotStart.IsZero() {
		return o.plan(ctx, tx, e.AppointmentID)
	}
	return plan{startUS: e.SlotStart.UnixMicro(), dose: e.Dose, doses: e.SeriesDoses, interval: e.MinIntervalDays}, nil
}

// planned writes a confirmation or reschedule notice and the reminders
// and next-dose reminder of the appointment's current slot.
func (o *Outbox) planned(ctx context.Context, tx *store.Tx, e booking.Event, kind string) error {
	p, err := o.eventPlan(ctx, tx, e)
	if err != nil {
		return err
	}
	base := MessageArgs{AppointmentID: e.AppointmentID, PersonID: e.PersonID, SlotStartUS: p.startUS}
	first := base
	first.Type = kind
	jobs := []river.InsertManyParams{o.params(first, time.Time{})}
	start := time.UnixMicro(p.startUS)
	now := o.clk.Now()
	for _, before := range o.cfg.Reminders {
		at := start.Add(-before)
		if !at.After(now) {
			continue
		}
		r := base
		r.Type, r.Before = TypeReminder, before
		jobs = append(jobs, o.params(r, at))
	}
	if p.dose < p.doses {
		next := base
		next.Type, next.Dose = TypeNextDose, p.dose+1
		jobs = append(jobs, o.params(next, start.AddDate(0, 0, p.interval)))
	}
	// One round trip for all of the appointment's messages: this runs
	// inside the booking transaction.
	if _, err := o.client.InsertManyTx(ctx, tx.Tx, jobs); err != nil {
		return fmt.Errorf("enqueue %s: %w", kind, err)
	}
	return nil
}

// EnqueueNextDose schedules a reminder to book dose of the series that
// appointmentID began, sent at due. It is dropped if that dose is booked by
// then or the earlier appointment was cancelled or moved.
func (o *Outbox) EnqueueNextDose(ctx context.Context, tx *store.Tx, appointmentID string, personID int64, dose int, due time.Time) error {
	p, err := o.plan(ctx, tx, appointmentID)
	if err != nil {
		return err
	}
	return o.insert(ctx, tx, MessageArgs{Type: TypeNextDose, AppointmentID: appointmentID,
		PersonID: personID, SlotStartUS: p.startUS, Dose: dose}, due)
}

// EnqueueOffer writes a waitlist offer of slotID to personID, inside the
// transaction that makes the offer. It is not sent once expiresAt passes.
func (o *Outbox) EnqueueOffer(ctx context.Context, tx *store.Tx, offerID string, personID, slotID int64, expiresAt time.Time) error {
	return o.insert(ctx, tx, MessageArgs{Type: TypeOffer, OfferID: offerID, PersonID: personID,
		SlotID: slotID, ExpiresUS: expiresAt.UnixMicro()}, time.Time{})
}

// insert writes one job. Identical args insert one job only (river's
// unique jobs), so an event delivered twice does not send twice.
func (o *Outbox) insert(ctx context.Context, tx *store.Tx, args MessageArgs, at time.Time) error {
	p := o.params(args, at)
	if _, err := o.client.InsertTx(ctx, tx.Tx, p.Args, p.InsertOpts); err != nil {
		return fmt.Errorf("enqueue %s: %w", args.Type, err)
	}
	return nil
}

// params is one job's insertion: on its queue, at its time, and unique by
// its arguments.
func (o *Outbox) params(args MessageArgs, at time.Time) river.InsertManyParams {
	return river.InsertManyParams{Args: args.jobArgs(), InsertOpts: &river.InsertOpts{Queue: queueName,
		ScheduledAt: at, UniqueOpts: river.UniqueOpts{ByArgs: true}}}
}

// Failed is a message that ran out of attempts.
type Failed struct {
	JobID         int64     `json:"job_id"`
	Type          string    `json:"type"`
	AppointmentID string    `json:"appointment_id,omitempty"`
	OfferID       string    `json:"offer_id,omitempty"`
	Attempts      int       `json:"attempts"`
	LastError     string    `json:"last_error"`
	CreatedAt     time.Time `json:"created_at"`
	FailedAt      time.Time `json:"failed_at"`
}

// Failed lists up to limit messages that ran out of attempts, newest
// first. Errors hold SMTP status codes, never addresses (see scrub).
func (o *Outbox) Failed(ctx context.Context, limit int) ([]Failed, error) {
	params := river.NewJobListParams().Kinds(kinds...).
		States(rivertype.JobStateDiscarded).
		OrderBy(river.JobListOrderByFinalizedAt, river.SortOrderDesc).First(limit)
	res, err := o.client.JobList(ctx, params)
	if err != nil {
		return nil, fmt.Errorf("list failed messages: %w", err)
	}
	out := make([]Failed, 0, len(res.Jobs))
	for _, j := range res.Jobs {
		out = append(out, failedOf(j))
	}
	return out, nil
}

func failedOf(j *rivertype.JobRow) Failed {
	var args MessageArgs
	_ = json.Unmarshal(j.EncodedArgs, &args)
	f := Failed{JobID: j.ID, Type: args.Type, AppointmentID: args.AppointmentID,
		OfferID: args.OfferID, Attempts: j.Attempt, CreatedAt: j.CreatedAt}
	if n := len(j.Errors); n > 0 {
		f.LastError = j.Errors[n-1].Error
	}
	if j.FinalizedAt != nil {
		f.FailedAt = *j.FinalizedAt
	}
	return f
}

// backoff doubles the wait after each failed attempt, up to max.
type backoff struct {
	base, max time.Duration
	clk       clock.Clock
}

// NextRetry returns when the job runs again.
func (b backoff) NextRetry(job *rivertype.JobRow) time.Time {
	wait := b.base
	for i := 1; i < job.Attempt && wait < b.max; i++ {
		wait *= 2
	}
	return b.clk.Now().Add(min(wait, b.max))
}

// riverTime lets river read the injected clock.
type riverTime struct{ clk clock.Clock }

func (t riverTime) Now() time.Time { return t.clk.Now() }

func (t riverTime) NowOrNil() *time.Time {
	now := t.clk.Now().UTC()
	return &now
}
