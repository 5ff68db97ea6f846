package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/store"
)

// args is what every message job kind shares.
type args interface {
	river.JobArgs
	message() MessageArgs
}

// worker sends the message jobs of one kind.
type worker[T args] struct {
	river.WorkerDefaults[T]
	o *Outbox
}

// Work renders the message from the current state and sends it. A message
// that no longer applies (cancelled, moved, expired) is cancelled in
// river, not sent; a send error is retried with backoff.
func (w *worker[T]) Work(ctx context.Context, job *river.Job[T]) error {
	return w.o.work(ctx, job.JobRow, job.Args.message())
}

func (o *Outbox) work(ctx context.Context, job *rivertype.JobRow, a MessageArgs) error {
	attrs := []any{slog.Int64("job_id", job.ID), slog.String("type", a.Type),
		slog.Int("attempt", job.Attempt)}
	m, reason, err := o.compose(ctx, job, a)
	if err == nil && reason == "" {
		err = o.sender.Send(ctx, m)
		if errors.Is(err, ErrNoAddress) {
			reason, err = "no_address", nil
		}
	}
	switch {
	case err != nil:
		return o.sendFailed(ctx, job, a.Type, err, attrs)
	case reason != "":
		o.metrics.dropped.WithLabelValues(a.Type, reason).Inc()
		o.log.DebugContext(ctx, "message dropped", append(attrs, slog.String("reason", reason))...)
		return river.JobCancel(fmt.Errorf("dropped: %s", reason))
	}
	o.metrics.sent.WithLabelValues(a.Type).Inc()
	o.metrics.lag.Observe(o.clk.Now().Sub(job.ScheduledAt).Seconds())
	o.log.DebugContext(ctx, "message sent", attrs...)
	return nil
}

func (o *Outbox) sendFailed(ctx context.Context, job *rivertype.JobRow, kind string, err error, attrs []any) error {
	o.metrics.errors.WithLabelValues(kind).Inc()
	attrs = append(attrs, slog.String("error", err.Error()))
	if job.Attempt >= job.MaxAttempts {
		o.metrics.failed.WithLabelValues(kind).Inc()
		o.log.WarnContext(ctx, "message failed after its last attempt", attrs...)
		return err
	}
	o.log.InfoContext(ctx, "message send failed, will retry", attrs...)
	return err
}

// compose reads the message's subject matter and renders it. A non-empty
// reason means the message no longer applies.
func (o *Outbox) compose(ctx context.Context, job *rivertype.JobRow, a MessageArgs) (*Message, string, error) {
	v, reason, err := o.visit(ctx, a)
	if err != nil || reason != "" {
		return nil, reason, err
	}
	r, err := o.src.Recipient(ctx, a.PersonID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, "not_found", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("read recipient: %w", err)
	}
	loc, err := time.LoadLocation(v.TimeZone)
	if err != nil {
		return nil, "", fmt.Errorf("site time zone: %w", err)
	}
	m := &Message{ID: o.messageID(a), Type: a.Type, Lang: r.Lang, From: o.cfg.From,
		To: r.Email, Phone: r.Phone, Date: job.CreatedAt}
	if err := render(m, o.content(a, v, r, loc)); err != nil {
		return nil, "", err
	}
	o.attachCalendar(m, a, v, loc, job.CreatedAt)
	return m, "", nil
}

// visit reads what the message is about and says whether it still applies.
func (o *Outbox) visit(ctx context.Context, a MessageArgs) (Visit, string, error) {
	var v Visit
	var err error
	if a.Type == TypeOffer {
		if !o.clk.Now().Before(time.UnixMicro(a.ExpiresUS)) {
			return v, "expired", nil
		}
		v, err = o.src.SlotVisit(ctx, a.SlotID)
	} else {
		v, err = o.src.Visit(ctx, a.AppointmentID)
	}
	if errors.Is(err, store.ErrNotFound) {
		return v, "not_found", nil
	}
	if err != nil {
		return v, "", fmt.Errorf("read appointment: %w", err)
	}
	if reason := stale(a, v); reason != "" {
		return v, reason, nil
	}
	if a.Type == TypeReminder && !o.clk.Now().Before(v.Start) {
		return v, "past", nil
	}
	if a.Type == TypeNextDose {
		var n int
		err := o.db.Read.QueryRowContext(ctx, o.q.Get("dose_booked"), a.PersonID, a.Dose).Scan(&n)
		if err != nil {
			return v, "", fmt.Errorf("check next dose: %w", err)
		}
		if n > 0 {
			return v, "already_booked", nil
		}
	}
	return v, "", nil
}

// stale says why a message no longer matches its appointment, or "".
func stale(a MessageArgs, v Visit) string {
	moved := v.Start.UnixMicro() != a.SlotStartUS
	switch a.Type {
	case TypeConfirmation:
		if v.Status != booking.StatusBooked {
			return "not_booked"
		}
	case TypeReminder, TypeReschedule:
		if v.Status != booking.StatusBooked {
			return "not_booked"
		}
		if moved {
			return "moved"
		}
	case TypeNextDose:
		if v.Status != booking.StatusBooked && v.Status != booking.StatusCompleted {
			return "not_booked"
		}
		if moved {
			return "moved"
		}
	case TypeCancellation:
		if v.Status != booking.StatusCancelled {
			return "not_cancelled"
		}
	}
	return ""
}

// messageID is stable per appointment (or offer), type and slot start,
// so every attempt of one job, and any duplicate of it, has the same id.
func (o *Outbox) messageID(a MessageArgs) string {
	subject := a.AppointmentID
	if a.Type == TypeOffer {
		subject = a.OfferID
	}
	return messageID(o.cfg.domain(), a.Type, subject, strconv.FormatInt(a.SlotStartUS, 10),
		a.Before.String(), strconv.Itoa(a.Dose), strconv.FormatInt(a.SlotID, 10))
}

func (o *Outbox) content(a MessageArgs, v Visit, r Recipient, loc *time.Location) content {
	c := content{Name: r.GivenName, Reference: v.Reference, When: formatTime(r.Lang, v.Start, loc),
		Site: v.SiteName, Address: v.Address, Vaccine: v.VaccineName, Dose: v.Dose,
		Relative: relative(r.Lang, a.Before), Link: o.cfg.PublicURL + "/appointments"}
	switch a.Type {
	case TypeNextDose:
		c.Dose = a.Dose
		c.Due = formatDate(r.Lang, v.Start.AddDate(0, 0, v.MinIntervalDays), loc)
		c.Link = o.cfg.PublicURL + "/"
	case TypeOffer:
		c.Expires = formatTime(r.Lang, time.UnixMicro(a.ExpiresUS), loc)
		c.Link = o.cfg.PublicURL + "/offers/" + a.OfferID
	}
	return c
}

// attachCalendar adds the .ics of confirmations, reschedules (an update
// of the same UID) and cancellations (a CANCEL of it).
func (o *Outbox) attachCalendar(m *Message, a MessageArgs, v Visit, loc *time.Location, created time.Time) {
	method := "PUBLISH"
	switch a.Type {
	case TypeConfirmation, TypeReschedule:
	case TypeCancellation:
		method = "CANCEL"
	default:
		return
	}
	cal := calendar{UID: v.AppointmentID + "@" + o.cfg.domain(), Method: method,
		Sequence: created.Unix(), Stamp: created, Start: v.Start, End: v.End, Zone: loc,
		Summary: v.VaccineName + " (" + v.Reference + ")", Location: v.SiteName + ", " + v.Address,
		URL: o.cfg.PublicURL + "/appointments"}
	m.Calendar, m.CalendarMethod = cal.ics(), method
}
