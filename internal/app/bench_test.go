package app_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/app"
	"github.com/vaxbook/vaxbook/internal/app/apptest"
	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
)

// The booking benchmarks compare the whole HTTP booking path with the raw
// SQL a booking cannot do without (the conditional UPDATE and the INSERT,
// as in ../shared/bench/pgbench/1_hot_row_decrement.sql), on the same
// PostgreSQL in the same run. 32 concurrent clients; run with
//
//	go test ./internal/app -run '^$' -bench 'Booking' -benchtime 3000x
//
// (see docs/BENCHMARKS.md). b.N bookings are made; each HTTP booking is a
// different person with an eligible decision made beforehand.

const benchClients = 32

func benchEngine(b *testing.B) store.Dialect {
	if os.Getenv(storetest.EnvURL) == "" {
		b.Skip("booking benchmarks need PostgreSQL (VAXBOOK_TEST_DATABASE_URL)")
	}
	return store.Postgres
}

func BenchmarkBookingSQL(b *testing.B) {
	for _, spread := range []int{1, 1000} {
		b.Run(fmt.Sprintf("slots=%d", spread), func(b *testing.B) {
			db := storetest.Open(b, benchEngine(b))
			ctx := context.Background()
			mustExec(b, db.Write, `CREATE TABLE bench_slots (id integer PRIMARY KEY, remaining bigint NOT NULL CHECK (remaining >= 0));
				CREATE TABLE bench_appointments (id bigserial PRIMARY KEY, slot_id integer NOT NULL, patient_id bigint NOT NULL, key text NOT NULL UNIQUE);
				INSERT INTO bench_slots SELECT g, 1000000000 FROM generate_series(1, 1000) g`)
			var n atomic.Int64
			b.SetParallelism(benchClients / max(1, runtimeProcs()))
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					slot := 1 + int(i)%spread
					tx, err := db.Write.BeginTx(ctx, nil)
					if err != nil {
						b.Error(err)
						return
					}
					_, err = tx.Exec("UPDATE bench_slots SET remaining = remaining - 1 WHERE id = $1 AND remaining > 0", slot)
					if err == nil {
						_, err = tx.Exec("INSERT INTO bench_appointments (slot_id, patient_id, key) VALUES ($1, $2, $3)", slot, i, fmt.Sprint("k", i))
					}
					if err == nil {
						err = tx.Commit()
					} else {
						tx.Rollback()
					}
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "bookings/s")
		})
	}
}

// BenchmarkBookingHTTP books over HTTP: one hot slot with 8 to 256
// clients (batched, and 32 clients unbatched), and bookings spread over
// 1,000 slots with 32 clients.
func BenchmarkBookingHTTP(b *testing.B) {
	for _, mode := range []struct {
		spread, clients int
		noBatch         bool
	}{{1, 8, false}, {1, 32, false}, {1, 64, false}, {1, 256, false}, {1, 32, true}, {1000, 32, false}} {
		name := fmt.Sprintf("slots=%d/clients=%d/batch=%v", mode.spread, mode.clients, !mode.noBatch)
		b.Run(name, func(b *testing.B) {
			svc, slots, people := benchSetup(b, mode.spread, mode.noBatch)
			var n atomic.Int64
			b.SetParallelism(max(1, mode.clients/runtimeProcs()))
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1) - 1
					if _, err := people[i].book(slots[rand.IntN(len(slots))], i); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "bookings/s")
			_ = svc
		})
	}
}

