package geo_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/geo"
	"github.com/vaxbook/vaxbook/internal/smartlinks"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
)

const riteAid = "../../../shared/data/smart-scheduling-links/riteaid-nj-2023-03"

// now is the fake present: the Rite Aid feed is shifted to start the next
// day.
var now = time.Date(2027, 1, 3, 12, 0, 0, 0, time.UTC)

type fixture struct {
	db  *store.DB
	clk *clock.Fake
	ix  *geo.Index
}

func setup(t *testing.T, db *store.DB) fixture {
	t.Helper()
	clk := clock.NewFake(now)
	day, _ := smartlinks.ParseDate("2027-01-04")
	if _, err := smartlinks.Import(context.Background(), db, riteAid, smartlinks.Options{ShiftTo: &day, Clock: clk}); err != nil {
		t.Fatal(err)
	}
	ix, err := geo.NewIndex(geo.IndexConfig{DB: db, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	return fixture{db: db, clk: clk, ix: ix}
}

func near08332(t *testing.T) geo.Point {
	t.Helper()
	p, ok := geo.LookupZIP("08332")
	if !ok {
		t.Fatal("08332 not found")
	}
	return p
}

// all pages through a query and returns every hit.
func all(t *testing.T, ix *geo.Index, q geo.Query) []geo.Hit {
	t.Helper()
	var hits []geo.Hit
	for page := 0; ; page++ {
		res, err := ix.Search(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Hits) > max(q.Limit, 0) && q.Limit > 0 {
			t.Fatalf("page of %d hits over limit %d", len(res.Hits), q.Limit)
		}
		hits = append(hits, res.Hits...)
		if res.NextCursor == "" {
			return hits
		}
		q.Cursor = res.NextCursor
		if page > 1000 {
			t.Fatal("pagination does not end")
		}
	}
}

func externalIDs(t *testing.T, db *store.DB, hits []geo.Hit) []string {
	t.Helper()
	var ids []string
	seen := map[int64]bool{}
	for _, h := range hits {
		if seen[h.Site.ID] {
			continue
		}
		seen[h.Site.ID] = true
		var ext string
		q := store.RebindFor(db.Dialect, "SELECT external_id FROM sites WHERE id = ?")
		if err := db.Read.QueryRow(q, h.Site.ID).Scan(&ext); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ext)
	}
	return ids
}

func TestSearchNearMillville(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		hits := all(t, f.ix, geo.Query{Near: near08332(t), RadiusKm: 25, Limit: 7})
		// The seven real Rite Aid stores within 25 km of the 08332 centroid,
		// nearest first: Millville, four in Vineland, two in Bridgeton.
		want := []string{"116", "7822", "10490", "10487", "10488", "10484", "841"}
		if got := externalIDs(t, db, hits); !slices.Equal(got, want) {
			t.Errorf("stores near 08332 = %v, want %v", got, want)
		}
		// 14 days of feed; the busy (capacity 0) first day of each store
		// is not bookable, and some stores are closed on weekends.
		if len(hits) == 0 || hits[0].Site.City != "Millville" || hits[0].Site.PostalCode != "08332" {
			t.Fatalf("first hit = %+v", hits)
		}
		for i, h := range hits {
			if h.Remaining <= 0 || !h.Start.After(now) || h.DistanceKm > 25 {
				t.Errorf("hit %d: remaining %d start %v distance %.1f", i, h.Remaining, h.Start, h.DistanceKm)
			}
			if i > 0 && !sortedAfter(hits[i-1], h) {
				t.Errorf("hit %d out of order: %.3f %v after %.3f %v", i, h.DistanceKm, h.Start,
					hits[i-1].DistanceKm, hits[i-1].Start)
			}
			if h.Vaccine != "COVID-19 vaccine, unspecified product" || h.Site.Location.String() != "America/New_York" {
				t.Errorf("hit %d: vaccine %q zone %v", i, h.Vaccine, h.Site.Location)
			}
		}
		one, err := f.ix.Search(context.Background(), geo.Query{Near: near08332(t), RadiusKm: 25, Limit: 200})
		if err != nil || len(one.Hits) != len(hits) || one.NextCursor != "" || !one.AsOf.Equal(now) {
			t.Errorf("one page of 200: %d hits cursor %q as_of %v err %v; want %d", len(one.Hits),
				one.NextCursor, one.AsOf, err, len(hits))
		}
	})
}

func sortedAfter(a, b geo.Hit) bool {
	if a.DistanceKm != b.DistanceKm {
		return a.DistanceKm < b.DistanceKm
	}
	if !a.Start.Equal(b.Start) {
		return a.Start.Before(b.Start)
	}
	return a.ID < b.ID
}

