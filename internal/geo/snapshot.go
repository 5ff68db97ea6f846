package geo

import (
	"sort"
	"sync"
	"time"
)

// snapshot is one immutable state of the index. A refresh builds a new one
// that shares every unchanged site entry with its predecessor.
type snapshot struct {
	asOf      time.Time
	changedAt time.Time // when the data last differed from the previous snapshot
	gen       uint64    // counts data changes; equal gens hold equal data
	vaccines  map[string]string
	sites     map[int64]*siteEntry
	byLat     []*siteEntry // every site, by latitude, for band searches

	seatsOnce sync.Once
	seats     int
}

// siteEntry is a site with its slots sorted by start, then id.
type siteEntry struct {
	Site
	slots []Slot
}

func newSnapshot(asOf time.Time, vaccines map[string]string) *snapshot {
	return &snapshot{asOf: asOf, vaccines: vaccines, sites: map[int64]*siteEntry{}}
}

func (s *snapshot) orderByLat() {
	s.byLat = make([]*siteEntry, 0, len(s.sites))
	for _, e := range s.sites {
		s.byLat = append(s.byLat, e)
	}
	sort.Slice(s.byLat, func(i, j int) bool {
		a, b := s.byLat[i], s.byLat[j]
		if a.Point.Lat != b.Point.Lat {
			return a.Point.Lat < b.Point.Lat
		}
		return a.ID < b.ID
	})
}

// with returns a copy of s in which the sites in changed carry the new
// versions of their slots; slots that ended are dropped from those sites.
func (s *snapshot) with(asOf time.Time, changed map[int64][]Slot) *snapshot {
	n := newSnapshot(asOf, s.vaccines)
	n.changedAt, n.gen = s.changedAt, s.gen
	for id, e := range s.sites {
		n.sites[id] = e
	}
	for id, list := range changed {
		old := n.sites[id]
		e := &siteEntry{Site: old.Site, slots: mergeSlots(old.slots, list, asOf)}
		if !sameSlots(old.slots, e.slots) {
			n.changedAt, n.gen = asOf, s.gen+1
		}
		n.sites[id] = e
	}
	n.byLat = make([]*siteEntry, len(s.byLat))
	for i, e := range s.byLat {
		n.byLat[i] = n.sites[e.ID]
	}
	return n
}

func mergeSlots(old, changed []Slot, now time.Time) []Slot {
	byID := make(map[int64]Slot, len(old)+len(changed))
	for _, sl := range old {
		byID[sl.ID] = sl
	}
	for _, sl := range changed {
		byID[sl.ID] = sl
	}
	out := make([]Slot, 0, len(byID))
	for _, sl := range byID {
		if sl.End.After(now) {
			out = append(out, sl)
		}
	}
	return sortSlots(out)
}

func sameSlots(a, b []Slot) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// sameData reports whether n holds exactly the sites and slots of s, so a
// full reload that found nothing new keeps the publication's timestamps.
func (s *snapshot) sameData(n *snapshot) bool {
	if len(s.sites) != len(n.sites) || len(s.vaccines) != len(n.vaccines) {
		return false
	}
	for id, e := range s.sites {
		o := n.sites[id]
		if o == nil || !sameSite(e.Site, o.Site) || !sameSlots(e.slots, o.slots) {
			return false
		}
	}
	for code, name := range s.vaccines {
		if n.vaccines[code] != name {
			return false
		}
	}
	return true
}

func sameSite(a, b Site) bool {
	a.Location, b.Location = nil, nil
	return a == b
}

// futureSeats counts the online seats left in slots that start after asOf.
func (s *snapshot) futureSeats() int {
	s.seatsOnce.Do(func() {
		for _, e := range s.sites {
			for _, sl := range e.slots {
				if sl.Start.After(s.asOf) && sl.Remaining > 0 {
					s.seats += sl.Remaining
				}
			}
		}
	})
	return s.seats
}
