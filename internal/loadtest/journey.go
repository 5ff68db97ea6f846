package loadtest

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// next is what a step decides: go to state after wait, or end with an
// outcome.
type next struct {
	state   int
	wait    time.Duration
	outcome string
}

func goTo(state int, wait time.Duration) next { return next{state: state, wait: wait} }
func end(outcome string) next                 { return next{state: stDone, outcome: outcome} }
func failed(step string, r result) next {
	kind := r.problem
	if r.err != nil {
		kind = "transport"
		if r.timedOut {
			kind = "client-timeout"
		}
	}
	return end("failed_" + step + ":" + kind)
}

// run performs p's current step.
func (d *driver) run(ctx context.Context, p *person) next {
	switch p.state {
	case stRoom:
		return d.loadRoom(ctx, p)
	case stTicket:
		return d.join(ctx, p)
	case stPoll:
		return d.poll(ctx, p)
	case stSession:
		return d.signIn(ctx, p)
	case stEvaluate:
		return d.evaluate(ctx, p)
	case stSearch:
		return d.search(ctx, p)
	case stHold:
		return d.takeHold(ctx, p)
	case stRelease:
		return d.release(ctx, p)
	case stBook:
		return d.book(p)
	}
	return end("failed_internal:bad-state")
}

// retry repeats a step that met a transient refusal, a few times.
func (p *person) retry(step string, r result) next {
	p.tries++
	if p.tries > maxTries {
		return failed(step, r)
	}
	wait := r.retryAfter
	if wait <= 0 {
		wait = time.Duration(p.tries) * 500 * time.Millisecond
	}
	return goTo(p.state, wait)
}

func transient(r result) bool {
	return r.err != nil || r.status == http.StatusTooManyRequests || r.status >= 500
}

// loadRoom loads the waiting-room status, as the page does on arrival.
func (d *driver) loadRoom(ctx context.Context, p *person) next {
	r := d.cl.do(ctx, call{from: p.addr, step: StepRoom, method: "GET", path: "/v1/waiting-room"})
	if r.status == http.StatusNotFound {
		// A deployment without a waiting room: go straight in.
		d.noteRoom(roomStatus{State: "absent"})
		return goTo(stSession, 0)
	}
	if !r.ok() {
		if transient(r) {
			return p.retry(StepRoom, r)
		}
		return failed(StepRoom, r)
	}
	var room roomStatus
	if err := r.decode(&room); err != nil {
		return end("failed_" + StepRoom + ":bad-body")
	}
	d.noteRoom(room)
	p.tries = 0
	if room.on() {
		return goTo(stTicket, 0)
	}
	return goTo(stSession, 0)
}

// roomStatus is GET /v1/waiting-room.
type roomStatus struct {
	State             string  `json:"state"`
	Mode              string  `json:"mode"`
	AdmissionRatePerS float64 `json:"admission_rate_per_s"`
	Enabled           *bool   `json:"enabled"`
}

// on reports whether the room stands in front of booking.
func (r roomStatus) on() bool {
	if r.Enabled != nil {
		return *r.Enabled
	}
	return r.State == "open" || r.State == "pre-queue"
}

// ticketStatus is a ticket as the room describes it.
type ticketStatus struct {
	Ticket         string  `json:"ticket"`
	Status         string  `json:"status"`
	Position       int     `json:"position"`
	PollAfterS     float64 `json:"poll_after_s"`
	AdmissionToken string  `json:"admission_token"`
}

func (t ticketStatus) pollAfter() time.Duration {
	if t.PollAfterS <= 0 {
		return time.Second
	}
	return time.Duration(t.PollAfterS * float64(time.Second))
}

