package booking

import (
	"context"
	"fmt"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/ref"
	"github.com/vaxbook/vaxbook/internal/store"
)

// NewSite is a site created by an administrator.
type NewSite struct {
	Region       string  `json:"region"`
	RegionName   string  `json:"region_name,omitempty"`
	Name         string  `json:"name"`
	Address      string  `json:"address"`
	City         string  `json:"city"`
	State        string  `json:"state"`
	PostalCode   string  `json:"postal_code"`
	Lat          float64 `json:"lat"`
	Lng          float64 `json:"lng"`
	TimeZone     string  `json:"time_zone"`
	Phone        string  `json:"phone,omitempty"`
	BookTogether bool    `json:"book_together,omitempty"`
}

// CreateSite validates and stores a site; its region is created if new,
// with the region code as its jurisdiction.
func (s *Service) CreateSite(ctx context.Context, actor string, n NewSite) (Site, error) {
	f := map[string]string{}
	check := func(bad bool, field, msg string) {
		if bad {
			f[field] = msg
		}
	}
	check(len(n.Region) < 2 || len(n.Region) > 16, "region", "2 to 16 characters")
	check(n.Name == "" || len(n.Name) > 200, "name", "required, up to 200 characters")
	check(n.Lat < -90 || n.Lat > 90, "lat", "between -90 and 90")
	check(n.Lng < -180 || n.Lng > 180, "lng", "between -180 and 180")
	_, tzErr := time.LoadLocation(n.TimeZone)
	check(n.TimeZone == "" || tzErr != nil, "time_zone", "an IANA time zone such as America/New_York")
	if len(f) > 0 {
		return Site{}, &apperr.Error{Name: "invalid-request", Detail: "the site has invalid fields", Fields: f}
	}
	site := Site{Region: n.Region, Name: n.Name, Address: n.Address, City: n.City, State: n.State,
		PostalCode: n.PostalCode, Lat: n.Lat, Lng: n.Lng, TimeZone: n.TimeZone, Phone: n.Phone,
		Source: "local", BookTogether: n.BookTogether}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := s.EnsureRegion(ctx, tx, n.Region, n.RegionName); err != nil {
			return err
		}
		site.ExternalID = ref.New("local-", 12)
		if err := tx.QueryRowContext(ctx, s.q.Get("insert_site"), site.Region, site.Name, site.Address, site.City,
			site.State, site.PostalCode, site.Lat, site.Lng, site.TimeZone, site.Phone, site.URL, site.Source,
			site.ExternalID, site.BookTogether).Scan(&site.ID); err != nil {
			return fmt.Errorf("insert site: %w", err)
		}
		return s.audit(ctx, tx, audit.Record{At: s.now(), Actor: actor, Action: "site.created",
			Subjects: []string{fmt.Sprintf("site:%d", site.ID)}})
	})
	return site, err
}

// EnsureRegion creates a region if it does not exist.
func (s *Service) EnsureRegion(ctx context.Context, tx *store.Tx, code, name string) error {
	if name == "" {
		name = code
	}
	if _, err := tx.ExecContext(ctx, s.q.Get("insert_region"), code, name, code); err != nil {
		return fmt.Errorf("insert region: %w", err)
	}
	return nil
}

// Generate describes slots to create at a site: every IntervalMin minutes
// between Opens and Closes (local times, HH:MM) on each day From..To.
type Generate struct {
	From           string `json:"from"`
	To             string `json:"to"`
	Opens          string `json:"opens"`
	Closes         string `json:"closes"`
	IntervalMin    int    `json:"interval_min"`
	Capacity       int    `json:"capacity"`
	WalkInCapacity int    `json:"walk_in_capacity"`
	Vaccine        string `json:"vaccine"`
	Dose           int    `json:"dose"`
}

// maxGenerated bounds one generation request.
const maxGenerated = 20000

