package waitroom

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
)

// BenchmarkMemoryPerTicket measures the heap a waiting ticket costs in
// the memory store, with a million of them. Run with -benchtime=1x.
func BenchmarkMemoryPerTicket(b *testing.B) {
	const n = 1_000_000
	ctx := context.Background()
	clients := make([]string, n)
	for i := range clients {
		clients[i] = fmt.Sprintf("client-%d", i)
	}
	for range b.N {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		m := NewMemoryStore()
		now := opening
		for i := range n {
			if _, _, err := m.Join(ctx, JoinParams{Client: clients[i], Now: now}); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		c, _ := m.Counts(ctx, now)
		if c.Waiting != n {
			b.Fatalf("waiting = %d", c.Waiting)
		}
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "bytes/ticket")
		runtime.KeepAlive(m)
	}
}

// BenchmarkTokenVerify is the cost of checking one admission token.
func BenchmarkTokenVerify(b *testing.B) {
	ctx := context.Background()
	db := storetest.Open(b, store.SQLite)
	f := setup(b, "memory", db, Config{}, func(int64) Store { return NewMemoryStore() })
	tok, err := f.room.keys.Issue(Ticket{ID: newTicketID(), AdmittedAt: f.clk.Now(), ExpiresAt: f.clk.Now().Add(time.Minute)}, "vaxbook-booking")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, reason := f.room.keys.Verify(ctx, tok, "vaxbook-booking", 30*time.Second); reason != "" {
			b.Fatal(reason)
		}
	}
}