func (d *driver) join(ctx context.Context, p *person) next {
	r := d.cl.do(ctx, call{from: p.addr, step: StepTicket, method: "POST", path: "/v1/waiting-room/tickets", body: map[string]any{}})
	if !r.ok() {
		if transient(r) {
			return p.retry(StepTicket, r)
		}
		return failed(StepTicket, r)
	}
	var t ticketStatus
	if err := r.decode(&t); err != nil || t.Ticket == "" {
		return end("failed_" + StepTicket + ":bad-body")
	}
	p.cookies(r.header)
	p.ticket, p.joinedAt, p.tries = t.Ticket, time.Now(), 0
	d.st.stage(StageJoined, p.joinedAt)
	d.st.queued(1, p.joinedAt)
	if p.abandonQueue {
		d.st.queued(-1, time.Now())
		return end(OutAbandonedQueue)
	}
	return d.ticketNext(p, t)
}

func (d *driver) poll(ctx context.Context, p *person) next {
	c := call{from: p.addr, step: StepPoll, method: "GET", path: "/v1/waiting-room/tickets/" + url.PathEscape(p.ticket)}
	if p.cookie != "" {
		c.headers = map[string]string{"Cookie": p.cookie}
	}
	r := d.cl.do(ctx, c)
	if !r.ok() {
		if transient(r) {
			return p.retry(StepPoll, r)
		}
		d.st.queued(-1, time.Now())
		return failed(StepPoll, r)
	}
	var t ticketStatus
	if err := r.decode(&t); err != nil {
		d.st.queued(-1, time.Now())
		return end("failed_" + StepPoll + ":bad-body")
	}
	p.tries = 0
	return d.ticketNext(p, t)
}

// ticketNext follows a ticket's status: admitted people go on, waiting
// ones poll again when told, anything else ends the wait.
func (d *driver) ticketNext(p *person, t ticketStatus) next {
	now := time.Now()
	switch t.Status {
	case "admitted":
		if t.AdmissionToken == "" {
			d.st.queued(-1, now)
			return end("failed_" + StepPoll + ":no-token")
		}
		p.admission = t.AdmissionToken
		d.st.queued(-1, now)
		d.st.admitted(now, now.Sub(p.joinedAt))
		d.st.stage(StageAdmitted, now)
		return goTo(stSession, 0)
	case "waiting", "pre-queue":
		return goTo(stPoll, t.pollAfter())
	}
	d.st.queued(-1, now)
	return end("queue_" + t.Status)
}

func (d *driver) signIn(ctx context.Context, p *person) next {
	r := d.cl.do(ctx, call{from: p.addr, step: StepSession, method: "POST", path: "/v1/sessions",
		body: p.identity(d.runID, &d.cfg, time.Now())})
	if !r.ok() {
		if transient(r) {
			return p.retry(StepSession, r)
		}
		return failed(StepSession, r)
	}
	var s struct {
		Token string `json:"session_token"`
	}
	if err := r.decode(&s); err != nil || s.Token == "" {
		return end("failed_" + StepSession + ":bad-body")
	}
	p.session, p.tries = s.Token, 0
	d.st.stage(StageSignedIn, time.Now())
	return goTo(stEvaluate, 0)
}

func (d *driver) evaluate(ctx context.Context, p *person) next {
	r := d.cl.do(ctx, call{from: p.addr, step: StepEvaluate, method: "POST", path: "/v1/eligibility:evaluate",
		token: p.session, body: map[string]any{"answers": d.cfg.Answers}})
	if !r.ok() {
		if transient(r) {
			return p.retry(StepEvaluate, r)
		}
		return failed(StepEvaluate, r)
	}
	var e struct {
		DecisionRef string `json:"decision_ref"`
		Eligible    bool   `json:"eligible"`
	}
	if err := r.decode(&e); err != nil {
		return end("failed_" + StepEvaluate + ":bad-body")
	}
	p.tries = 0
	d.st.stage(StageEvaluated, time.Now())
	if !e.Eligible {
		return end(OutIneligible)
	}
	p.decision = e.DecisionRef
	d.st.stage(StageEligible, time.Now())
	return goTo(stSearch, 0)
}

