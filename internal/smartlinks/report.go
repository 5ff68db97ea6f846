package smartlinks

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Date is a calendar day without a zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate reads YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
	if err != nil {
		return Date{}, fmt.Errorf("date %q is not YYYY-MM-DD", s)
	}
	return DateOf(t), nil
}

// DateOf returns the calendar day of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// daysUntil counts whole days from d to e.
func (d Date) daysUntil(e Date) int {
	a := time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC)
	b := time.Date(e.Year, e.Month, e.Day, 12, 0, 0, 0, time.UTC)
	return int(b.Sub(a).Hours() / 24)
}

// Counts tallies one kind of resource.
type Counts struct {
	Read      int `json:"read"`
	Inserted  int `json:"inserted"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Skipped   int `json:"skipped"`
}

// FileReport says what happened to one output file of the manifest.
type FileReport struct {
	Type   string `json:"type"`
	URL    string `json:"url"`
	Status string `json:"status"` // read, missing, outside, other-host, bad-url, unknown-type, failed, truncated
	Lines  int    `json:"lines"`
}

// Shift says how a feed was moved in time.
type Shift struct {
	FirstDay Date `json:"first_day"`
	To       Date `json:"to"`
	Days     int  `json:"days"`
}

// Report is what an import did: counts per resource, a count per reason
// for everything skipped, and notes for values the importer had to fill
// in or correct. Every record read is either loaded or skipped.
type Report struct {
	Manifest  string         `json:"manifest"`
	Source    string         `json:"source"`
	Files     []FileReport   `json:"files"`
	Locations Counts         `json:"locations"`
	Schedules Counts         `json:"schedules"`
	Slots     Counts         `json:"slots"`
	Regions   int            `json:"regions_created"`
	Shift     *Shift         `json:"shift,omitempty"`
	Skipped   map[string]int `json:"skipped"`
	Notes     map[string]int `json:"notes"`
	// Sites and SlotsStored are the rows the feed now has in the database.
	Sites       int `json:"sites"`
	SlotsStored int `json:"slots_stored"`
}

func newReport(source string) Report {
	return Report{Manifest: source, Skipped: map[string]int{}, Notes: map[string]int{}}
}

func (r *Report) skip(reason string) { r.Skipped[reason]++ }
func (r *Report) note(what string)   { r.Notes[what]++ }

// SkippedTotal is the number of records and files skipped.
func (r Report) SkippedTotal() int {
	n := 0
	for _, c := range r.Skipped {
		n += c
	}
	return n
}

// WriteTo prints the report for people.
func (r Report) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "import of %s (source %s)\n", r.Manifest, r.Source)
	if r.Shift != nil {
		fmt.Fprintf(&b, "shifted: first day %s moved to %s (%+d days, local times kept)\n",
			r.Shift.FirstDay, r.Shift.To, r.Shift.Days)
	}
	status := map[string]int{}
	for _, f := range r.Files {
		status[f.Status]++
	}
	fmt.Fprintf(&b, "files: %d listed%s\n", len(r.Files), formatCounts(status))
	for _, c := range []struct {
		name string
		c    Counts
	}{{"locations", r.Locations}, {"slots", r.Slots}} {
		fmt.Fprintf(&b, "%-10s read %d, inserted %d, updated %d, unchanged %d, skipped %d\n",
			c.name+":", c.c.Read, c.c.Inserted, c.c.Updated, c.c.Unchanged, c.c.Skipped)
	}
	fmt.Fprintf(&b, "schedules: read %d, used %d, skipped %d\n",
		r.Schedules.Read, r.Schedules.Read-r.Schedules.Skipped, r.Schedules.Skipped)
	fmt.Fprintf(&b, "stored: %d sites, %d slots; %d regions created\n", r.Sites, r.SlotsStored, r.Regions)
	writeSection(&b, "skipped", r.Skipped)
	writeSection(&b, "notes", r.Notes)
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

func formatCounts(m map[string]int) string {
	keys := sortedKeys(m)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", m[k], k))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func writeSection(b *strings.Builder, title string, m map[string]int) {
	if len(m) == 0 {
		fmt.Fprintf(b, "%s: none\n", title)
		return
	}
	fmt.Fprintf(b, "%s:\n", title)
	for _, k := range sortedKeys(m) {
		fmt.Fprintf(b, "  %-40s %d\n", k, m[k])
	}
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
