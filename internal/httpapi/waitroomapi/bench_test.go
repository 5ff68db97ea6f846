package waitroomapi

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/httpx"
	"github.com/vaxbook/vaxbook/internal/waitroom"
)

// BenchmarkStatusVsTrivial serves ticket status requests over HTTP on
// 127.0.0.1 and, on the same machine in the same run, a handler that
// writes a constant JSON body; it reports both rates and their ratio
// (DESIGN.md's target: at least 0.7). Run with -benchtime=1x.
func BenchmarkStatusVsTrivial(b *testing.B) {
	_, room, _, _ := setup(b)
	ctx := context.Background()
	if _, err := room.Configure(ctx, waitroom.Settings{Mode: waitroom.ModeFIFO, OpensAt: opening,
		RatePerS: 10, TokenTTL: 5 * time.Minute}, "bench"); err != nil {
		b.Fatal(err)
	}
	ids := make([]string, 10000)
	for i := range ids {
		s, _, err := room.Join(ctx, fmt.Sprintf("c%d", i))
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = s.Ticket
	}
	router := httpx.NewRouter()
	(&Module{Room: room}).Register(router)
	status := httptest.NewServer(router)
	defer status.Close()
	trivial := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		httpx.JSON(w, http.StatusOK, map[string]any{"status": "waiting", "position": 1})
	}))
	defer trivial.Close()
	const requests, clients = 40000, 16
	for range b.N {
		// Alternate the two, twice, so warm-up and machine noise fall on
		// both sides alike.
		var base, got float64
		for range 2 {
			base += rate(b, clients, requests, func(int) string { return trivial.URL + "/" }) / 2
			got += rate(b, clients, requests, func(i int) string {
				return status.URL + "/v1/waiting-room/tickets/" + ids[i%len(ids)]
			}) / 2
		}
		b.ReportMetric(base, "trivial-req/s")
		b.ReportMetric(got, "status-req/s")
		b.ReportMetric(got/base, "ratio")
	}
}

func rate(b *testing.B, clients, requests int, url func(i int) string) float64 {
	tr := &http.Transport{MaxIdleConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1))
				if i > requests {
					return
				}
				resp, err := c.Get(url(i))
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		}()
	}
	wg.Wait()
	return float64(requests) / time.Since(start).Seconds()
}
