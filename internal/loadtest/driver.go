package loadtest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/vaxbook/vaxbook/internal/check"
)

// drainGrace bounds how long bookings with an unknown outcome are carried
// on after the run's time is up.
const drainGrace = 60 * time.Second

// driver is one run.
type driver struct {
	cfg   Config
	runID string
	cl    *client
	st    *stats
	sched *scheduler
	// drainCtx outlives the run by drainGrace, for bookings in flight.
	drainCtx context.Context

	roomMu sync.Mutex
	room   *roomStatus

	respMu  sync.Mutex
	respEnc *json.Encoder
}

// Run drives one simulated opening day and returns its report. It stops by
// itself when every person's journey has ended or MaxRun has passed.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	start := time.Now()
	d := &driver{cfg: cfg, runID: runID(), st: newStats(start)}
	d.cl = newClient(cfg, d.st)
	d.sched = newScheduler(func(p *person) {
		if p.arrived.IsZero() {
			d.st.outcome(OutNotArrived)
			return
		}
		d.st.outcome(OutStopped)
	})
	if cfg.Responses != nil {
		d.respEnc = json.NewEncoder(cfg.Responses)
	}
	runCtx, cancelRun := context.WithTimeout(ctx, cfg.MaxRun)
	defer cancelRun()
	drainCtx, cancelDrain := context.WithTimeout(ctx, cfg.MaxRun+drainGrace)
	defer cancelDrain()
	d.drainCtx = drainCtx

	cfg.Log.InfoContext(ctx, "load run started", slog.Int("people", cfg.People),
		slog.String("curve", cfg.Curve.String()), slog.Duration("arrivals", cfg.Arrivals))
	for i := 0; i < cfg.People; i++ {
		d.sched.add(start.Add(cfg.Curve.Offset(i, cfg.People, cfg.Arrivals)), newPerson(i, &d.cfg))
	}
	stopProgress := d.progress(start)
	d.work(runCtx, drainCtx)
	end := time.Now()
	stopProgress()
	for range d.sched.leftover() {
		d.st.outcome("failed_" + StepBook + ":unresolved")
	}
	d.respond(check.Response{Type: check.TypeRun, StartedAt: start.UTC(), EndedAt: end.UTC()})
	rep := d.report(start, end)
	cfg.Log.InfoContext(ctx, "load run finished", slog.Int64("booked", rep.Funnel[StageBooked]),
		slog.Duration("elapsed", end.Sub(start)))
	return rep, nil
}

// work runs the workers until the scheduler has nobody left.
func (d *driver) work(runCtx, drainCtx context.Context) {
	ready := make(chan *person)
	go d.sched.dispatch(runCtx, drainCtx, ready)
	var wg sync.WaitGroup
	// More workers than request slots (of both budgets): a worker blocked
	// on a free slot costs a goroutine, not a request.
	for w := 0; w < d.cfg.Concurrency*4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range ready {
				d.step(runCtx, p)
			}
		}()
	}
	wg.Wait()
}

// step runs p's current step and schedules the next one.
func (d *driver) step(ctx context.Context, p *person) {
	if p.state == stRoom && p.arrived.IsZero() {
		p.arrived = time.Now()
		d.st.stage(StageArrived, p.arrived)
	}
	n := d.run(ctx, p)
	if n.state == stDone {
		d.st.outcome(n.outcome)
		p.state = stDone
		d.sched.done()
		return
	}
	if n.state != p.state {
		p.tries = 0
	}
	p.state = n.state
	d.sched.push(time.Now().Add(n.wait), p)
}

func (d *driver) noteRoom(r roomStatus) {
	d.roomMu.Lock()
	if d.room == nil {
		d.room = &r
	}
	d.roomMu.Unlock()
}

func (d *driver) respond(r check.Response) {
	if d.respEnc == nil {
		return
	}
	d.respMu.Lock()
	_ = d.respEnc.Encode(r)
	d.respMu.Unlock()
}

// runID names the run in identities and keys, in letters.
func runID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	out := make([]byte, len(b))
	for i, c := range b {
		out[i] = 'a' + c%26
	}
	out[0] -= 'a' - 'A'
	return string(out)
}
