package notify

import "github.com/prometheus/client_golang/prometheus"

// metrics counts messages by type; labels never carry ids or addresses.
type metrics struct {
	sent    *prometheus.CounterVec
	dropped *prometheus.CounterVec
	errors  *prometheus.CounterVec
	failed  *prometheus.CounterVec
	lag     prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vaxbook_notify_sent_total", Help: "Messages handed to the sender, by type.",
		}, []string{"type"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vaxbook_notify_dropped_total",
			Help: "Messages not sent because they no longer applied, by type and reason.",
		}, []string{"type", "reason"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vaxbook_notify_send_errors_total", Help: "Failed send attempts, by type.",
		}, []string{"type"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vaxbook_notify_failed_total",
			Help: "Messages kept as failed after their last attempt, by type.",
		}, []string{"type"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "vaxbook_notify_lag_seconds",
			Help:    "Time from a message's due time (its commit, for immediate ones) to its send.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
	}
	if reg != nil {
		reg.MustRegister(m.sent, m.dropped, m.errors, m.failed, m.lag)
	}
	return m
}
