package loadtest

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// progress shows the run while it goes: a bar redrawn in place on a
// terminal, a plain line every ProgressEvery otherwise. It returns a
// function that stops it and ends the line.
func (d *driver) progress(start time.Time) func() {
	w := d.cfg.Progress
	if w == nil {
		return func() {}
	}
	every := d.cfg.ProgressEvery
	if d.cfg.ProgressTTY {
		every = 250 * time.Millisecond
	}
	if every <= 0 {
		every = 5 * time.Second
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				d.printProgress(start, true)
				return
			case <-t.C:
				d.printProgress(start, false)
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}

func (d *driver) printProgress(start time.Time, final bool) {
	s := d.st
	s.mu.Lock()
	arrived, booked := s.stages[StageArrived], s.stages[StageBooked]
	var finished int64
	for _, n := range s.outcomes {
		finished += n
	}
	depth, requests := s.queueDepth, s.origin+s.roomRequests
	s.mu.Unlock()
	elapsed := time.Since(start)
	frac := float64(finished) / float64(d.cfg.People)
	line := fmt.Sprintf("%5.0fs arrived %d/%d  queue %d  booked %d  done %d  requests %d",
		elapsed.Seconds(), arrived, d.cfg.People, depth, booked, finished, requests)
	w := d.cfg.Progress
	if !d.cfg.ProgressTTY {
		fmt.Fprintln(w, line)
		return
	}
	const width = 30
	n := int(frac * width)
	bar := strings.Repeat("#", n) + strings.Repeat(".", width-n)
	fmt.Fprintf(w, "\r[%s] %3.0f%% %s\x1b[K", bar, 100*frac, line)
	if final {
		fmt.Fprintln(w)
	}
}
