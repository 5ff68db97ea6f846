package geo

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"
	_ "time/tzdata" // sites carry IANA zones; hosts without zoneinfo still work

	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/store"
)

//go:embed queries.sql
var queriesSQL string

// Site is a vaccination site as the index holds it.
type Site struct {
	ID         int64
	Region     string
	Name       string
	Address    string
	City       string
	State      string
	PostalCode string
	Point      Point
	TimeZone   string
	Phone      string
	URL        string
	// Location is TimeZone loaded; times shown to people use it.
	Location *time.Location
}

// Slot is a slot as the index holds it: both pools, times in UTC.
type Slot struct {
	ID              int64
	SiteID          int64
	VaccineCode     string
	Dose            int
	Start, End      time.Time
	Capacity        int
	Remaining       int
	WalkInCapacity  int
	WalkInRemaining int
	UpdatedUS       int64
}

// IndexConfig configures an Index. Zero values take the defaults.
type IndexConfig struct {
	DB    *store.DB
	Clock clock.Clock
	Log   *slog.Logger
	// Interval between refreshes (default 500ms: the API promises results
	// at most about a second old).
	Interval time.Duration
	// FullEvery forces a complete reload (default 30s). It picks up edited
	// sites and any row an incremental refresh could not see.
	FullEvery time.Duration
	// Overlap re-reads rows stamped this long before the newest stamp seen
	// (default 5s). A transaction stamps updated_us before it commits, so
	// a slow one can become visible after a faster, later-stamped one.
	Overlap time.Duration
}

