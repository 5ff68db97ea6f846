package audit

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Registerer is where the sealer registers its metrics
// (prometheus.Registerer).
type Registerer = prometheus.Registerer

type sealerMetrics struct {
	lag        prometheus.Gauge
	lagSeconds prometheus.Gauge
	sealed     prometheus.Counter
	size       prometheus.Gauge
	errors     prometheus.Counter
}

// newSealerMetrics makes the sealer's metrics. They carry counts only: no
// label holds a reference, let alone personal data.
func newSealerMetrics(reg Registerer) (*sealerMetrics, error) {
	m := &sealerMetrics{
		lag: prometheus.NewGauge(prometheus.GaugeOpts{Name: "vaxbook_audit_sealer_lag_records",
			Help: "Audit records committed but not yet sealed into the Merkle tree."}),
		lagSeconds: prometheus.NewGauge(prometheus.GaugeOpts{Name: "vaxbook_audit_sealer_lag_seconds",
			Help: "Age of the oldest committed audit record not yet sealed."}),
		sealed: prometheus.NewCounter(prometheus.CounterOpts{Name: "vaxbook_audit_sealed_records_total",
			Help: "Audit records sealed into the Merkle tree by this process."}),
		size: prometheus.NewGauge(prometheus.GaugeOpts{Name: "vaxbook_audit_checkpoint_size",
			Help: "Tree size of the newest signed audit checkpoint."}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{Name: "vaxbook_audit_seal_errors_total",
			Help: "Sealing rounds that failed."}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.lag, m.lagSeconds, m.sealed, m.size, m.errors} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register audit metrics: %w", err)
		}
	}
	return m, nil
}