func TestSearchFilters(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		p := near08332(t)
		base := len(all(t, f.ix, geo.Query{Near: p, Limit: 50}))
		withFull := all(t, f.ix, geo.Query{Near: p, Limit: 50, IncludeFull: true})
		if len(withFull) != base+7 {
			t.Errorf("with full slots %d, without %d; want the 7 busy first days more", len(withFull), base)
		}
		from := time.Date(2027, 1, 10, 0, 0, 0, 0, time.UTC)
		to := from.Add(24 * time.Hour)
		for _, h := range all(t, f.ix, geo.Query{Near: p, From: from, To: to}) {
			if h.Start.Before(from) || !h.Start.Before(to) {
				t.Errorf("slot at %v outside [%v, %v)", h.Start, from, to)
			}
		}
		if n := len(all(t, f.ix, geo.Query{Near: p, Vaccine: "207"})); n != 0 {
			t.Errorf("Moderna slots = %d, want 0 (the feed names no product)", n)
		}
		if n := len(all(t, f.ix, geo.Query{Near: p, Vaccine: "213", Dose: 1})); n != base {
			t.Errorf("unspecified product dose 1 = %d, want %d", n, base)
		}
		if n := len(all(t, f.ix, geo.Query{Near: p, Dose: 2})); n != 0 {
			t.Errorf("dose 2 slots = %d, want 0", n)
		}
		if n := len(all(t, f.ix, geo.Query{Near: geo.Point{Lat: 41.88, Lng: -87.63}, RadiusKm: 5000})); n != 0 {
			t.Errorf("slots within 500 km (the cap) of Chicago = %d; New Jersey is farther", n)
		}
		if n := len(all(t, f.ix, geo.Query{Near: geo.Point{Lat: 40.7, Lng: -74.0}, RadiusKm: 500})); n < base {
			t.Errorf("slots within 500 km of New York = %d, want at least %d", n, base)
		}
		// Once time moves past every slot, nothing is offered.
		f.clk.Set(time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC))
		if n := len(all(t, f.ix, geo.Query{Near: p})); n != 0 {
			t.Errorf("slots after the feed's last day = %d", n)
		}
	})
}

func TestSearchCursor(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		q := geo.Query{Near: near08332(t), Limit: 5}
		page, err := f.ix.Search(context.Background(), q)
		if err != nil || len(page.Hits) != 5 || page.NextCursor == "" {
			t.Fatalf("first page: %d hits, cursor %q, %v", len(page.Hits), page.NextCursor, err)
		}
		other := q
		other.Cursor = page.NextCursor
		other.Dose = 1
		if _, err := f.ix.Search(context.Background(), other); !errors.Is(err, geo.ErrBadCursor) {
			t.Errorf("cursor reused for another query: err = %v", err)
		}
		q.Cursor = "not-a-cursor"
		if _, err := f.ix.Search(context.Background(), q); !errors.Is(err, geo.ErrBadCursor) {
			t.Errorf("garbage cursor: err = %v", err)
		}
		q.Cursor = ""
		paged := all(t, f.ix, q)
		whole := all(t, f.ix, geo.Query{Near: q.Near, Limit: 200})
		if len(paged) != len(whole) {
			t.Fatalf("paged %d hits, whole %d", len(paged), len(whole))
		}
		for i := range paged {
			if paged[i].ID != whole[i].ID {
				t.Fatalf("hit %d: paged %d, whole %d", i, paged[i].ID, whole[i].ID)
			}
		}
	})
}

// TestRefreshSeesSeatChanges changes slots the way the booking code does
// (remaining and updated_us) and checks an incremental refresh shows it.
func TestRefreshSeesSeatChanges(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		ctx := context.Background()
		q := geo.Query{Near: near08332(t), RadiusKm: 5, Limit: 1}
		first, err := f.ix.Search(ctx, q)
		if err != nil || len(first.Hits) != 1 {
			t.Fatal(first, err)
		}
		h := first.Hits[0]
		seats := f.ix.Seats(ctx)
		f.clk.Advance(time.Second)
		// A booking takes the last seats of the first slot.
		exec(t, db, "UPDATE slots SET remaining = 0, updated_us = ? WHERE id = ?", f.clk.Now().UnixMicro(), h.ID)
		if err := f.ix.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		second, err := f.ix.Search(ctx, q)
		if err != nil || len(second.Hits) != 1 || second.Hits[0].ID == h.ID {
			t.Fatalf("after the slot filled, search still returns it: %+v %v", second.Hits, err)
		}
		if got := f.ix.Seats(ctx); got != seats-h.Remaining {
			t.Errorf("Seats = %d, want %d - %d", got, seats, h.Remaining)
		}
		if !second.AsOf.Equal(f.clk.Now()) {
			t.Errorf("as_of %v, want %v", second.AsOf, f.clk.Now())
		}
		// A change stamped slightly in the past (a slow transaction that
		// committed late) is still picked up by the overlap window.
		f.clk.Advance(time.Second)
		exec(t, db, "UPDATE slots SET remaining = 1, updated_us = ? WHERE id = ?",
			f.clk.Now().Add(-3*time.Second).UnixMicro(), h.ID)
		if err := f.ix.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		third, _ := f.ix.Search(ctx, q)
		if len(third.Hits) != 1 || third.Hits[0].ID != h.ID || third.Hits[0].Remaining != 1 {
			t.Errorf("late-committed change missed: %+v", third.Hits)
		}
		if got := f.ix.Seats(ctx); got != seats-h.Remaining+1 {
			t.Errorf("Seats = %d, want %d", got, seats-h.Remaining+1)
		}
	})
}

