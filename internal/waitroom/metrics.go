package waitroom

import "github.com/prometheus/client_golang/prometheus"

// metrics are the room's Prometheus series. They carry counts and reasons
// only, never a ticket, token or person.
type metrics struct {
	tickets     prometheus.Counter
	depth       *prometheus.GaugeVec
	admissions  prometheus.Counter
	failures    *prometheus.CounterVec
	toBooking   prometheus.Histogram
	waited      prometheus.Histogram
	stock       prometheus.Gauge
	notifyAsked prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	waitBuckets := []float64{1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400}
	m := &metrics{
		tickets: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vaxbook_waitroom_tickets_total", Help: "Waiting-room tickets created."}),
		depth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vaxbook_waitroom_queue_depth", Help: "Tickets by queue state (pre-queue, waiting, outstanding admissions)."},
			[]string{"state"}),
		admissions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vaxbook_waitroom_admissions_total", Help: "Tickets admitted by this node; rate() gives admissions per second."}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vaxbook_waitroom_token_failures_total", Help: "Admission tokens refused, by reason."}, []string{"reason"}),
		toBooking: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "vaxbook_waitroom_admission_to_booking_seconds", Help: "Time from admission to the booking that spent the token.",
			Buckets: []float64{5, 15, 30, 60, 120, 180, 300, 450, 600, 900, 1800}}),
		waited: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "vaxbook_waitroom_wait_seconds", Help: "Time from joining the queue to admission.", Buckets: waitBuckets}),
		stock: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vaxbook_waitroom_remaining_seats", Help: "Bookable seats the room last saw (-1 when it does not follow stock)."}),
		notifyAsked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vaxbook_waitroom_notify_requests_total", Help: "Sold-out notify requests recorded."}),
	}
	for _, r := range Reasons {
		m.failures.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.tickets, m.depth, m.admissions, m.failures, m.toBooking, m.waited, m.stock, m.notifyAsked)
	}
	return m
}
