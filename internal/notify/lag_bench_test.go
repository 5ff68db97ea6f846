package notify

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
)

// stamping records when each address was sent its first message.
type stamping struct {
	mu   sync.Mutex
	sent map[string]time.Time
}

func (s *stamping) Send(_ context.Context, m *Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sent[m.To]; !ok {
		s.sent[m.To] = time.Now()
	}
	return nil
}

// BenchmarkOutboxLag books at about 100 bookings a second for three
// seconds and measures, per booking, the time from its commit (Book
// returned) to the send of its confirmation. Run it with
//
//	go test ./internal/notify -run '^$' -bench OutboxLag -benchtime 1x
func BenchmarkOutboxLag(b *testing.B) {
	for _, engine := range storetest.Engines {
		b.Run(string(engine), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				p50, p99 := outboxLag(b, storetest.Open(b, engine), 100, 3*time.Second)
				b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
			}
		})
	}
}

func outboxLag(b *testing.B, db *store.DB, perSecond int, span time.Duration) (p50, p99 time.Duration) {
	sink := &stamping{sent: map[string]time.Time{}}
	e := benchEnv(b, db, sink)
	slotID, _ := e.slot(b, 3, "212")
	n := int(span.Seconds()) * perSecond
	type who struct {
		id    int64
		email string
	}
	people := make([]who, n)
	for i := range people {
		people[i].id, people[i].email = e.person(b, fmt.Sprintf("Lag%c%c%c", 'a'+i/676, 'a'+i/26%26, 'a'+i%26), "en")
	}
	committed := make([]time.Time, n)
	tick := time.NewTicker(time.Second / time.Duration(perSecond))
	defer tick.Stop()
	var wg sync.WaitGroup
	b.ResetTimer()
	for i := range people {
		<-tick.C
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if _, err := e.book(b, people[i].id, slotID); err != nil {
				b.Errorf("book: %v", err)
				return
			}
			committed[i] = time.Now()
		}(i)
	}
	wg.Wait()
	deadline := time.Now().Add(60 * time.Second)
	for {
		sink.mu.Lock()
		done := len(sink.sent)
		sink.mu.Unlock()
		if done == n {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d confirmations sent after 60s", done, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.StopTimer()
	lags := make([]time.Duration, n)
	for i, p := range people {
		// A send can beat Book's return by a hair; that is no lag at all.
		lags[i] = max(sink.sent[p.email].Sub(committed[i]), 0)
	}
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	return lags[n/2], lags[n*99/100]
}
