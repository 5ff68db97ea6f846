package geo

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"sort"
	"time"

	"github.com/vaxbook/vaxbook/internal/store"
)

// Search limits.
const (
	DefaultRadiusKm = 25
	MaxRadiusKm     = 500
	DefaultLimit    = 50
	MaxLimit        = 200
)

// ErrBadCursor means a cursor was not made by this index for the same query.
var ErrBadCursor = errors.New("cursor is not valid for this query")

// ErrNotReady means the index has not loaded its first snapshot yet.
var ErrNotReady = errors.New("search index not loaded yet")

// Query asks for slots near a point. Zero values take the defaults.
type Query struct {
	Near     Point
	RadiusKm float64   // default 25, at most MaxRadiusKm
	From, To time.Time // slots starting in [From, To); From defaults to now
	Vaccine  string    // CVX code; "" means any
	Dose     int       // 0 means any
	Limit    int       // default 50, at most MaxLimit
	Cursor   string    // NextCursor of the previous page
	// WalkIn searches the walk-in pool instead of the online one (staff).
	WalkIn bool
	// IncludeFull also returns slots with no seat left.
	IncludeFull bool
}

// Hit is one slot of a search result with its site and distance.
type Hit struct {
	Slot
	Site       *Site // shared with the index; read only
	DistanceKm float64
	Vaccine    string // product name
}

// Result is one page of a search.
type Result struct {
	AsOf       time.Time
	Hits       []Hit
	NextCursor string
}

// Search answers q from the current snapshot, sorted by distance, then
// start, then slot id.
func (ix *Index) Search(ctx context.Context, q Query) (Result, error) {
	s := ix.snap.Load()
	if s == nil {
		return Result{}, ErrNotReady
	}
	q = q.normalized(ix.cfg.Clock.Now())
	after, err := q.decodeCursor()
	if err != nil {
		return Result{}, err
	}
	hits := make([]Hit, 0, q.Limit+1)
	for _, group := range s.nearby(q.Near, q.RadiusKm) {
		if group.dist < after.dist {
			continue
		}
		hits = s.appendGroupHits(hits, group, q, after)
		if len(hits) > q.Limit {
			break
		}
	}
	res := Result{AsOf: s.asOf, Hits: hits}
	if len(hits) > q.Limit {
		res.Hits = hits[:q.Limit]
		last := res.Hits[q.Limit-1]
		res.NextCursor = q.encodeCursor(cursor{dist: last.DistanceKm, startUS: last.Start.UnixMicro(), id: last.ID})
	}
	return res, nil
}

func (q Query) normalized(now time.Time) Query {
	if q.RadiusKm <= 0 {
		q.RadiusKm = DefaultRadiusKm
	}
	q.RadiusKm = math.Min(q.RadiusKm, MaxRadiusKm)
	if q.Limit <= 0 {
		q.Limit = DefaultLimit
	}
	q.Limit = min(q.Limit, MaxLimit)
	if q.From.Before(now) {
		q.From = now
	}
	return q
}

// siteGroup is the sites at one distance from the search point; sites that
// share a ZIP centroid share a distance, and their slots interleave by start.
type siteGroup struct {
	dist  float64
	sites []*siteEntry
}

func (s *snapshot) nearby(p Point, radiusKm float64) []siteGroup {
	span := latSpan(radiusKm)
	lo := sort.Search(len(s.byLat), func(i int) bool { return s.byLat[i].Point.Lat >= p.Lat-span })
	type near struct {
		e    *siteEntry
		dist float64
	}
	var found []near
	for _, e := range s.byLat[lo:] {
		if e.Point.Lat > p.Lat+span {
			break
		}
		if d := DistanceKm(p, e.Point); d <= radiusKm {
			found = append(found, near{e, d})
		}
	}
	sort.Slice(found, func(i, j int) bool { return found[i].dist < found[j].dist })
	var groups []siteGroup
	for _, f := range found {
		if n := len(groups); n > 0 && groups[n-1].dist == f.dist {
			groups[n-1].sites = append(groups[n-1].sites, f.e)
			continue
		}
		groups = append(groups, siteGroup{dist: f.dist, sites: []*siteEntry{f.e}})
	}
	return groups
}

func (s *snapshot) appendGroupHits(hits []Hit, g siteGroup, q Query, after cursor) []Hit {
	first := len(hits)
	for _, e := range g.sites {
		from := sort.Search(len(e.slots), func(i int) bool { return !e.slots[i].Start.Before(q.From) })
		for _, sl := range e.slots[from:] {
			if !q.To.IsZero() && !sl.Start.Before(q.To) {
				break
			}
			if !q.matches(sl) || !after.before(g.dist, sl) {
				continue
			}
			hits = append(hits, Hit{Slot: sl, Site: &e.Site, DistanceKm: g.dist, Vaccine: s.vaccines[sl.VaccineCode]})
		}
	}
	if len(g.sites) > 1 {
		group := hits[first:]
		sort.Slice(group, func(i, j int) bool {
			if !group[i].Start.Equal(group[j].Start) {
				return group[i].Start.Before(group[j].Start)
			}
			return group[i].ID < group[j].ID
		})
	}
	return hits
}