// slotView is one search result.
type slotView struct {
	ID        int64 `json:"id"`
	Remaining int   `json:"remaining"`
}

func (d *driver) search(ctx context.Context, p *person) next {
	q := url.Values{"near": {p.zip}, "dose": {fmt.Sprint(d.cfg.Dose)}, "limit": {"50"}}
	r := d.cl.do(ctx, call{from: p.addr, step: StepSearch, method: "GET", path: "/v1/slots?" + q.Encode(), token: p.session})
	if !r.ok() {
		if transient(r) {
			return p.retry(StepSearch, r)
		}
		return failed(StepSearch, r)
	}
	var res struct {
		Slots []slotView `json:"slots"`
	}
	if err := r.decode(&res); err != nil {
		return end("failed_" + StepSearch + ":bad-body")
	}
	p.tries = 0
	if !p.searched {
		p.searched = true
		d.st.stage(StageSearched, time.Now())
	}
	p.searches++
	var open []int64
	for _, s := range res.Slots {
		if s.Remaining > 0 {
			open = append(open, s.ID)
		}
	}
	if len(open) == 0 {
		if p.searches < maxSearches {
			return goTo(stSearch, p.between(time.Second, 3*time.Second))
		}
		return end(OutNoSlots)
	}
	// People favour the first results (nearest, soonest) without all
	// taking the first: the smaller of two uniform picks puts three
	// quarters of them in the first half, so popular slots collide the way
	// they do when everyone searches near the same clinic.
	p.slot = open[min(p.rng.IntN(len(open)), p.rng.IntN(len(open)))]
	think := p.between(0, 300*time.Millisecond)
	if p.stale {
		// A stale choice: the page stays open while the slot fills.
		think = p.between(2*time.Second, 10*time.Second)
	}
	if p.direct {
		p.newKey(d.runID)
		return goTo(stBook, think)
	}
	return goTo(stHold, think)
}

// full handles a slot that filled up between search and choice.
func (p *person) full() next {
	if p.searches >= maxSearches {
		return end(OutGaveUp)
	}
	return goTo(stSearch, 0)
}

func (d *driver) admissionHeader(p *person) map[string]string {
	if p.admission == "" {
		return nil
	}
	return map[string]string{"Admission-Token": p.admission}
}

func (d *driver) takeHold(ctx context.Context, p *person) next {
	r := d.cl.do(ctx, call{from: p.addr, step: StepHold, method: "POST", path: "/v1/holds", token: p.session,
		headers: d.admissionHeader(p), body: map[string]any{"slot_id": p.slot}})
	switch {
	case r.status == http.StatusConflict && (r.problem == "slot-full" || r.problem == "conflict"):
		return p.full()
	case !r.ok() && transient(r):
		return p.retry(StepHold, r)
	case !r.ok():
		return failed(StepHold, r)
	}
	var h struct {
		ID string `json:"hold_id"`
	}
	if err := r.decode(&h); err != nil || h.ID == "" {
		return end("failed_" + StepHold + ":bad-body")
	}
	p.hold, p.tries = h.ID, 0
	if !p.held {
		p.held = true
		d.st.stage(StageHeld, time.Now())
	}
	if p.abandonHold {
		if p.release {
			return goTo(stRelease, p.between(0, time.Second))
		}
		return end(OutAbandonedHold)
	}
	p.newKey(d.runID)
	return goTo(stBook, p.between(0, 200*time.Millisecond))
}

func (d *driver) release(ctx context.Context, p *person) next {
	r := d.cl.do(ctx, call{from: p.addr, step: StepRelease, method: "DELETE", path: "/v1/holds/" + url.PathEscape(p.hold),
		token: p.session})
	if !r.ok() && transient(r) {
		return p.retry(StepRelease, r)
	}
	return end(OutAbandonedHold)
}