func (c *IndexConfig) defaults() error {
	if c.DB == nil {
		return errors.New("geo index: DB is required")
	}
	if c.Clock == nil {
		c.Clock = clock.System{}
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Interval <= 0 {
		c.Interval = 500 * time.Millisecond
	}
	if c.FullEvery <= 0 {
		c.FullEvery = 30 * time.Second
	}
	if c.Overlap <= 0 {
		c.Overlap = 5 * time.Second
	}
	return nil
}

// Index is the in-memory read model of sites and slots. Readers take the
// current immutable snapshot without locking; Refresh builds the next one,
// copying only the sites whose slots changed.
type Index struct {
	cfg     IndexConfig
	queries *store.Queries
	snap    atomic.Pointer[snapshot]

	mu        sync.Mutex // serializes refreshes
	watermark int64      // newest updated_us seen
	lastFull  time.Time
}

// NewIndex returns an empty index; call Refresh or Start to fill it.
func NewIndex(cfg IndexConfig) (*Index, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	q := store.ParseQueries(cfg.DB.Dialect, "geo/queries.sql", queriesSQL)
	return &Index{cfg: cfg, queries: q}, nil
}

// Start refreshes the index every Interval until ctx ends. A failed refresh
// is logged and retried; readers keep the last good snapshot meanwhile.
func (ix *Index) Start(ctx context.Context) {
	t := time.NewTicker(ix.cfg.Interval)
	defer t.Stop()
	for {
		if err := ix.Refresh(ctx); err != nil && ctx.Err() == nil {
			ix.cfg.Log.WarnContext(ctx, "search index refresh failed", slog.String("error", err.Error()))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Ready reports whether the index holds a snapshot.
func (ix *Index) Ready() bool { return ix.snap.Load() != nil }

// Refresh brings the index up to date with the database: a full reload when
// due, otherwise only the slots whose updated_us moved.
func (ix *Index) Refresh(ctx context.Context) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	now := ix.cfg.Clock.Now()
	old := ix.snap.Load()
	if old == nil || now.Sub(ix.lastFull) >= ix.cfg.FullEvery || now.Before(ix.lastFull) {
		return ix.reload(ctx, now)
	}
	return ix.applyChanges(ctx, old, now)
}

func (ix *Index) reload(ctx context.Context, now time.Time) error {
	vaccines, err := ix.loadVaccines(ctx)
	if err != nil {
		return err
	}
	sites, err := ix.loadSites(ctx)
	if err != nil {
		return err
	}
	slots, err := ix.loadSlots(ctx, "slots_future", now.UnixMicro())
	if err != nil {
		return err
	}
	s := newSnapshot(now, vaccines)
	for _, site := range sites {
		s.sites[site.ID] = &siteEntry{Site: site}
	}
	grouped := map[int64][]Slot{}
	for _, sl := range slots {
		grouped[sl.SiteID] = append(grouped[sl.SiteID], sl)
		ix.watermark = max(ix.watermark, sl.UpdatedUS)
	}
	for id, list := range grouped {
		if e := s.sites[id]; e != nil {
			e.slots = sortSlots(list)
		}
	}
	s.orderByLat()
	s.changedAt = now
	if old := ix.snap.Load(); old != nil {
		s.changedAt, s.gen = now, old.gen+1
		if old.sameData(s) {
			s.changedAt, s.gen = old.changedAt, old.gen
		}
	}
	ix.snap.Store(s)
	ix.lastFull = now
	ix.cfg.Log.DebugContext(ctx, "search index reloaded", slog.Int("sites", len(sites)),
		slog.Int("slots", len(slots)))
	return nil
}

func (ix *Index) applyChanges(ctx context.Context, old *snapshot, now time.Time) error {
	since := ix.watermark - ix.cfg.Overlap.Microseconds()
	changed, err := ix.loadSlots(ctx, "slots_changed", since)
	if err != nil {
		return err
	}
	bySite := map[int64][]Slot{}
	unknownSite := false
	for _, sl := range changed {
		ix.watermark = max(ix.watermark, sl.UpdatedUS)
		if old.sites[sl.SiteID] == nil {
			unknownSite = true
		}
		bySite[sl.SiteID] = append(bySite[sl.SiteID], sl)
	}
	if unknownSite {
		// A new site arrived (an import): reload everything rather than
		// patch the site list.
		return ix.reload(ctx, now)
	}
	ix.snap.Store(old.with(now, bySite))
	return nil
}

func (ix *Index) loadVaccines(ctx context.Context) (map[string]string, error) {
	rows, err := ix.cfg.DB.Read.QueryContext(ctx, ix.queries.Get("vaccines"))
	if err != nil {
		return nil, fmt.Errorf("load vaccines: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var code, name string
		if err := rows.Scan(&code, &name); err != nil {
			return nil, fmt.Errorf("load vaccines: %w", err)
		}
		out[code] = name
	}
	return out, rows.Err()
}

func (ix *Index) loadSites(ctx context.Context) ([]Site, error) {
	rows, err := ix.cfg.DB.Read.QueryContext(ctx, ix.queries.Get("sites"))
	if err != nil {
		return nil, fmt.Errorf("load sites: %w", err)
	}
	defer rows.Close()
	var out []Site
	for rows.Next() {
		var s Site
		err := rows.Scan(&s.ID, &s.Region, &s.Name, &s.Address, &s.City, &s.State, &s.PostalCode,
			&s.Point.Lat, &s.Point.Lng, &s.TimeZone, &s.Phone, &s.URL)
		if err != nil {
			return nil, fmt.Errorf("load sites: %w", err)
		}
		s.Location = loadZone(s.TimeZone)
		out = append(out, s)
	}
	return out, rows.Err()
}

func (ix *Index) loadSlots(ctx context.Context, query string, arg int64) ([]Slot, error) {
	rows, err := ix.cfg.DB.Read.QueryContext(ctx, ix.queries.Get(query), arg)
	if err != nil {
		return nil, fmt.Errorf("load slots: %w", err)
	}
	defer rows.Close()
	var out []Slot
	for rows.Next() {
		var s Slot
		var start, end int64
		err := rows.Scan(&s.ID, &s.SiteID, &s.VaccineCode, &s.Dose, &start, &end, &s.Capacity,
			&s.Remaining, &s.WalkInCapacity, &s.WalkInRemaining, &s.UpdatedUS)
		if err != nil {
			return nil, fmt.Errorf("load slots: %w", err)
		}
		s.Start, s.End = time.UnixMicro(start).UTC(), time.UnixMicro(end).UTC()
		out = append(out, s)
	}
	return out, rows.Err()
}

var zones sync.Map // name -> *time.Location

// loadZone returns the named zone, or UTC for a name the tz database does
// not know (the importer only writes known names).
func loadZone(name string) *time.Location {
	if l, ok := zones.Load(name); ok {
		return l.(*time.Location)
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		l = time.UTC
	}
	zones.Store(name, l)
	return l
}

func sortSlots(list []Slot) []Slot {
	sort.Slice(list, func(i, j int) bool {
		if !list[i].Start.Equal(list[j].Start) {
			return list[i].Start.Before(list[j].Start)
		}
		return list[i].ID < list[j].ID
	})
	return list
}
