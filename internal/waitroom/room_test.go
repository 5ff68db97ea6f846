package waitroom

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
)

var opening = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// engines are the two queue stores; every behavioural test runs on both.
var engines = []string{"memory", "redis"}

type fixture struct {
	room  *Room
	clk   *clock.Fake
	db    *store.DB
	stock *fakeStock
}

type fakeStock struct{ n atomic.Int64 }

func (f *fakeStock) RemainingSeats(context.Context) (int, error) { return int(f.n.Load()), nil }

// redisClient returns a client on the test Redis and a fresh key prefix
// that is deleted when the test ends.
func redisClient(t testing.TB) (*redis.Client, string) {
	t.Helper()
	raw := os.Getenv("VAXBOOK_TEST_REDIS_URL")
	if raw == "" {
		if os.Getenv("VAXBOOK_REQUIRE_POSTGRES") != "" || os.Getenv("VAXBOOK_REQUIRE_REDIS") != "" {
			t.Fatal("VAXBOOK_TEST_REDIS_URL is not set")
		}
		t.Skip("VAXBOOK_TEST_REDIS_URL not set; Redis tests skipped")
	}
	opts, err := redis.ParseURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	prefix := "vaxbook-test:" + newTicketID() + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
		rdb.Close()
	})
	return rdb, prefix
}

func storesFor(t testing.TB, engine string) func(int64) Store {
	if engine == "memory" {
		return nil
	}
	rdb, prefix := redisClient(t)
	return RedisStores(rdb, prefix)
}

// setup builds a room on engine with a fake clock an hour before the
// opening; db may be shared by a second room (a second process).
func setup(t testing.TB, engine string, db *store.DB, cfg Config, stores func(int64) Store) fixture {
	t.Helper()
	if db == nil {
		db = storetest.Open(t, store.SQLite)
	}
	if stores == nil {
		stores = storesFor(t, engine)
	}
	clk := clock.NewFake(opening.Add(-30 * time.Second))
	if cfg.Mode == "" {
		cfg.Mode = ModeFIFO
	}
	if cfg.OpensAt.IsZero() {
		cfg.OpensAt = opening
	}
	f := fixture{clk: clk, db: db, stock: &fakeStock{}}
	f.stock.n.Store(1 << 40)
	room, err := New(context.Background(), cfg, Deps{DB: db, NewStore: stores, Stock: f.stock, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	f.room = room
	return f
}

func eachEngine(t *testing.T, fn func(t *testing.T, engine string)) {
	for _, e := range engines {
		t.Run(e, func(t *testing.T) {
			t.Parallel()
			fn(t, e)
		})
	}
}

func join(t testing.TB, r *Room, client string) Status {
	t.Helper()
	s, _, err := r.Join(context.Background(), client)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLotteryOrderMatchesPublishedSeed(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		f := setup(t, engine, nil, Config{Mode: ModeLottery, AdmissionRatePerS: 100}, nil)
		commitment := f.room.Settings().Commitment()
		const n = 10000
		ids := make([]string, n)
		for i := range n {
			s := join(t, f.room, fmt.Sprintf("client-%d", i))
			if s.Position != 0 || s.Drawn {
				t.Fatalf("pre-queue ticket has position %d before the draw", s.Position)
			}
			ids[i] = s.Ticket
		}
		if again := join(t, f.room, "client-7"); again.Ticket != ids[7] {
			t.Fatalf("asking again gave ticket %s, want the same %s", again.Ticket, ids[7])
		}
		if _, ok, _ := f.room.Published(ctx); ok {
			t.Fatal("draw published before the opening")
		}
		f.clk.Set(opening.Add(time.Millisecond))
		late := []string{join(t, f.room, "late-1").Ticket, join(t, f.room, "late-2").Ticket, join(t, f.room, "late-3").Ticket}
		if err := f.room.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		d, ok, err := f.room.Published(ctx)
		if err != nil || !ok {
			t.Fatalf("published draw: ok=%v err=%v", ok, err)
		}
		if d.Commitment != commitment {
			t.Fatalf("draw commitment %s differs from the one published before: %s", d.Commitment, commitment)
		}
		order, err := VerifyOrder(d)
		if err != nil {
			t.Fatal(err)
		}
		if len(order) != n {
			t.Fatalf("verified order has %d tickets, want %d", len(order), n)
		}
		// The first tick only starts the bucket: everyone waits, in drawn
		// order, then the late arrivals in arrival order.
		want := append(order, late...)
		for i, id := range want {
			s, err := f.room.Status(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if s.Position != i+1 {
				t.Fatalf("ticket %d of the published order is at position %d, want %d", i, s.Position, i+1)
			}
		}
		f.clk.Advance(time.Second)
		if err := f.room.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		for _, id := range order[:100] {
			if s, _ := f.room.Status(ctx, id); s.Status != "admitted" || s.Token == "" {
				t.Fatalf("first drawn ticket status %q, want admitted with a token", s.Status)
			}
		}
	})
}

func TestFIFOAndAdmissionRate(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		const rate = 50.0
		f := setup(t, engine, nil, Config{AdmissionRatePerS: rate}, nil)
		ids := make([]string, 4000)
		for i := range ids {
			s := join(t, f.room, fmt.Sprintf("c%d", i))
			if s.Position != i+1 {
				t.Fatalf("arrival %d at position %d", i+1, s.Position)
			}
			ids[i] = s.Ticket
		}
		far, _ := f.room.Status(ctx, ids[3999])
		near, _ := f.room.Status(ctx, ids[0])
		if far.PollAfter <= near.PollAfter || far.EstimatedWait != 30+80 {
			t.Fatalf("poll_after near=%d far=%d, far wait %d s (want 110)", near.PollAfter, far.PollAfter, far.EstimatedWait)
		}
		f.clk.Set(opening)
		admitted := 0
		for i := range 600 { // one simulated minute in 100 ms ticks
			f.clk.Advance(100 * time.Millisecond)
			if err := f.room.Tick(ctx); err != nil {
				t.Fatal(err)
			}
			// Keep everyone polling so nobody expires.
			if i == 300 {
				c, _ := f.room.currentStore().Counts(ctx, f.clk.Now())
				admitted = 4000 - c.Waiting
				for _, id := range ids[admitted:] {
					_, _ = f.room.Status(ctx, id)
				}
			}
		}
		c, _ := f.room.currentStore().Counts(ctx, f.clk.Now())
		admitted = 4000 - c.Waiting
		if got := float64(admitted) / 60; got < rate*0.98 || got > rate*1.02 {
			t.Fatalf("admitted %d in a minute = %.2f/s, want %.0f/s within 2%%", admitted, got, rate)
		}
		// FIFO: exactly the first arrivals are through.
		for i, id := range ids {
			s, _ := f.room.Status(ctx, id)
			if (i < admitted) != (s.Status == "admitted") {
				t.Fatalf("arrival %d has status %q with %d admitted", i+1, s.Status, admitted)
			}
		}
	})
}

