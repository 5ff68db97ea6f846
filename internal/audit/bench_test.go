package audit_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/eligibility/gate"
	"github.com/vaxbook/vaxbook/internal/identity"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
)

// admitAll stands in for the eligibility gate: the benchmark measures what
// the audit record costs the booking transaction, not the rules.
type admitAll struct{}

func (admitAll) Admit(context.Context, *store.Tx, gate.Check) (string, error) { return "bench-1", nil }

const (
	benchClients  = 32
	benchSlots    = 1000
	benchBookings = 1000 // per phase
)

type benchEnv struct {
	db      *store.DB
	ids     *identity.Store
	people  []identity.Session
	next    atomic.Int64
	slots   []int64
	nextDay int
	booked  atomic.Int64 // bookings committed so far, all phases
}

// BenchmarkBookingAuditOverhead books on PostgreSQL with 32 clients over
// 1,000 slots in three alternating phases: the audit record off, on
// without the sealer (the insert alone), and on with the sealer running
// beside it as in production. It reports each rate, the ratios to "off"
// and how far the sealer fell behind. Phases alternate so that a noisy
// neighbour on the machine hits all three alike.
//
//	VAXBOOK_TEST_DATABASE_URL=... go test -run '^$' -bench BookingAuditOverhead -benchtime 8x ./internal/audit/
func BenchmarkBookingAuditOverhead(b *testing.B) {
	db := storetest.Open(b, store.Postgres)
	ctx := context.Background()
	env := &benchEnv{db: db, ids: identity.New(db, pii.TestKeys(), clock.System{})}
	env.makePeople(b, (3*b.N+1)*benchBookings)
	key, _, _ := audit.GenerateKey("bench.vaxbook/audit")
	sealer, err := audit.NewSealer(db, key, audit.Config{}, nil, clock.System{})
	if err != nil {
		b.Fatal(err)
	}
	var off, insertOnly, sealed time.Duration
	var ratiosInsert, ratiosOn []float64
	var maxLag int64
	var maxLagAge time.Duration
	env.phase(b, true) // warm the pool, caches and plans
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dOff := env.phase(b, true)
		dInsert := env.phase(b, false)
		off, insertOnly = off+dOff, insertOnly+dInsert
		b.StopTimer()
		drain(b, sealer) // the insert-only phase's records must not count as lag
		b.StartTimer()
		sctx, stop := context.WithCancel(ctx)
		go func() { _ = sealer.Run(sctx) }()
		lag := env.watchLag(sctx)
		dOn := env.phase(b, false)
		sealed += dOn
		ratiosInsert = append(ratiosInsert, dOff.Seconds()/dInsert.Seconds())
		ratiosOn = append(ratiosOn, dOff.Seconds()/dOn.Seconds())
		stop()
		l := <-lag
		maxLag, maxLagAge = max(maxLag, l.records), max(maxLagAge, l.age)
	}
	b.StopTimer()
	rate := func(d time.Duration) float64 { return float64(b.N*benchBookings) / d.Seconds() }
	b.ReportMetric(rate(off), "bookings/s-off")
	b.ReportMetric(rate(insertOnly), "bookings/s-insert-only")
	b.ReportMetric(rate(sealed), "bookings/s-on")
	// The median of per-round ratios: a burst of load from a neighbour
	// spoils one round, not the result.
	b.ReportMetric(median(ratiosInsert), "ratio-insert-only")
	b.ReportMetric(median(ratiosOn), "ratio-on")
	b.ReportMetric(float64(maxLag), "max-lag-records")
	b.ReportMetric(maxLagAge.Seconds(), "max-lag-s")
	drain(b, sealer)
	if rep, err := audit.Verify(ctx, db, key.PublicKey()); err != nil || !rep.OK {
		b.Fatalf("verify after the run: %v %+v", err, rep)
	}
}

