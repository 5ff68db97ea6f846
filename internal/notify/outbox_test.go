package notify

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/riverqueue/river/rivertype"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
)

func TestCommittedBookingSendsOneConfirmationWithCalendar(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		slotID, start := e.slot(t, 3, "212")
		personID, email := e.person(t, "Ada", "en")
		d, err := e.book(t, personID, slotID)
		if err != nil {
			t.Fatal(err)
		}

		got := e.mail.waitFor(t, email, 1)
		e.waitJobs(t, TypeConfirmation, 1)
		if n := len(e.mail.to(email)); n != 1 {
			t.Fatalf("%d messages to the person, want exactly one confirmation", n)
		}
		if !got[0].TLS {
			t.Error("the server offered STARTTLS but the message went in clear")
		}
		msg, parts := parseMail(t, got[0].Data)
		if !strings.Contains(msg.Header.Get("Subject"), d.Appointment.Reference) {
			t.Errorf("subject %q lacks the reference", msg.Header.Get("Subject"))
		}
		text := parts["text/plain"]
		loc, _ := time.LoadLocation("America/Chicago")
		if want := formatTime("en", start, loc); !strings.Contains(text, want) {
			t.Errorf("text does not show the time in the site's zone %q:\n%s", want, text)
		}
		checkCalendar(t, parts["text/calendar"], d.Appointment.ID+"@vaxbook.test", start, "America/Chicago")
	})
}

func TestRolledBackBookingSendsNothing(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		slotID, _ := e.slot(t, 3, "212")
		lost, lostEmail := e.person(t, "Lost", "en")
		kept, keptEmail := e.person(t, "Kept", "en")

		e.fail.on.Store(true)
		if _, err := e.book(t, lost, slotID); err == nil {
			t.Fatal("booking succeeded although a listener failed")
		}
		e.fail.on.Store(false)
		if _, err := e.book(t, kept, slotID); err != nil {
			t.Fatal(err)
		}

		// The committed booking's message is the signal that the worker
		// has run past anything the rolled-back one could have left.
		e.mail.waitFor(t, keptEmail, 1)
		e.waitJobs(t, TypeConfirmation, 1)
		if n := len(e.mail.to(lostEmail)); n != 0 {
			t.Fatalf("rolled-back booking sent %d message(s)", n)
		}
	})
}

func TestMessageWaitsForTheMailServer(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		down := newDownMailServer(t)
		e := setupWith(t, db, down, Config{}, true)
		slotID, _ := e.slot(t, 3, "212")
		personID, email := e.person(t, "Patience", "en")
		if _, err := e.book(t, personID, slotID); err != nil {
			t.Fatal(err)
		}

		waitUntil(t, "a failed attempt", func() bool {
			jobs := e.jobs(t, TypeConfirmation)
			return len(jobs) == 1 && len(jobs[0].Errors) >= 2
		})
		errs := e.jobs(t, TypeConfirmation)[0].Errors
		if strings.Contains(errs[0].Error, email) {
			t.Fatalf("stored error holds the address: %s", errs[0].Error)
		}
		down.start(t)

		e.mail.waitFor(t, email, 1)
		jobs := e.waitJobs(t, TypeConfirmation, 1)
		if jobs[0].State != rivertype.JobStateCompleted || len(e.mail.to(email)) != 1 {
			t.Fatalf("state %s, %d messages; want completed and one", jobs[0].State, len(e.mail.to(email)))
		}
	})
}

