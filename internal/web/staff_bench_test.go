package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkCountConflicts measures what the 409 counter adds to a
// booking request that succeeds (the common case): reading the small
// body once and watching the status.
func BenchmarkCountConflicts(b *testing.B) {
	m, err := newMetrics(nil, prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusCreated)
	})
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"bare", ok}, {"counted", m.CountConflicts(ok)}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest("POST", "/v1/holds", strings.NewReader(`{"slot_id": 12345}`))
				c.h.ServeHTTP(httptest.NewRecorder(), r)
			}
		})
	}
}

// BenchmarkLineChart measures drawing one full chart of the ring.
func BenchmarkLineChart(b *testing.B) {
	vals := make([]float64, dashboardSamples)
	for i := range vals {
		vals[i] = float64(i % 17)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = lineChart("x", "X", "/s", vals)
	}
}