// GenerateSlots creates the slots g describes at the site, in the site's
// time zone (so 08:00 means 08:00 there, across daylight saving changes).
// Slots that already exist are left as they are. It returns how many were
// created.
func (s *Service) GenerateSlots(ctx context.Context, actor string, siteID int64, g Generate) (int, error) {
	site, err := s.Site(ctx, siteID)
	if err != nil {
		return 0, err
	}
	if _, err := s.Vaccine(ctx, g.Vaccine); err != nil {
		return 0, apperr.Invalid("vaccine", "unknown product (CVX code)")
	}
	starts, err := g.starts(site.TimeZone)
	if err != nil {
		return 0, err
	}
	created := 0
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		now := s.now().UnixMicro()
		for _, st := range starts {
			end := st.Add(time.Duration(g.IntervalMin) * time.Minute)
			key := fmt.Sprintf("gen:%d:%s:%d:%d", siteID, g.Vaccine, g.Dose, st.UnixMicro())
			res, err := tx.ExecContext(ctx, s.q.Get("insert_slot"), siteID, g.Vaccine, g.Dose, st.UnixMicro(),
				end.UnixMicro(), g.Capacity, g.Capacity, g.WalkInCapacity, g.WalkInCapacity, "local", key, now)
			if err != nil {
				return fmt.Errorf("insert slot: %w", err)
			}
			n, _ := res.RowsAffected()
			created += int(n)
		}
		return s.audit(ctx, tx, audit.Record{At: s.now(), Actor: actor, Action: "slots.generated",
			Subjects: []string{fmt.Sprintf("site:%d", siteID)}, Details: map[string]any{"created": created}})
	})
	return created, err
}

func (g Generate) starts(tz string) ([]time.Time, error) {
	f := map[string]string{}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("site time zone: %w", err)
	}
	from, errFrom := time.ParseInLocation("2006-01-02", g.From, loc)
	to, errTo := time.ParseInLocation("2006-01-02", g.To, loc)
	opens, errOpen := time.Parse("15:04", g.Opens)
	closes, errClose := time.Parse("15:04", g.Closes)
	if errFrom != nil {
		f["from"] = "a date as YYYY-MM-DD"
	}
	if errTo != nil || (errFrom == nil && to.Before(from)) || (errFrom == nil && to.Sub(from) > 366*24*time.Hour) {
		f["to"] = "a date as YYYY-MM-DD, on or after from, within a year"
	}
	if errOpen != nil {
		f["opens"] = "a time as HH:MM"
	}
	if errClose != nil || (errOpen == nil && !closes.After(opens)) {
		f["closes"] = "a time as HH:MM after opens"
	}
	if g.IntervalMin < 5 || g.IntervalMin > 24*60 {
		f["interval_min"] = "between 5 and 1440"
	}
	if g.Capacity < 0 || g.Capacity > 100000 {
		f["capacity"] = "between 0 and 100000"
	}
	if g.WalkInCapacity < 0 || g.WalkInCapacity > 100000 {
		f["walk_in_capacity"] = "between 0 and 100000"
	}
	if g.Dose < 1 || g.Dose > 10 {
		f["dose"] = "between 1 and 10"
	}
	if len(f) > 0 {
		return nil, &apperr.Error{Name: "invalid-request", Detail: "the slot generation has invalid fields", Fields: f}
	}
	var out []time.Time
	step := time.Duration(g.IntervalMin) * time.Minute
	for day := from; !day.After(to); day = day.AddDate(0, 0, 1) {
		open := time.Date(day.Year(), day.Month(), day.Day(), opens.Hour(), opens.Minute(), 0, 0, loc)
		closeAt := time.Date(day.Year(), day.Month(), day.Day(), closes.Hour(), closes.Minute(), 0, 0, loc)
		for t := open; !t.Add(step).After(closeAt); t = t.Add(step) {
			out = append(out, t.UTC())
			if len(out) > maxGenerated {
				return nil, apperr.Invalid("to", fmt.Sprintf("that would make more than %d slots", maxGenerated))
			}
		}
	}
	return out, nil
}