func TestStockStopsAdmissionAndTellsWaiting(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		f := setup(t, engine, nil, Config{AdmissionRatePerS: 100}, nil)
		f.stock.n.Store(5)
		ids := make([]string, 20)
		for i := range ids {
			ids[i] = join(t, f.room, fmt.Sprintf("c%d", i)).Ticket
		}
		f.clk.Set(opening)
		for range 10 {
			f.clk.Advance(100 * time.Millisecond)
			if err := f.room.Tick(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if n := countStatus(t, f.room, ids, "admitted"); n != 5 {
			t.Fatalf("admitted %d with 5 seats left, want 5", n)
		}
		// One admitted person leaves: their share goes to the next.
		if err := f.room.Leave(ctx, ids[0]); err != nil {
			t.Fatal(err)
		}
		f.clk.Advance(100 * time.Millisecond)
		_ = f.room.Tick(ctx)
		if s, _ := f.room.Status(ctx, ids[5]); s.Status != "admitted" {
			t.Fatalf("after a leave the next ticket is %q, want admitted", s.Status)
		}
		// Seats run out: nobody else is admitted and the waiting are told.
		f.stock.n.Store(0)
		for range 10 {
			f.clk.Advance(100 * time.Millisecond)
			_ = f.room.Tick(ctx)
		}
		s, _ := f.room.Status(ctx, ids[10])
		if s.Status != "sold_out" || !strings.Contains(s.Message, "told when appointments come back") {
			t.Fatalf("waiting ticket after stock ran out: %q %q", s.Status, s.Message)
		}
		if n := countStatus(t, f.room, ids, "admitted"); n != 5 {
			t.Fatalf("admitted %d after sell-out, want still 5", n)
		}
		if err := f.room.Notify(ctx, ids[10]); err != nil {
			t.Fatal(err)
		}
		if err := f.room.Notify(ctx, ids[10]); err != nil {
			t.Fatal(err)
		}
		if n, err := f.room.NotifyRequests(ctx); err != nil || n != 1 {
			t.Fatalf("notify requests = %d, %v; want 1", n, err)
		}
	})
}

