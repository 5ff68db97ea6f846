package loadtest

import (
	"bytes"
	"image/color"
	"image/png"
	"strings"
	"testing"
	"time"
)

func TestBurstCurveFrontLoadsArrivals(t *testing.T) {
	t.Parallel()
	c, err := ParseCurve("burst")
	if err != nil {
		t.Fatal(err)
	}
	const n = 10000
	window := 10 * time.Minute
	var firstTwoMinutes int
	prev := time.Duration(-1)
	for i := 0; i < n; i++ {
		off := c.Offset(i, n, window)
		if off < prev || off < 0 || off > window {
			t.Fatalf("offset %d = %v after %v (window %v)", i, off, prev, window)
		}
		prev = off
		if off < 2*time.Minute {
			firstTwoMinutes++
		}
	}
	// Tau is a fifth of the window: 1-e^-1 of the (truncated) mass, about
	// 63.6%, arrives in the first fifth.
	if share := float64(firstTwoMinutes) / n; share < 0.62 || share > 0.65 {
		t.Fatalf("share in first two minutes = %.3f, want about 0.636", share)
	}
	u, _ := ParseCurve("uniform")
	if got := u.Offset(n/2, n, window); got < 299*time.Second || got > 301*time.Second {
		t.Fatalf("uniform median = %v", got)
	}
	if _, err := ParseCurve("wave"); err == nil {
		t.Fatal("unknown curve accepted")
	}
}

func TestValidateRefusesRemoteTargets(t *testing.T) {
	t.Parallel()
	for target, ok := range map[string]bool{
		"http://127.0.0.1:8080": true, "http://localhost:1": true, "http://[::1]:80": true,
		"http://10.0.0.5:8080": false, "https://vaxbook.example": false, "http://169.254.169.254": false,
		"ftp://127.0.0.1": false,
	} {
		cfg := Defaults(target, 10)
		if err := cfg.Validate(); (err == nil) != ok {
			t.Errorf("Validate(%s) = %v, want ok=%v", target, err, ok)
		}
	}
	cfg := Defaults("http://10.0.0.5:8080", 10)
	cfg.AllowRemote = true
	if err := cfg.Validate(); err != nil {
		t.Errorf("--allow-remote: %v", err)
	}
}

func TestIdentitiesAreUnique(t *testing.T) {
	t.Parallel()
	cfg := Defaults("http://127.0.0.1:1", 5000)
	seen := map[string]bool{}
	now := time.Date(2027, 2, 18, 8, 0, 0, 0, time.UTC)
	ineligible := 0
	for i := 0; i < cfg.People; i++ {
		p := newPerson(i, &cfg)
		id := p.identity("Run", &cfg, now)
		name := id["given_name"].(string) + " " + id["family_name"].(string)
		if seen[name] || strings.ContainsAny(name, "0123456789") {
			t.Fatalf("name %q repeated or has digits", name)
		}
		seen[name] = true
		born, _ := time.Parse("2006-01-02", id["birth_date"].(string))
		age := now.Sub(born).Hours() / 24 / 365.25
		if !p.eligible {
			ineligible++
			if age >= 16 {
				t.Fatalf("ineligible person aged %.0f", age)
			}
		} else if age < 65 {
			t.Fatalf("eligible person aged %.0f", age)
		}
	}
	cfg.ForwardedFor = true
	for i, want := range map[int]string{0: "198.18.0.0", 257: "198.18.1.1", 65536: "198.19.0.0", 131072: "198.18.0.0"} {
		if got := newPerson(i, &cfg).addr; got != want {
			t.Errorf("address of person %d = %s, want %s", i, got, want)
		}
	}
	if share := float64(ineligible) / float64(cfg.People); share < 0.17 || share > 0.23 {
		t.Fatalf("ineligible share %.3f, want about 0.2", share)
	}
}

func TestReportAndChart(t *testing.T) {
	t.Parallel()
	st := newStats(time.Now())
	for i := 1; i <= 100; i++ {
		st.request(StepBook, st.start, time.Duration(i)*time.Millisecond, true, "")
	}
	st.request(StepHold, st.start, time.Millisecond, true, "admission-required")
	at := st.start
	for i := 0; i < 30; i++ {
		st.queued(1, at)
		if i%3 == 0 {
			st.stage(StageBooked, at)
		}
		at = at.Add(time.Second)
	}
	d := &driver{cfg: Defaults("http://127.0.0.1:1", 100), st: st}
	rep := d.report(st.start, at)
	if p := rep.Latency[StepBook]; p.P50 != 50 || p.P99 != 99 || p.Max != 100 || p.Count != 100 {
		t.Fatalf("book latency = %+v", p)
	}
	if rep.Origin.Requests != 101 || rep.Origin.Refused != 1 {
		t.Fatalf("origin = %+v", rep.Origin)
	}
	if rep.BookingsPerS < 0.33 || rep.BookingsPerS > 0.36 || len(rep.Timeline) != 30 || rep.Timeline[29].QueueDepth != 30 {
		t.Fatalf("rate %.2f, timeline %d", rep.BookingsPerS, len(rep.Timeline))
	}
	var table bytes.Buffer
	rep.WriteTable(&table)
	for _, want := range []string{"booked", "admission-required 1", "p99 ms"} {
		if !strings.Contains(table.String(), want) {
			t.Fatalf("table lacks %q:\n%s", want, table.String())
		}
	}
	var img bytes.Buffer
	if err := rep.WriteChart(&img); err != nil {
		t.Fatal(err)
	}
	decoded, err := png.Decode(&img)
	if err != nil {
		t.Fatalf("chart is not a PNG: %v", err)
	}
	if b := decoded.Bounds(); b.Dx() != chartW || b.Dy() != chartH {
		t.Fatalf("chart size %v", b)
	}
	// Both series are drawn: the queue line and the booking bars.
	counts := map[color.RGBA]int{}
	b := decoded.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := decoded.At(x, y).RGBA()
			counts[color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8), uint8(a >> 8)}]++
		}
	}
	if counts[colQueue] < 500 || counts[colBookings] < 500 {
		t.Fatalf("series pixels: queue %d, bookings %d", counts[colQueue], counts[colBookings])
	}
}
