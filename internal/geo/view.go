package geo

import (
	"sort"
	"time"
)

// View is one read-only snapshot of the index for publishers (the SMART
// Scheduling Links feed): every site and every slot that has not ended,
// whatever its remaining seats.
type View struct{ s *snapshot }

// View returns the current snapshot; ok is false before the first refresh.
func (ix *Index) View() (v View, ok bool) {
	s := ix.snap.Load()
	return View{s}, s != nil
}

// AsOf is when the snapshot was read.
func (v View) AsOf() time.Time { return v.s.asOf }

// ChangedAt is when the data last changed (Last-Modified of a publication).
func (v View) ChangedAt() time.Time { return v.s.changedAt }

// Generation changes whenever the data changes; equal generations of one
// index hold equal data, so a publisher may cache what it rendered.
func (v View) Generation() uint64 { return v.s.gen }

// Sites returns every site, by id.
func (v View) Sites() []Site {
	out := make([]Site, 0, len(v.s.sites))
	for _, e := range v.s.sites {
		out = append(out, e.Site)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Slots returns a site's slots by start; the caller must not modify them.
func (v View) Slots(siteID int64) []Slot {
	if e := v.s.sites[siteID]; e != nil {
		return e.slots
	}
	return nil
}

// VaccineName returns a product's name by CVX code.
func (v View) VaccineName(code string) string { return v.s.vaccines[code] }
