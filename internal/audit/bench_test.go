package audit_test

import (
	"context"
	"fmt"
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
	benchBookings = 3000 // per phase
)

type benchEnv struct {
	db      *store.DB
	ids     *identity.Store
	people  []identity.Session
	next    atomic.Int64
	slots   []int64
	nextDay int
}

// BenchmarkBookingAuditOverhead books on PostgreSQL with 32 clients over
// 1,000 slots, alternating phases with the audit record off and on (the
// sealer running beside it, as in production), and reports both rates,
// their ratio and how far the sealer fell behind.
//
//	VAXBOOK_TEST_DATABASE_URL=... go test -run '^$' -bench BookingAuditOverhead -benchtime 2x ./internal/audit/
func BenchmarkBookingAuditOverhead(b *testing.B) {
	db := storetest.Open(b, store.Postgres)
	ctx := context.Background()
	env := &benchEnv{db: db, ids: identity.New(db, pii.TestKeys(), clock.System{})}
	env.makePeople(b, 2*b.N*benchBookings)
	key, _, _ := audit.GenerateKey("bench.vaxbook/audit")
	sealer, err := audit.NewSealer(db, key, audit.Config{}, nil, clock.System{})
	if err != nil {
		b.Fatal(err)
	}
	var off, on time.Duration
	var maxLag int64
	var maxLagAge time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		off += env.phase(b, true)
		sctx, stop := context.WithCancel(ctx)
		lagDone := make(chan struct{})
		go func() { _ = sealer.Run(sctx) }()
		go func() { // sample the lag while booking
			defer close(lagDone)
			for sctx.Err() == nil {
				n, age := unsealed(db)
				maxLag, maxLagAge = max(maxLag, n), max(maxLagAge, age)
				time.Sleep(50 * time.Millisecond)
			}
		}()
		on += env.phase(b, false)
		stop()
		<-lagDone
	}
	b.StopTimer()
	offRate := float64(b.N*benchBookings) / off.Seconds()
	onRate := float64(b.N*benchBookings) / on.Seconds()
	b.ReportMetric(offRate, "bookings/s-audit-off")
	b.ReportMetric(onRate, "bookings/s-audit-on")
	b.ReportMetric(onRate/offRate, "ratio")
	b.ReportMetric(float64(maxLag), "max-lag-records")
	b.ReportMetric(maxLagAge.Seconds(), "max-lag-s")
	if r, err := sealer.SealOnce(ctx); err != nil || r.Lag != 0 {
		b.Fatalf("final seal: %+v %v", r, err)
	}
	if rep, err := audit.Verify(ctx, db, key.PublicKey()); err != nil || !rep.OK {
		b.Fatalf("verify after the run: %v %+v", err, rep)
	}
}

func unsealed(db *store.DB) (int64, time.Duration) {
	var n int64
	var oldest *int64
	err := db.Read.QueryRow(`SELECT count(*), min(a.at_us) FROM audit_log a
		WHERE NOT EXISTS (SELECT 1 FROM audit_leaves l WHERE l.seq = a.seq)`).Scan(&n, &oldest)
	if err != nil || oldest == nil {
		return n, 0
	}
	return n, time.Since(time.UnixMicro(*oldest))
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
	e.nextDay++
	day := time.Now().AddDate(0, 0, e.nextDay).Format("2006-01-02")
	// 1,000 five-minute slots from 00:00 to 83:20 is too long for a day:
	// spread them over 4 days of 250.
	end := time.Now().AddDate(0, 0, e.nextDay+3).Format("2006-01-02")
	e.nextDay += 3
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