// BenchmarkBookingLatencyAt80 measures the booking p99 at 80 % of peak:
// it first finds the peak with 32 closed-loop clients over 1,000 slots, then
// offers bookings at a steady 80 % of that rate (open loop: arrivals do not
// wait for answers) and reports the latency percentiles.
func BenchmarkBookingLatencyAt80(b *testing.B) {
	svc, slots, people := benchSetup(b, 1000, false)
	_ = svc
	half := len(people) / 2
	var n atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < benchClients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := n.Add(1) - 1; i < int64(half); i = n.Add(1) - 1 {
				if _, err := people[i].book(slots[rand.IntN(len(slots))], i); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	peak := float64(half) / time.Since(start).Seconds()
	rate := 0.8 * peak
	interval := time.Duration(float64(time.Second) / rate)
	lat := make([]time.Duration, len(people)-half)
	b.ResetTimer()
	next := time.Now()
	for k := range lat {
		i := int64(half + k)
		time.Sleep(time.Until(next))
		next = next.Add(interval)
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := people[i].book(slots[rand.IntN(len(slots))], i)
			if err != nil {
				b.Error(err)
			}
			lat[k] = d
		}()
	}
	wg.Wait()
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(peak, "peak-bookings/s")
	b.ReportMetric(rate, "offered-bookings/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// benchPerson is a signed-in person with an eligible decision.
type benchPerson struct {
	c        *client
	decision string
}

func (p benchPerson) book(slot int64, i int64) (time.Duration, error) {
	t0 := time.Now()
	r := p.c.do("POST", "/v1/appointments", map[string]any{"slot_id": slot, "decision_ref": p.decision},
		"Idempotency-Key", fmt.Sprint("bench-", i))
	if r.status != 201 {
		return 0, fmt.Errorf("booking %d: %d %s", i, r.status, r.body)
	}
	return time.Since(t0), nil
}

// benchSetup starts a service on PostgreSQL with room in spread slots and
// b.N people ready to book (2 b.N for the latency benchmark's two phases
// is left to its b.N).
func benchSetup(b *testing.B, spread int, noBatch bool) (*apptest.Service, []int64, []benchPerson) {
	b.Helper()
	// Keep connections alive between requests, as browsers behind a
	// load balancer would; the default pool keeps only two per host.
	http.DefaultTransport.(*http.Transport).MaxIdleConnsPerHost = 1024
	svc := apptest.Start(b, apptest.Options{Engine: benchEngine(b),
		Configure: func(c *app.Config) { c.NoBatch = noBatch; c.MaxConns = 40 }})
	slots := benchSlots(b, svc, spread)
	people := make([]benchPerson, b.N)
	for i := range people {
		c, d := citizen(b, svc, 1_000_000+i)
		people[i] = benchPerson{c, d}
	}
	return svc, slots, people
}

// benchSlots returns n future MA slots with room for every booking.
func benchSlots(b *testing.B, svc *apptest.Service, n int) []int64 {
	b.Helper()
	rows, err := svc.DB.Read.Query(`SELECT sl.id FROM slots sl JOIN sites si ON si.id = sl.site_id
		WHERE si.region = 'MA' ORDER BY sl.id`)
	if err != nil {
		b.Fatal(err)
	}
	var all []int64
	for rows.Next() {
		var id int64
		_ = rows.Scan(&id)
		all = append(all, id)
	}
	rows.Close()
	if len(all) == 0 {
		b.Fatal("no MA slots")
	}
	if len(all) < n {
		// The demo feed has a few hundred MA slots; add five-minute slots at
		// its first site until there are enough.
		var site int64
		if err := svc.DB.Read.QueryRow("SELECT site_id FROM slots WHERE id = $1", all[0]).Scan(&site); err != nil {
			b.Fatal(err)
		}
		day := time.Now().AddDate(0, 0, 60).Format("2006-01-02")
		last := time.Now().AddDate(0, 0, 69).Format("2006-01-02")
		if _, err := svc.Booking.GenerateSlots(context.Background(), "bench", site, booking.Generate{From: day, To: last,
			Opens: "08:00", Closes: "18:00", IntervalMin: 5, Capacity: 10, Vaccine: "207", Dose: 1}); err != nil {
			b.Fatal(err)
		}
		return benchSlots(b, svc, n)
	}
	if n < len(all) {
		all = all[:n]
	}
	mustExec(b, svc.DB.Write, "UPDATE slots SET capacity = 1000000000, remaining = 1000000000")
	return all
}

func mustExec(b *testing.B, db *sql.DB, q string) {
	b.Helper()
	if _, err := db.Exec(q); err != nil {
		b.Fatal(err)
	}
}
