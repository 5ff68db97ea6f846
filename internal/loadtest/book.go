package loadtest

import (
	"net/http"
	"sync"
	"time"

	"github.com/vaxbook/vaxbook/internal/check"
)

// book sends POST /v1/appointments with the person's idempotency key. It
// runs on the drain context: once a booking was sent, its outcome must be
// learnt (by repeating the same key) even if the run's time is up.
func (d *driver) book(p *person) next {
	body := map[string]any{"decision_ref": p.decision, "dose": d.cfg.Dose}
	if p.hold != "" && !p.direct {
		body["hold_id"] = p.hold
	} else {
		body["slot_id"] = p.slot
	}
	headers := map[string]string{"Idempotency-Key": p.key}
	if p.admission != "" {
		headers["Admission-Token"] = p.admission
	}
	c := call{from: p.addr, step: StepBook, method: "POST", path: "/v1/appointments", token: p.session, headers: headers, body: body}
	first := p.bookTries == 0
	p.bookTries++
	var results []result
	switch {
	case first && p.doubleClick:
		results = d.doubleClick(c)
	case first && p.clientTimeout:
		// Give up long before the server can answer, as an impatient
		// client or a flaky network does, and retry with the same key.
		c.timeout = p.between(time.Millisecond, 15*time.Millisecond)
		results = []result{d.cl.do(d.drainCtx, c)}
	default:
		results = []result{d.cl.do(d.drainCtx, c)}
	}
	return d.bookOutcome(p, results)
}

// doubleClick sends the same request twice at once.
func (d *driver) doubleClick(c call) []result {
	out := make([]result, 2)
	var wg sync.WaitGroup
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = d.cl.do(d.drainCtx, c)
		}()
	}
	wg.Wait()
	return out
}

// bookOutcome reads the answers to one booking attempt: any 201 books;
// an unknown or in-flight outcome repeats the key; a full slot or expired
// hold means searching again with a new key.
func (d *driver) bookOutcome(p *person, results []result) next {
	booked := false
	for _, r := range results {
		if r.status == http.StatusCreated {
			booked = true
			d.saw201(p, r)
		}
	}
	if booked {
		p.unknown = false
		d.st.stage(StageBooked, time.Now())
		return end(OutBooked)
	}
	for _, r := range results {
		if r.err != nil || r.status >= 500 || r.problem == "idempotency-in-flight" || r.status == http.StatusTooManyRequests {
			return d.bookAgain(p, r)
		}
	}
	r := results[0]
	wasUnknown := p.unknown
	p.unknown = false
	switch r.problem {
	case "slot-full", "hold-expired", "conflict":
		// The answer for this key: had an earlier attempt committed, the
		// repeat would have replayed its 201 (and check would tell).
		p.hold = ""
		return p.full()
	}
	if wasUnknown {
		// An earlier attempt with this key may have committed, yet the
		// server refused the repeat before looking the key up: the person
		// may hold a booking nobody told them of. Named apart so the
		// report points at it; check lists the appointment.
		return end("failed_" + StepBook + ":" + r.problem + "-after-unknown-attempt")
	}
	return failed(StepBook, r)
}

// bookAgain repeats the same key after a wait. A person whose booking
// stays unknown after many tries ends as failed_book:unresolved, which
// check will match against the database.
func (d *driver) bookAgain(p *person, r result) next {
	p.unknown = r.err != nil || r.status >= 500 || r.problem == "idempotency-in-flight"
	if p.bookTries >= maxBookTries {
		return end("failed_" + StepBook + ":unresolved")
	}
	wait := r.retryAfter
	if wait <= 0 {
		wait = time.Duration(p.bookTries) * 100 * time.Millisecond
	}
	if r.err != nil {
		d.st.count(&d.st.timeoutRetries)
	}
	return goTo(stBook, wait)
}

// saw201 writes a 201 to the responses file.
func (d *driver) saw201(p *person, r result) {
	var a struct {
		ID        string `json:"id"`
		Reference string `json:"reference"`
	}
	if err := r.decode(&a); err != nil || a.ID == "" {
		return
	}
	replayed := r.header.Get("Idempotent-Replayed") == "true"
	if replayed {
		d.st.count(&d.st.replays)
	}
	d.respond(check.Response{Type: check.TypeBooked, ID: a.ID, Reference: a.Reference,
		IdempotencyKey: p.key, Replayed: replayed, At: time.Now().UTC()})
}
