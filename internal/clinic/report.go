package clinic

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
)

// Report dimensions, in the order they appear in a row.
var dimensions = []string{"region", "day", "vaccine", "dose"}

// ReportRequest asks for booking counts grouped by some dimensions, for
// slots on local days From..To (inclusive).
type ReportRequest struct {
	GroupBy  []string
	From, To time.Time
}

// Count is one measure of a row. A suppressed count is nil. Count of a
// coarser row is the sum of the published finest cells in it only, and
// SuppressedCells says how many finest cells were left out of it.
type Count struct {
	Value           *int `json:"value"`
	SuppressedCells int  `json:"suppressed_cells"`
}

// ReportRow is one group of the report.
type ReportRow struct {
	Region        string `json:"region,omitempty"`
	Day           string `json:"day,omitempty"`
	Vaccine       string `json:"vaccine,omitempty"`
	Dose          int    `json:"dose,omitempty"`
	Bookings      Count  `json:"bookings"`
	Completions   Count  `json:"completions"`
	NoShows       Count  `json:"no_shows"`
	Cancellations Count  `json:"cancellations"`
}

// ReportResult is the report with how it was made.
type ReportResult struct {
	GroupBy       []string    `json:"group_by"`
	From          string      `json:"from"`
	To            string      `json:"to"`
	SuppressBelow int         `json:"suppress_below"`
	Rows          []ReportRow `json:"rows"`
}

type cellKey struct {
	region, day, vaccine string
	dose                 int
}

// Report counts bookings, completions, no-shows and cancellations. Counts
// are first made for the finest cells (region, local day, product, dose);
// any count from 1 to SuppressBelow-1 there is suppressed. Coarser rows
// add up only the published finest counts, and no totals are published,
// so no suppressed count can be recovered by subtracting one published
// number from another, within a report or across reports with different
// groupings (docs/CLINIC.md).
func (s *Service) Report(ctx context.Context, r ReportRequest) (ReportResult, error) {
	group, err := checkGroupBy(r.GroupBy)
	if err != nil {
		return ReportResult{}, err
	}
	if r.To.Before(r.From) || r.To.Sub(r.From) > 366*24*time.Hour {
		return ReportResult{}, apperr.Invalid("to", "on or after from, within a year")
	}
	cells, err := s.finestCells(ctx, r.From, r.To)
	if err != nil {
		return ReportResult{}, err
	}
	rows := map[cellKey]*ReportRow{}
	for k, c := range cells {
		g := k
		if !group["region"] {
			g.region = ""
		}
		if !group["day"] {
			g.day = ""
		}
		if !group["vaccine"] {
			g.vaccine = ""
		}
		if !group["dose"] {
			g.dose = 0
		}
		row := rows[g]
		if row == nil {
			row = &ReportRow{Region: g.region, Day: g.day, Vaccine: g.vaccine, Dose: g.dose}
			rows[g] = row
		}
		for i, m := range row.counts() {
			m.add(c[i], s.cfg.SuppressBelow)
		}
	}
	out := ReportResult{GroupBy: r.GroupBy, From: r.From.Format("2006-01-02"), To: r.To.Format("2006-01-02"),
		SuppressBelow: s.cfg.SuppressBelow, Rows: make([]ReportRow, 0, len(rows))}
	for _, row := range rows {
		out.Rows = append(out.Rows, *row)
	}
	sort.Slice(out.Rows, func(i, j int) bool { return out.Rows[i].less(out.Rows[j]) })
	return out, nil
}

func checkGroupBy(list []string) (map[string]bool, error) {
	group := map[string]bool{}
	for _, g := range list {
		ok := false
		for _, d := range dimensions {
			ok = ok || g == d
		}
		if !ok || group[g] {
			return nil, apperr.Invalid("group_by", "a comma-separated list of "+strings.Join(dimensions, ", ")+", each once")
		}
		group[g] = true
	}
	return group, nil
}

func (r *ReportRow) counts() []*Count {
	return []*Count{&r.Bookings, &r.Completions, &r.NoShows, &r.Cancellations}
}

// add folds one finest count into c: published when it is 0 or at least
// the threshold, otherwise counted as a suppressed cell.
func (c *Count) add(n, threshold int) {
	if n > 0 && n < threshold {
		c.SuppressedCells++
		return
	}
	v := n
	if c.Value != nil {
		v += *c.Value
	}
	c.Value = &v
}

func (r ReportRow) less(o ReportRow) bool {
	if r.Region != o.Region {
		return r.Region < o.Region
	}
	if r.Day != o.Day {
		return r.Day < o.Day
	}
	if r.Vaccine != o.Vaccine {
		return r.Vaccine < o.Vaccine
	}
	return r.Dose < o.Dose
}

// finestCells counts per region, local day, product and dose. A booking
// counts every appointment made; the others count appointments by their
// status now.
func (s *Service) finestCells(ctx context.Context, from, to time.Time) (map[cellKey][4]int, error) {
	// A day boundary is somewhere within ±14 hours of UTC; read a little
	// wider and filter on each site's own local day.
	lo, hi := from.Add(-15*time.Hour), to.AddDate(0, 0, 1).Add(15*time.Hour)
	rows, err := s.db.Read.QueryContext(ctx, s.q.Get("report_rows"), lo.UnixMicro(), hi.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	defer rows.Close()
	first, last := from.Format("2006-01-02"), to.Format("2006-01-02")
	zones := map[string]*time.Location{}
	cells := map[cellKey][4]int{}
	for rows.Next() {
		var k cellKey
		var tz, status string
		var start int64
		var n int
		if err := rows.Scan(&k.region, &tz, &start, &k.vaccine, &k.dose, &status, &n); err != nil {
			return nil, err
		}
		loc := zones[tz]
		if loc == nil {
			if loc, err = time.LoadLocation(tz); err != nil {
				loc = time.UTC
			}
			zones[tz] = loc
		}
		k.day = micros(start).In(loc).Format("2006-01-02")
		if k.day < first || k.day > last {
			continue
		}
		c := cells[k]
		c[0] += n
		switch status {
		case "completed":
			c[1] += n
		case "no_show":
			c[2] += n
		case "cancelled":
			c[3] += n
		}
		cells[k] = c
	}
	return cells, rows.Err()
}
