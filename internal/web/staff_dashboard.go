package web

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// dashboardSamples is how many samples the dashboard keeps: at the
// default interval of 2 s, the last four minutes.
const dashboardSamples = 120

// sample is one reading of the registry, turned into rates against the
// previous reading.
type sample struct {
	At          time.Time
	QueueDepth  float64
	Admissions  float64 // per second
	Bookings    float64 // per second
	Conflicts   map[string]float64
	OutboxLag   float64 // mean seconds of the messages sent in the interval
	AuditLag    float64 // seconds
	BookedTotal float64
}

// totals are the counters a sample is computed from.
type totals struct {
	at                     time.Time
	admissions, bookings   float64
	conflicts              map[string]float64
	outboxSum, outboxCount float64
}

// sampler reads the app's Prometheus registry in process every few
// seconds into a ring buffer the dashboard draws.
type sampler struct {
	mu   sync.Mutex
	ring []sample
	prev *totals
}

func (sp *sampler) samples() []sample {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return append([]sample(nil), sp.ring...)
}

// Run samples the registry every interval until ctx ends.
func (s *Web) Run(ctx context.Context) {
	every := s.cfg.DashboardInterval
	if every <= 0 {
		every = 2 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s.sampleOnce()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Web) sampleOnce() {
	if s.cfg.Registry == nil {
		return
	}
	mfs, err := s.cfg.Registry.Gather()
	if err != nil && len(mfs) == 0 {
		return
	}
	now := time.Now()
	cur := totals{at: now, conflicts: map[string]float64{}}
	var smp sample
	for _, mf := range mfs {
		switch mf.GetName() {
		case "vaxbook_waitroom_queue_depth":
			for _, m := range mf.GetMetric() {
				if label(m, "state") != "outstanding" {
					smp.QueueDepth += m.GetGauge().GetValue()
				}
			}
		case "vaxbook_waitroom_admissions_total":
			cur.admissions = sum(mf)
		case "vaxbook_bookings_total":
			cur.bookings = sum(mf)
		case "vaxbook_booking_conflicts_total":
			for _, m := range mf.GetMetric() {
				cur.conflicts[label(m, "site")] += m.GetCounter().GetValue()
			}
		case "vaxbook_notify_lag_seconds":
			for _, m := range mf.GetMetric() {
				cur.outboxSum += m.GetHistogram().GetSampleSum()
				cur.outboxCount += float64(m.GetHistogram().GetSampleCount())
			}
		case "vaxbook_audit_sealer_lag_seconds":
			smp.AuditLag = sum(mf)
		}
	}
	s.dash.mu.Lock()
	defer s.dash.mu.Unlock()
	smp.At, smp.BookedTotal, smp.Conflicts = now, cur.bookings, map[string]float64{}
	if p := s.dash.prev; p != nil {
		dt := now.Sub(p.at).Seconds()
		if dt > 0 {
			smp.Admissions = math.Max(0, cur.admissions-p.admissions) / dt
			smp.Bookings = math.Max(0, cur.bookings-p.bookings) / dt
			for site, n := range cur.conflicts {
				if d := n - p.conflicts[site]; d > 0 {
					smp.Conflicts[site] = d / dt
				}
			}
		}
		if n := cur.outboxCount - p.outboxCount; n > 0 {
			smp.OutboxLag = (cur.outboxSum - p.outboxSum) / n
		}
	}
	s.dash.prev = &cur
	s.dash.ring = append(s.dash.ring, smp)
	if len(s.dash.ring) > dashboardSamples {
		s.dash.ring = s.dash.ring[len(s.dash.ring)-dashboardSamples:]
	}
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func sum(mf *dto.MetricFamily) float64 {
	t := 0.0
	for _, m := range mf.GetMetric() {
		switch {
		case m.Counter != nil:
			t += m.GetCounter().GetValue()
		case m.Gauge != nil:
			t += m.GetGauge().GetValue()
		}
	}
	return t
}

// chart is one line chart drawn as an SVG polyline.
type chart struct {
	ID, Title, Unit string
	Points          string // "x,y x,y ..." in the 300x100 plot area
	Now, Max        string
	Empty           bool
}

// bar is one site's bar of the 409 chart.
type bar struct {
	Label       string
	Y, W        int
	TextY       int
	Rate, Total string
}

type dashboardView struct {
	Charts   []chart
	Bars     []bar
	BarsH    int
	Active   []jurisdictionRow
	Freezes  []string
	Booked   string
	Samples  int
	Updated  string
	Interval int
}

const chartW, chartH = 300, 100

// lineChart scales values into the plot area, newest on the right.
func lineChart(id, title, unit string, vals []float64) chart {
	c := chart{ID: id, Title: title, Unit: unit, Empty: len(vals) == 0}
	maxV := 0.0
	for _, v := range vals {
		maxV = math.Max(maxV, v)
	}
	scale := maxV
	if scale == 0 {
		scale = 1
	}
	var b strings.Builder
	n := len(vals)
	for i, v := range vals {
		x := float64(chartW)
		if n > 1 {
			x = float64(i) * chartW / float64(dashboardSamples-1)
			x += float64(dashboardSamples-n) * chartW / float64(dashboardSamples-1)
		}
		y := chartH - v/scale*(chartH-4)
		fmt.Fprintf(&b, "%.1f,%.1f ", x, y)
	}
	c.Points = strings.TrimSpace(b.String())
	c.Max = num(maxV)
	if n > 0 {
		c.Now = num(vals[n-1])
	}
	return c
}

func num(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v < 10:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

func (s *Web) dashboardView(r *http.Request) dashboardView {
	smps := s.dash.samples()
	pick := func(f func(sample) float64) []float64 {
		out := make([]float64, len(smps))
		for i, x := range smps {
			out[i] = f(x)
		}
		return out
	}
	v := dashboardView{Samples: len(smps), Interval: int(s.interval().Seconds())}
	v.Charts = []chart{
		lineChart("queue", "Queue depth", "people waiting", pick(func(x sample) float64 { return x.QueueDepth })),
		lineChart("admissions", "Admissions per second", "/s", pick(func(x sample) float64 { return x.Admissions })),
		lineChart("bookings", "Bookings per second", "/s", pick(func(x sample) float64 { return x.Bookings })),
		lineChart("outbox", "Outbox lag", "s", pick(func(x sample) float64 { return x.OutboxLag })),
		lineChart("audit", "Audit lag", "s", pick(func(x sample) float64 { return x.AuditLag })),
	}
	if n := len(smps); n > 0 {
		v.Booked = strconv.FormatFloat(smps[n-1].BookedTotal, 'f', 0, 64)
		v.Updated = staffTime(smps[n-1].At)
	}
	v.Bars, v.BarsH = s.conflictBars(r.Context(), smps)
	if active, err := s.cfg.Eligibility.Jurisdictions(r.Context()); err == nil {
		for j, ver := range active {
			v.Active = append(v.Active, jurisdictionRow{j, ver})
		}
		sort.Slice(v.Active, func(a, b int) bool { return v.Active[a].Jurisdiction < v.Active[b].Jurisdiction })
	}
	if fs, err := s.cfg.Eligibility.Freezes(r.Context()); err == nil {
		for _, f := range fs {
			v.Freezes = append(v.Freezes, f.Scope)
		}
	}
	return v
}

func (s *Web) interval() time.Duration {
	if s.cfg.DashboardInterval > 0 {
		return s.cfg.DashboardInterval
	}
	return 2 * time.Second
}

// conflictBars averages each site's 409 rate over the buffer and draws
// the eight highest as horizontal bars.
func (s *Web) conflictBars(ctx context.Context, smps []sample) ([]bar, int) {
	if len(smps) == 0 {
		return nil, 0
	}
	mean := map[string]float64{}
	for _, x := range smps {
		for site, rate := range x.Conflicts {
			mean[site] += rate / float64(len(smps))
		}
	}
	type kv struct {
		site string
		rate float64
	}
	var list []kv
	for k, r := range mean {
		list = append(list, kv{k, r})
	}
	sort.Slice(list, func(a, b int) bool {
		return list[a].rate > list[b].rate || (list[a].rate == list[b].rate && list[a].site < list[b].site)
	})
	if len(list) > 8 {
		list = list[:8]
	}
	out := make([]bar, 0, len(list))
	for i, x := range list {
		w := 0
		if list[0].rate > 0 {
			w = int(x.rate / list[0].rate * 180)
		}
		out = append(out, bar{Label: s.siteLabel(ctx, x.site), Y: i * 24, W: max(w, 1), TextY: i*24 + 14,
			Rate: num(x.rate) + "/s"})
	}
	return out, len(out) * 24
}

func (s *Web) siteLabel(ctx context.Context, id string) string {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return id
	}
	site, err := s.cfg.Booking.Site(ctx, n)
	if err != nil {
		return "site " + id
	}
	name := site.Name
	if len(name) > 28 {
		name = name[:27] + "…"
	}
	return name
}

// dashboardPage is the whole dashboard; a plain link reloads it without
// JavaScript, and app.js swaps the charts in place every few seconds.
func (s *Web) dashboardPage(w http.ResponseWriter, r *http.Request) {
	p, ok := s.staff(w, r, "dashboard")
	if !ok {
		return
	}
	s.staffRender(w, r, http.StatusOK, "staff_dashboard", p, "staff.dashboard", s.dashboardView(r))
}

// dashboardCharts is the charts fragment the refresh script fetches.
func (s *Web) dashboardCharts(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.staff(w, r, "dashboard"); !ok {
		return
	}
	var buf bytes.Buffer
	pg := &Page{Lang: "en", Staff: true, Data: s.dashboardView(r), cat: s.views.cat, assets: s.views.assets}
	if err := s.views.pages["staff_dashboard"].ExecuteTemplate(&buf, "charts", pg); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}