// drain seals until a round finds nothing. The first round after a burst
// may leave the newest records for the next one, so it runs at least two.
func drain(b *testing.B, s *audit.Sealer) {
	for i := 0; ; i++ {
		r, err := s.SealOnce(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if i > 0 && r.Sealed == 0 && r.Lag == 0 {
			return
		}
	}
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

type lagSample struct {
	records int64
	age     time.Duration
}

// watchLag samples, until ctx ends, how many committed bookings are not yet
// leaves and how long the oldest of them has waited, and sends the worst.
// It reads only the highest leaf index (one index probe) so that watching
// does not slow what it watches; every booking of the phase writes exactly
// one record.
func (e *benchEnv) watchLag(ctx context.Context) <-chan lagSample {
	out := make(chan lagSample, 1)
	base, leaves0 := e.booked.Load(), e.leaves()
	go func() {
		var worst lagSample
		type point struct {
			at   time.Time
			done int64
		}
		var history []point
		for ctx.Err() == nil {
			now, done := time.Now(), e.booked.Load()-base
			history = append(history, point{now, done})
			sealed := e.leaves() - leaves0
			if lag := done - sealed; lag > 0 {
				worst.records = max(worst.records, lag)
				for _, p := range history { // when did the first unsealed one commit?
					if p.done > sealed {
						worst.age = max(worst.age, now.Sub(p.at))
						break
					}
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		out <- worst
	}()
	return out
}

func (e *benchEnv) leaves() int64 {
	var n int64
	_ = e.db.Read.QueryRow("SELECT COALESCE(max(leaf_index) + 1, 0) FROM audit_leaves").Scan(&n)
	return n
}

func (e *benchEnv) makePeople(b *testing.B, n int) {
	e.people = make([]identity.Session, n)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				s, err := e.ids.CreateSession(context.Background(), identity.Attested{GivenName: "Bench",
					FamilyName: fmt.Sprintf("Person%d", i), BirthDate: "1950-01-01", PostalCode: "02114",
					Email: fmt.Sprintf("b%d@example.org", i)})
				if err != nil {
					b.Error(err)
					return
				}
				e.people[i] = s
			}
		}(w)
	}
	wg.Wait()
}

// phase books benchBookings seats on fresh slots and returns the time the
// bookings took (slot creation excluded).
func (e *benchEnv) phase(b *testing.B, noAudit bool) time.Duration {
	b.StopTimer()
	svc := booking.NewService(e.db, booking.Config{Gate: admitAll{}, NoAudit: noAudit})
	slots := e.makeSlots(b, svc)
	b.StartTimer()
	var wg sync.WaitGroup
	var done atomic.Int64
	begin := time.Now()
	for c := 0; c < benchClients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for done.Add(1) <= benchBookings {
				p := e.people[e.next.Add(1)-1]
				_, _, err := svc.Book(context.Background(), booking.BookRequest{PersonID: p.PersonID,
					PersonRef: p.PersonRef, Actor: "person:" + p.PersonRef,
					SlotID: slots[int(done.Load())%len(slots)], DecisionRef: "bench"})
				if err != nil {
					b.Error(err)
					return
				}
				e.booked.Add(1)
			}
		}(c)
	}
	wg.Wait()
	return time.Since(begin)
}

func (e *benchEnv) makeSlots(b *testing.B, svc *booking.Service) []int64 {
	ctx := context.Background()
	site, err := svc.CreateSite(ctx, "bench", booking.NewSite{Region: "MA", Name: "Bench clinic", Lat: 42.36,
		Lng: -71.06, TimeZone: "America/New_York", PostalCode: "02114"})
	if err != nil {
		b.Fatal(err)
	}
	// 250 five-minute slots a day over 4 days, from a date well ahead whose
	// following months have no daylight saving change (which would drop
	// an hour of slots).
	base := time.Date(time.Now().Year()+1, 5, 1, 0, 0, 0, 0, time.UTC)
	day := base.AddDate(0, 0, e.nextDay).Format("2006-01-02")
	end := base.AddDate(0, 0, e.nextDay+3).Format("2006-01-02")
	e.nextDay += 4
	n, err := svc.GenerateSlots(ctx, "bench", site.ID, booking.Generate{From: day, To: end, Opens: "00:00",
		Closes: "20:50", IntervalMin: 5, Capacity: 10, WalkInCapacity: 0, Vaccine: "207", Dose: 1})
	if err != nil || n != benchSlots {
		b.Fatalf("generate: %d slots, %v", n, err)
	}
	rows, err := e.db.Read.Query(store.RebindFor(e.db.Dialect, "SELECT id FROM slots WHERE site_id = ? ORDER BY id"), site.ID)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		_ = rows.Scan(&id)
		ids = append(ids, id)
	}
	return ids
}