func TestCancellationBeforeTheReminderMeansNoReminder(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		slotID, start := e.slot(t, 3, "212")
		personID, email := e.person(t, "Carla", "en")
		d, err := e.book(t, personID, slotID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Cancel(context.Background(), booking.ChangeRequest{
			AppointmentID: d.Appointment.ID, PersonID: personID, Actor: "person:test"}); err != nil {
			t.Fatal(err)
		}
		e.mail.waitFor(t, email, 1)

		// Both reminder times pass; the appointment would be in an hour.
		e.clock.Advance(e.clock.Until(start) - time.Hour)
		reminders := e.waitJobs(t, TypeReminder, 2)
		for _, j := range reminders {
			if j.State != rivertype.JobStateCancelled {
				t.Errorf("reminder job %d is %s, want cancelled (dropped)", j.ID, j.State)
			}
		}
		e.waitJobs(t, TypeCancellation, 1)
		for _, m := range e.mail.to(email) {
			if subj := subject(t, m.Data); strings.Contains(subj, "Reminder") {
				t.Fatalf("a reminder went out for a cancelled appointment: %q", subj)
			}
		}
	})
}

func TestRescheduleMeansOneReminderWithTheNewTime(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		oldSlot, _ := e.slot(t, 3, "212")
		newSlot, newStart := e.slot(t, 4, "212")
		personID, email := e.person(t, "Elena", "es")
		d, err := e.book(t, personID, oldSlot)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Reschedule(context.Background(), booking.ChangeRequest{AppointmentID: d.Appointment.ID,
			PersonID: personID, Actor: "person:test", NewSlotID: newSlot}); err != nil {
			t.Fatal(err)
		}
		e.mail.waitFor(t, email, 2)

		// The old slot's two reminder times and the new slot's day-before
		// time have passed; only the new day-before reminder may go out.
		e.clock.Advance(e.clock.Until(newStart) - 24*time.Hour + time.Minute)
		got := e.mail.waitFor(t, email, 3)
		waitUntil(t, "the old reminders dropped", func() bool {
			n := 0
			for _, j := range e.jobs(t, TypeReminder) {
				if j.State == rivertype.JobStateCancelled {
					n++
				}
			}
			return n == 2
		})
		var reminders []string
		for _, m := range e.mail.to(email) {
			if strings.HasPrefix(subject(t, m.Data), "Recordatorio") {
				_, parts := parseMail(t, m.Data)
				reminders = append(reminders, parts["text/plain"])
			}
		}
		loc, _ := time.LoadLocation("America/Chicago")
		want := formatTime("es", newStart, loc)
		if len(reminders) != 1 || !strings.Contains(reminders[0], want) {
			t.Fatalf("%d reminders (of %d messages); want one showing %q:\n%v", len(reminders), len(got), want, reminders)
		}
	})
}

func TestDroppedConnectionAfterDataGivesTheSameMessage(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		e.mail.dropAfterData.Store(1)
		slotID, _ := e.slot(t, 3, "212")
		personID, email := e.person(t, "Dora", "en")
		if _, err := e.book(t, personID, slotID); err != nil {
			t.Fatal(err)
		}

		// The server kept the first copy but hung up before saying so; the
		// worker cannot know and sends again.
		got := e.mail.waitFor(t, email, 2)
		jobs := e.waitJobs(t, TypeConfirmation, 1)
		if jobs[0].Attempt != 2 {
			t.Errorf("attempts = %d, want 2", jobs[0].Attempt)
		}
		if got[0].MessageID(t) != got[1].MessageID(t) || !bytes.Equal(got[0].Data, got[1].Data) {
			t.Fatalf("the retry produced a different message:\n%s\n----\n%s", got[0].Data, got[1].Data)
		}
	})
}