func (q Query) matches(sl Slot) bool {
	if q.Vaccine != "" && sl.VaccineCode != q.Vaccine {
		return false
	}
	if q.Dose != 0 && sl.Dose != q.Dose {
		return false
	}
	if q.IncludeFull {
		return true
	}
	if q.WalkIn {
		return sl.WalkInRemaining > 0
	}
	return sl.Remaining > 0
}

// cursor is the sort key of the last hit of a page. The zero cursor sorts
// before everything.
type cursor struct {
	dist    float64
	startUS int64
	id      int64
}

// before reports whether the cursor sorts before the slot at dist.
func (c cursor) before(dist float64, sl Slot) bool {
	if dist != c.dist {
		return dist > c.dist
	}
	if st := sl.Start.UnixMicro(); st != c.startUS {
		return st > c.startUS
	}
	return sl.ID > c.id
}

// encodeCursor packs the key with a hash of the query, so a cursor handed
// to a different query is refused rather than silently skipping results.
func (q Query) encodeCursor(c cursor) string {
	b := make([]byte, 32)
	binary.BigEndian.PutUint64(b[0:], q.hash())
	binary.BigEndian.PutUint64(b[8:], math.Float64bits(c.dist))
	binary.BigEndian.PutUint64(b[16:], uint64(c.startUS))
	binary.BigEndian.PutUint64(b[24:], uint64(c.id))
	return base64.RawURLEncoding.EncodeToString(b)
}

func (q Query) decodeCursor() (cursor, error) {
	if q.Cursor == "" {
		return cursor{dist: -1}, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(q.Cursor)
	if err != nil || len(b) != 32 || binary.BigEndian.Uint64(b) != q.hash() {
		return cursor{}, ErrBadCursor
	}
	return cursor{
		dist:    math.Float64frombits(binary.BigEndian.Uint64(b[8:])),
		startUS: int64(binary.BigEndian.Uint64(b[16:])),
		id:      int64(binary.BigEndian.Uint64(b[24:])),
	}, nil
}

// hash covers what selects results, not From: a later page is asked at a
// later "now", which moves a defaulted From.
func (q Query) hash() uint64 {
	h := fnv.New64a()
	b := make([]byte, 8)
	for _, v := range []uint64{math.Float64bits(q.Near.Lat), math.Float64bits(q.Near.Lng),
		math.Float64bits(q.RadiusKm), uint64(q.To.UnixMicro()), uint64(q.Dose)} {
		binary.BigEndian.PutUint64(b, v)
		h.Write(b)
	}
	h.Write([]byte(q.Vaccine))
	if q.WalkIn {
		h.Write([]byte{1})
	}
	if q.IncludeFull {
		h.Write([]byte{2})
	}
	return h.Sum64()
}

// Seats returns the online seats left in slots that start in the future,
// as of the current snapshot (0 before the first refresh). The waiting room
// admits people only while seats remain for them.
func (ix *Index) Seats(ctx context.Context) int {
	s := ix.snap.Load()
	if s == nil {
		return 0
	}
	return s.futureSeats()
}

// Site returns a site by id.
func (ix *Index) Site(id int64) (Site, bool) {
	s := ix.snap.Load()
	if s == nil {
		return Site{}, false
	}
	e, ok := s.sites[id]
	if !ok {
		return Site{}, false
	}
	return e.Site, true
}

// LookupSite returns a site from the index or, when the index has not seen
// it yet (created since the last full reload), from the database, so that
// a site is readable as soon as its creation commits.
func (ix *Index) LookupSite(ctx context.Context, id int64) (Site, bool, error) {
	if s, ok := ix.Site(id); ok {
		return s, true, nil
	}
	var s Site
	err := ix.cfg.DB.Read.QueryRowContext(ctx, ix.queries.Get("site_by_id"), id).Scan(&s.ID, &s.Region,
		&s.Name, &s.Address, &s.City, &s.State, &s.PostalCode, &s.Point.Lat, &s.Point.Lng, &s.TimeZone,
		&s.Phone, &s.URL)
	if store.IsNoRows(err) {
		return Site{}, false, nil
	}
	if err != nil {
		return Site{}, false, fmt.Errorf("read site: %w", err)
	}
	s.Location = loadZone(s.TimeZone)
	return s, true, nil
}

// AsOf returns when the current snapshot was read (zero before the first).
func (ix *Index) AsOf() time.Time {
	if s := ix.snap.Load(); s != nil {
		return s.asOf
	}
	return time.Time{}
}
