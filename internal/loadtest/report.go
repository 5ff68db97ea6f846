package loadtest

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is what a run measured.
type Report struct {
	Target    string    `json:"target"`
	People    int       `json:"people"`
	Curve     string    `json:"curve"`
	StartedAt time.Time `json:"started_at"`
	EndedAt   time.Time `json:"ended_at"`
	ElapsedS  float64   `json:"elapsed_s"`
	// Funnel counts people by how far they got; Outcomes by where they
	// ended. The outcomes add up to People.
	Funnel   map[string]int64            `json:"funnel"`
	Outcomes map[string]int64            `json:"outcomes"`
	Errors   map[string]map[string]int64 `json:"errors"`
	Latency  map[string]Percentiles      `json:"latency_ms"`
	// QueueWait is the distribution of the time from joining the queue to
	// admission, over admitted people.
	QueueWait Percentiles `json:"queue_wait_s"`
	Admission Admission   `json:"admission"`
	// BookingsPerS is bookings over the time from the first to the last.
	BookingsPerS float64 `json:"bookings_per_s"`
	Origin       Origin  `json:"origin_requests"`
	Replays      int64   `json:"idempotent_replays"`
	// TimeoutRetries counts booking attempts repeated with the same key
	// after a client timeout or a broken connection.
	TimeoutRetries int64    `json:"timeout_retries"`
	Timeline       []second `json:"timeline"`
}

// Percentiles summarise a distribution.
type Percentiles struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// Admission compares the achieved admission rate with the room's.
type Admission struct {
	RoomState      string  `json:"room_state"`
	ConfiguredPerS float64 `json:"configured_per_s"`
	AchievedPerS   float64 `json:"achieved_per_s"`
	Admitted       int64   `json:"admitted"`
	WindowS        float64 `json:"window_s"`
}

// Origin counts requests past the waiting room and those that admission
// control (admission-required, rate-limited) turned away.
type Origin struct {
	Requests      int64   `json:"requests"`
	Refused       int64   `json:"refused"`
	Accepted      int64   `json:"accepted"`
	RefusedShare  float64 `json:"refused_share"`
	RoomRequests  int64   `json:"waiting_room_requests"`
	PeopleInQueue int64   `json:"people_queued"`
}