func TestLastAttemptKeepsTheMessageAsFailed(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		reg := prometheus.NewRegistry()
		down := newDownMailServer(t)
		e := setupWith(t, db, down, Config{MaxAttempts: 2}, false)
		e.outbox.metrics = newMetrics(reg)
		e.start(t)
		slotID, _ := e.slot(t, 3, "212")
		personID, _ := e.person(t, "Fay", "en")
		d, err := e.book(t, personID, slotID)
		if err != nil {
			t.Fatal(err)
		}

		jobs := e.waitJobs(t, TypeConfirmation, 1)
		if jobs[0].State != rivertype.JobStateDiscarded {
			t.Fatalf("state %s, want discarded", jobs[0].State)
		}
		failed, err := e.outbox.Failed(context.Background(), 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(failed) != 1 || failed[0].AppointmentID != d.Appointment.ID || failed[0].Attempts != 2 ||
			!strings.Contains(failed[0].LastError, "smtp connect") {
			t.Fatalf("failed list = %+v", failed)
		}
		if n := testutil.ToFloat64(e.outbox.metrics.failed.WithLabelValues(TypeConfirmation)); n != 1 {
			t.Fatalf("failed counter = %v, want 1", n)
		}
	})
}

func TestNextDoseReminderWhenDue(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		slotID, start := e.slot(t, 2, "207") // Moderna: two doses, 28 days apart
		personID, email := e.person(t, "Nina", "en")
		if _, err := e.book(t, personID, slotID); err != nil {
			t.Fatal(err)
		}
		e.mail.waitFor(t, email, 1)

		e.clock.Advance(e.clock.Until(start.AddDate(0, 0, 28)) + time.Minute)
		got := e.mail.waitFor(t, email, 2)
		e.waitJobs(t, TypeNextDose, 1)
		e.waitJobs(t, TypeReminder, 2) // past the appointment: dropped
		if subj := subject(t, got[1].Data); subj != "Time to book dose 2 of your vaccine" {
			t.Fatalf("second message %q, want the next-dose reminder", subj)
		}
		if n := len(e.mail.to(email)); n != 2 {
			t.Fatalf("%d messages, want confirmation and next-dose reminder only", n)
		}
	})
}

func TestConcurrentBookingsAndTheWorkerShareTheWriter(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		slotID, _ := e.slot(t, 3, "212")
		const clients, each = 6, 10
		type who struct {
			id    int64
			email string
		}
		var people []who
		for i := 0; i < clients*each; i++ {
			id, email := e.person(t, "Crowd"+string(rune('a'+i/26))+string(rune('a'+i%26)), "en")
			people = append(people, who{id, email})
		}

		done := make(chan struct{})
		var wg sync.WaitGroup
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func(c int) {
				defer wg.Done()
				for i := 0; i < each; i++ {
					if _, err := e.book(t, people[c*each+i].id, slotID); err != nil {
						t.Errorf("book: %v", err)
					}
				}
			}(c)
		}
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			t.Fatal("bookings did not finish in 60s: the worker and the bookings are stuck")
		}

		e.waitJobs(t, TypeConfirmation, clients*each)
		for _, p := range people {
			if n := len(e.mail.to(p.email)); n != 1 {
				t.Fatalf("%d confirmations to one person, want 1", n)
			}
		}
	})
}

// waitUntil polls cond for up to 30 seconds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 30s for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func subject(t *testing.T, data []byte) string {
	t.Helper()
	msg, _ := parseMail(t, data)
	s, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// parseMail parses a message and returns its decoded parts by media type.
func parseMail(t *testing.T, data []byte) (*mail.Message, map[string]string) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse message: %v", err)
	}
	parts := map[string]string{}
	walkParts(t, msg.Header.Get("Content-Type"), msg.Body, "", parts)
	return msg, parts
}

func walkParts(t *testing.T, contentType string, body io.Reader, encoding string, out map[string]string) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		t.Fatalf("content type %q: %v", contentType, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		r := multipart.NewReader(body, params["boundary"])
		for {
			p, err := r.NextPart()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatalf("multipart: %v", err)
			}
			walkParts(t, p.Header.Get("Content-Type"), p, p.Header.Get("Content-Transfer-Encoding"), out)
		}
	}
	data, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	if encoding == "base64" {
		data, err = base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(data)))
		if err != nil {
			t.Fatalf("base64 part: %v", err)
		}
	}
	out[mt] = string(data)
}
