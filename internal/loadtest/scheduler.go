package loadtest

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// scheduler hands people to workers when their next step is due. A person
// waiting in the queue or thinking is a few hundred bytes in a heap rather
// than a sleeping goroutine, so a run of a million people fits in memory
// and the workers bound the load the driver itself puts on the machine.
type scheduler struct {
	mu   sync.Mutex
	h    dueHeap
	seq  uint64
	live int
	// stopping is set when the run's time is up: from then on only
	// bookings whose outcome is unknown are carried on.
	stopping bool
	wake     chan struct{}
	// onStop is told of each person dropped when the run stops.
	onStop func(p *person)
}

type due struct {
	at  time.Time
	seq uint64
	p   *person
}

type dueHeap []due

func (h dueHeap) Len() int { return len(h) }
func (h dueHeap) Less(i, j int) bool {
	if h[i].at.Equal(h[j].at) {
		return h[i].seq < h[j].seq
	}
	return h[i].at.Before(h[j].at)
}
func (h dueHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)   { *h = append(*h, x.(due)) }
func (h *dueHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func newScheduler(onStop func(*person)) *scheduler {
	return &scheduler{wake: make(chan struct{}, 1), onStop: onStop}
}

// add schedules a new person.
func (s *scheduler) add(at time.Time, p *person) {
	s.mu.Lock()
	s.live++
	s.mu.Unlock()
	s.push(at, p)
}

// push schedules p's next step at at.
func (s *scheduler) push(at time.Time, p *person) {
	s.mu.Lock()
	if s.stopping && !p.mustFinish() {
		s.live--
		s.mu.Unlock()
		s.onStop(p)
		s.poke()
		return
	}
	s.seq++
	heap.Push(&s.h, due{at: at, seq: s.seq, p: p})
	s.mu.Unlock()
	s.poke()
}

// done marks p finished.
func (s *scheduler) done() {
	s.mu.Lock()
	s.live--
	s.mu.Unlock()
	s.poke()
}

func (s *scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// stop switches to draining: everyone not in the middle of a booking is
// dropped, the rest are run at once.
func (s *scheduler) stop() {
	s.mu.Lock()
	s.stopping = true
	keep := s.h[:0]
	var dropped []*person
	for _, d := range s.h {
		if d.p.mustFinish() {
			d.at = time.Time{}
			keep = append(keep, d)
		} else {
			dropped = append(dropped, d.p)
		}
	}
	s.h = keep
	heap.Init(&s.h)
	s.live -= len(dropped)
	s.mu.Unlock()
	for _, p := range dropped {
		s.onStop(p)
	}
	s.poke()
}

// leftover returns the people still scheduled when dispatch gave up.
func (s *scheduler) leftover() []*person {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*person, 0, len(s.h))
	for _, d := range s.h {
		out = append(out, d.p)
	}
	return out
}

// dispatch sends due people to ready until nobody is left, then closes it.
// The run's end (runCtx) switches to draining; drainCtx ends even that.
func (s *scheduler) dispatch(runCtx, drainCtx context.Context, ready chan<- *person) {
	defer close(ready)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	runDone := runCtx.Done()
	for {
		if runDone != nil && runCtx.Err() != nil {
			// Stop once, then stop listening: a closed channel in the
			// select below would spin.
			runDone = nil
			s.stop()
		}
		s.mu.Lock()
		if s.live == 0 || drainCtx.Err() != nil {
			s.mu.Unlock()
			return
		}
		var wait time.Duration = time.Hour
		if len(s.h) > 0 {
			wait = time.Until(s.h[0].at)
			if wait <= 0 {
				d := heap.Pop(&s.h).(due)
				s.mu.Unlock()
				ready <- d.p
				continue
			}
		}
		s.mu.Unlock()
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-s.wake:
		case <-runDone:
		case <-drainCtx.Done():
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}