func percentiles(ds []time.Duration, unit time.Duration) Percentiles {
	if len(ds) == 0 {
		return Percentiles{}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	at := func(q float64) float64 {
		i := int(q*float64(len(ds))+0.5) - 1
		i = max(0, min(i, len(ds)-1))
		return float64(ds[i]) / float64(unit)
	}
	return Percentiles{Count: int64(len(ds)), P50: at(0.5), P90: at(0.9), P99: at(0.99),
		Max: float64(ds[len(ds)-1]) / float64(unit)}
}

func (d *driver) report(start, end time.Time) *Report {
	s := d.st
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &Report{
		Target: d.cfg.Target, People: d.cfg.People, Curve: d.cfg.Curve.String(),
		StartedAt: start.UTC(), EndedAt: end.UTC(), ElapsedS: end.Sub(start).Seconds(),
		Funnel: map[string]int64{}, Outcomes: s.outcomes, Errors: s.errors,
		Latency: map[string]Percentiles{}, Replays: s.replays, TimeoutRetries: s.timeoutRetries,
		Timeline: s.timeline,
	}
	for _, st := range stages {
		r.Funnel[st] = s.stages[st]
	}
	for step, ds := range s.latency {
		r.Latency[step] = percentiles(ds, time.Millisecond)
	}
	r.QueueWait = percentiles(s.waits, time.Second)
	r.Admission = Admission{Admitted: s.stages[StageAdmitted]}
	if d.room != nil {
		r.Admission.RoomState = d.room.State
		r.Admission.ConfiguredPerS = d.room.AdmissionRatePerS
	}
	if w := s.lastAdmit.Sub(s.firstAdmit).Seconds(); w > 0 {
		r.Admission.WindowS = w
		r.Admission.AchievedPerS = float64(r.Admission.Admitted-1) / w
	}
	r.BookingsPerS = bookingRate(s.timeline)
	r.Origin = Origin{Requests: s.origin, Refused: s.refused, Accepted: s.origin - s.refused,
		RoomRequests: s.roomRequests, PeopleInQueue: s.stages[StageJoined]}
	if s.origin > 0 {
		r.Origin.RefusedShare = float64(s.refused) / float64(s.origin)
	}
	return r
}

// bookingRate is bookings per second between the first and the last second
// that had one.
func bookingRate(tl []second) float64 {
	first, last := -1, -1
	var n int64
	for i, s := range tl {
		if s.Bookings > 0 {
			if first < 0 {
				first = i
			}
			last = i
			n += s.Bookings
		}
	}
	if first < 0 {
		return 0
	}
	return float64(n) / float64(last-first+1)
}

// OutcomeTotal is the sum of the outcomes; it equals the people of the run.
func (r *Report) OutcomeTotal() int64 {
	var n int64
	for _, v := range r.Outcomes {
		n += v
	}
	return n
}

// WriteTable prints the report for people.
func (r *Report) WriteTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "load run against %s: %d people, curve %s, %.1f s\n\n", r.Target, r.People, r.Curve, r.ElapsedS)
	fmt.Fprintln(tw, "funnel\tpeople\t")
	for _, st := range stages {
		fmt.Fprintf(tw, "%s\t%d\t\n", st, r.Funnel[st])
	}
	fmt.Fprintln(tw, "\t\t")
	fmt.Fprintln(tw, "outcome\tpeople\t")
	for _, k := range sortedKeys(r.Outcomes) {
		fmt.Fprintf(tw, "%s\t%d\t\n", k, r.Outcomes[k])
	}
	fmt.Fprintln(tw, "\t\t")
	fmt.Fprintln(tw, "step\trequests\tp50 ms\tp90 ms\tp99 ms\tmax ms\t")
	for _, st := range steps {
		if p, ok := r.Latency[st]; ok {
			fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t\n", st, p.Count, p.P50, p.P90, p.P99, p.Max)
		}
	}
	tw.Flush()
	r.writeErrors(w)
	q := r.QueueWait
	fmt.Fprintf(w, "\nqueue wait (s, %d admitted): p50 %.1f  p90 %.1f  p99 %.1f  max %.1f\n", q.Count, q.P50, q.P90, q.P99, q.Max)
	a := r.Admission
	fmt.Fprintf(w, "admission rate: configured %.1f/s, achieved %.1f/s over %.0f s (room %q)\n",
		a.ConfiguredPerS, a.AchievedPerS, a.WindowS, a.RoomState)
	o := r.Origin
	fmt.Fprintf(w, "origin requests: %d, refused by admission control %d (%.2f%%), accepted %d; waiting-room requests %d\n",
		o.Requests, o.Refused, 100*o.RefusedShare, o.Accepted, o.RoomRequests)
	fmt.Fprintf(w, "bookings: %d at %.1f/s; idempotent replays seen %d; retries after client timeouts %d\n",
		r.Funnel[StageBooked], r.BookingsPerS, r.Replays, r.TimeoutRetries)
}

func (r *Report) writeErrors(w io.Writer) {
	if len(r.Errors) == 0 {
		fmt.Fprintln(w, "\nerrors: none")
		return
	}
	fmt.Fprintln(w, "\nerrors by step and problem:")
	for _, st := range steps {
		m := r.Errors[st]
		if len(m) == 0 {
			continue
		}
		parts := make([]string, 0, len(m))
		for _, k := range sortedKeys(m) {
			parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
		}
		fmt.Fprintf(w, "  %-13s %s\n", st, strings.Join(parts, ", "))
	}
}

func sortedKeys(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
