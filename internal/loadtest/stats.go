package loadtest

import (
	"sync"
	"time"
)

// Steps of a person's journey, each one kind of request.
const (
	StepRoom     = "waiting_room"
	StepTicket   = "ticket"
	StepPoll     = "poll"
	StepSession  = "session"
	StepEvaluate = "evaluate"
	StepSearch   = "search"
	StepHold     = "hold"
	StepRelease  = "release"
	StepBook     = "book"
)

// steps lists them in journey order, for reports.
var steps = []string{StepRoom, StepTicket, StepPoll, StepSession, StepEvaluate, StepSearch, StepHold, StepRelease, StepBook}

// Funnel stages: how many people got this far.
const (
	StageArrived   = "arrived"
	StageJoined    = "joined"
	StageAdmitted  = "admitted"
	StageSignedIn  = "signed_in"
	StageEvaluated = "evaluated"
	StageEligible  = "eligible"
	StageSearched  = "searched"
	StageHeld      = "held"
	StageBooked    = "booked"
)

var stages = []string{StageArrived, StageJoined, StageAdmitted, StageSignedIn, StageEvaluated,
	StageEligible, StageSearched, StageHeld, StageBooked}

// Outcomes: where each person's journey ended. Every person has exactly
// one, so the outcomes add up to the people of the run (and, less those
// not arrived by the run's end, to the arrivals).
const (
	OutBooked         = "booked"
	OutIneligible     = "ineligible"
	OutAbandonedQueue = "abandoned_queue"
	OutAbandonedHold  = "abandoned_hold"
	OutNoSlots        = "no_slots"
	OutGaveUp         = "gave_up_slot_full"
	OutStopped        = "stopped_by_run_end"
	// OutNotArrived is a person whose arrival time lay after the run's end.
	OutNotArrived = "not_arrived_by_run_end"
	// Queue endings are "queue_" + the ticket status (expired, sold_out...)
	// and failures "failed_" + step + ":" + problem name.
)

// stats collects everything a run measures. One mutex is plenty: a request
// takes far longer than the bookkeeping.
type stats struct {
	mu       sync.Mutex
	start    time.Time
	stages   map[string]int64
	outcomes map[string]int64
	errors   map[string]map[string]int64
	latency  map[string][]time.Duration
	waits    []time.Duration
	// Requests outside the waiting room, and those refused by admission
	// control (admission-required, rate-limited).
	origin, refused int64
	roomRequests    int64
	queueDepth      int64
	firstAdmit      time.Time
	lastAdmit       time.Time
	timeline        []second
	replays         int64
	timeoutRetries  int64
}

// second is one second of the run.
type second struct {
	Arrivals   int64 `json:"arrivals"`
	Admitted   int64 `json:"admitted"`
	Bookings   int64 `json:"bookings"`
	QueueDepth int64 `json:"queue_depth"`
	Requests   int64 `json:"requests"`
}

func newStats(start time.Time) *stats {
	return &stats{
		start: start, stages: map[string]int64{}, outcomes: map[string]int64{},
		errors: map[string]map[string]int64{}, latency: map[string][]time.Duration{},
	}
}

// sec returns the timeline entry for t; the caller holds mu.
func (s *stats) sec(t time.Time) *second {
	i := int(t.Sub(s.start) / time.Second)
	if i < 0 {
		i = 0
	}
	for len(s.timeline) <= i {
		s.timeline = append(s.timeline, second{QueueDepth: s.queueDepth})
	}
	return &s.timeline[i]
}

func (s *stats) stage(name string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stages[name]++
	switch name {
	case StageArrived:
		s.sec(at).Arrivals++
	case StageBooked:
		s.sec(at).Bookings++
	}
}

func (s *stats) outcome(name string) {
	s.mu.Lock()
	s.outcomes[name]++
	s.mu.Unlock()
}

// request records one finished request: its latency when it got an
// answer, and its problem name when it was refused.
func (s *stats) request(step string, at time.Time, d time.Duration, answered bool, problem string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sec(at).Requests++
	if answered {
		s.latency[step] = append(s.latency[step], d)
	}
	switch {
	case isRoomStep(step):
		s.roomRequests++
	default:
		s.origin++
		if problem == "admission-required" || problem == "rate-limited" {
			s.refused++
		}
	}
	if problem == "" {
		return
	}
	m := s.errors[step]
	if m == nil {
		m = map[string]int64{}
		s.errors[step] = m
	}
	m[problem]++
}

func (s *stats) queued(delta int64, at time.Time) {
	s.mu.Lock()
	// Take the second first: seconds without events in between keep the
	// depth they had before this change.
	e := s.sec(at)
	s.queueDepth += delta
	e.QueueDepth = s.queueDepth
	s.mu.Unlock()
}

func (s *stats) admitted(at time.Time, wait time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.firstAdmit.IsZero() || at.Before(s.firstAdmit) {
		s.firstAdmit = at
	}
	if at.After(s.lastAdmit) {
		s.lastAdmit = at
	}
	s.waits = append(s.waits, wait)
	s.sec(at).Admitted++
}

func (s *stats) count(p *int64) {
	s.mu.Lock()
	*p++
	s.mu.Unlock()
}