func TestSeatsCountsFutureOnlineSeats(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		var want int
		q := store.RebindFor(db.Dialect, "SELECT SUM(remaining) FROM slots WHERE start_us > ?")
		if err := db.Read.QueryRow(q, now.UnixMicro()).Scan(&want); err != nil {
			t.Fatal(err)
		}
		if got := f.ix.Seats(context.Background()); got != want || want == 0 {
			t.Errorf("Seats = %d, want %d", got, want)
		}
		site, ok := f.ix.Site(hitsSite(t, f))
		if !ok || site.State != "NJ" || site.TimeZone != "America/New_York" {
			t.Errorf("Site = %+v, %v", site, ok)
		}
		if _, ok := f.ix.Site(-1); ok {
			t.Error("Site(-1) found")
		}
	})
}

// TestRefreshSeesImportsAndSiteEdits: new sites (an import) appear at the
// next refresh; edits to sites, which carry no updated_us, at the next full
// reload.
func TestRefreshSeesImportsAndSiteEdits(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		ctx := context.Background()
		boston, _ := geo.LookupZIP("02114")
		day, _ := smartlinks.ParseDate("2027-01-04")
		f.clk.Advance(time.Second)
		ma := "../../../shared/data/smart-scheduling-links/example-ma"
		if _, err := smartlinks.Import(ctx, db, ma, smartlinks.Options{ShiftTo: &day, Clock: f.clk}); err != nil {
			t.Fatal(err)
		}
		if err := f.ix.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if n := len(all(t, f.ix, geo.Query{Near: boston, RadiusKm: 100, Limit: 200})); n != 7*30 {
			t.Errorf("Massachusetts slots within 100 km of Boston after the import = %d, want 210 (every clinic but Pittsfield)", n)
		}
		id := hitsSite(t, f)
		exec(t, db, "UPDATE sites SET name = 'Renamed' WHERE id = ?", id)
		f.clk.Advance(time.Second)
		if err := f.ix.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if s, _ := f.ix.Site(id); s.Name == "Renamed" {
			t.Error("an incremental refresh re-read sites")
		}
		f.clk.Advance(30 * time.Second)
		if err := f.ix.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if s, _ := f.ix.Site(id); s.Name != "Renamed" {
			t.Errorf("after the full reload the site is still %q", s.Name)
		}
	})
}

func hitsSite(t *testing.T, f fixture) int64 {
	t.Helper()
	res, err := f.ix.Search(context.Background(), geo.Query{Near: near08332(t), Limit: 1})
	if err != nil || len(res.Hits) == 0 {
		t.Fatal(err)
	}
	return res.Hits[0].Site.ID
}

func TestIndexNotReady(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t, store.SQLite)
	ix, err := geo.NewIndex(geo.IndexConfig{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Search(context.Background(), geo.Query{}); !errors.Is(err, geo.ErrNotReady) {
		t.Errorf("search before refresh: %v", err)
	}
	if ix.Seats(context.Background()) != 0 || ix.Ready() {
		t.Error("empty index reports seats or readiness")
	}
}

func exec(t *testing.T, db *store.DB, query string, args ...any) {
	t.Helper()
	err := db.InTx(context.Background(), func(tx *store.Tx) error {
		_, err := tx.Exec(store.RebindFor(db.Dialect, query), args...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// BenchmarkSearch measures searches per second answered from the index:
// the Rite Aid feed, near 08332, 25 km, first page of 50, all cores.
func BenchmarkSearch(b *testing.B) {
	db := storetest.Open(b, store.SQLite)
	clk := clock.NewFake(now)
	day, _ := smartlinks.ParseDate("2027-01-04")
	if _, err := smartlinks.Import(context.Background(), db, riteAid, smartlinks.Options{ShiftTo: &day, Clock: clk}); err != nil {
		b.Fatal(err)
	}
	ix, err := geo.NewIndex(geo.IndexConfig{DB: db, Clock: clk})
	if err != nil {
		b.Fatal(err)
	}
	if err := ix.Refresh(context.Background()); err != nil {
		b.Fatal(err)
	}
	p, _ := geo.LookupZIP("08332")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := ix.Search(context.Background(), geo.Query{Near: p, RadiusKm: 25})
			if err != nil || len(res.Hits) != 50 {
				b.Fatal(len(res.Hits), err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "searches/s")
}