func countStatus(t *testing.T, r *Room, ids []string, status string) int {
	t.Helper()
	n := 0
	for _, id := range ids {
		s, err := r.Status(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if s.Status == status {
			n++
		}
	}
	return n
}

func TestTwoNodesShareOrderAndRate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.Open(t, store.SQLite)
	_, prefix := redisClient(t)
	rdbA, _ := redisClient(t)
	rdbB, _ := redisClient(t)
	const rate = 40.0
	a := setup(t, "redis", db, Config{AdmissionRatePerS: rate}, RedisStores(rdbA, prefix))
	b := setup(t, "redis", db, Config{AdmissionRatePerS: rate}, RedisStores(rdbB, prefix))
	b.clk = a.clk
	b.room.clk = a.clk
	b.room.keys.clk = a.clk
	ids := make([]string, 3000)
	for i := range ids {
		node := a.room
		if i%2 == 1 {
			node = b.room
		}
		s := join(t, node, fmt.Sprintf("c%d", i))
		if s.Position != i+1 {
			t.Fatalf("arrival %d via node %d at position %d: the nodes do not share one order", i+1, i%2, s.Position)
		}
		ids[i] = s.Ticket
	}
	a.clk.Set(opening)
	for i := range 600 {
		a.clk.Advance(100 * time.Millisecond)
		if err := a.room.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if err := b.room.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if i == 300 {
			for _, id := range ids {
				_, _ = a.room.Status(ctx, id)
			}
		}
	}
	admitted := countStatus(t, b.room, ids, "admitted")
	if got := float64(admitted) / 60; got < rate*0.98 || got > rate*1.02 {
		t.Fatalf("two nodes admitted %d in a minute = %.2f/s, want one global %.0f/s within 2%%", admitted, got, rate)
	}
	for i, id := range ids {
		s, _ := a.room.Status(ctx, id)
		if (i < admitted) != (s.Status == "admitted") {
			t.Fatalf("arrival %d is %q with %d admitted: not one global order", i+1, s.Status, admitted)
		}
	}
}

func TestQuietTicketsExpire(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		f := setup(t, engine, nil, Config{Grace: time.Minute, OpensAt: opening.Add(time.Hour)}, nil)
		quiet := join(t, f.room, "quiet").Ticket
		active := join(t, f.room, "active").Ticket
		for range 8 {
			f.clk.Advance(10 * time.Second)
			_, _ = f.room.Status(ctx, active)
			if err := f.room.Tick(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if s, _ := f.room.Status(ctx, quiet); s.Status != "expired" {
			t.Fatalf("quiet ticket is %q, want expired", s.Status)
		}
		if s, _ := f.room.Status(ctx, active); s.Position != 1 {
			t.Fatalf("active ticket at %d, want 1 once the quiet one stopped counting", s.Position)
		}
		if again := join(t, f.room, "quiet"); again.Ticket == quiet || again.Position != 2 {
			t.Fatalf("rejoining after expiry: ticket reused=%v position %d", again.Ticket == quiet, again.Position)
		}
	})
}

func TestSettingsPersistAndAudit(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, "memory", db, Config{Mode: ModeOff}, nil)
		if err := f.room.Check(ctx, "", "p1"); err != nil {
			t.Fatalf("room off: Check = %v, want nil", err)
		}
		saved, err := f.room.Configure(ctx, Settings{Mode: ModeLottery, OpensAt: opening, RatePerS: 7, TokenTTL: 5 * time.Minute}, "staff:admin1")
		if err != nil {
			t.Fatal(err)
		}
		again, err := New(ctx, Config{}, Deps{DB: db, Clock: f.clk})
		if err != nil {
			t.Fatal(err)
		}
		got := again.Settings()
		if got.Mode != ModeLottery || got.RatePerS != 7 || got.Commitment() != saved.Commitment() || got.Round != saved.Round {
			t.Fatalf("after restart settings = %+v, want %+v", got, saved)
		}
		if !apperr.Is(again.Check(ctx, "", "p1"), "admission-required") {
			t.Fatal("room on: a booking without a token was not refused")
		}
		var n int
		err = db.Read.QueryRowContext(ctx, store.RebindFor(db.Dialect,
			"SELECT COUNT(*) FROM audit_log WHERE action = ? AND actor = ?"), "waitroom.configured", "staff:admin1").Scan(&n)
		if err != nil || n != 1 {
			t.Fatalf("audit records = %d, %v; want 1", n, err)
		}
		if _, err := f.room.Configure(ctx, Settings{Mode: "fifo", RatePerS: -1, TokenTTL: time.Second}, "x"); !apperr.Is(err, "invalid-request") {
			t.Fatalf("bad settings: err = %v", err)
		}
	})
}

func TestPollAfterGrowsWithDistance(t *testing.T) {
	t.Parallel()
	r := &Room{cfg: Config{}.WithDefaults()}
	cases := []struct{ waitS, want int }{{0, 1}, {20, 1}, {40, 2}, {300, 15}, {1200, 60}, {100000, 60}}
	for _, c := range cases {
		if got := r.pollAfter(c.waitS); got != c.want {
			t.Errorf("pollAfter(%d s) = %d, want %d", c.waitS, got, c.want)
		}
	}
}

func apperrAs(err error, target **apperr.Error) bool { return errors.As(err, target) }
