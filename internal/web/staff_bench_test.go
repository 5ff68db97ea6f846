package web

import "testing"

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
