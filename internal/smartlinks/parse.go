package smartlinks

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strings"
	"time"

	"github.com/vaxbook/vaxbook/internal/geo"
)

// maxLine bounds one NDJSON record; a longer line is skipped, not loaded.
const maxLine = 1 << 20

// UnknownProduct is the CVX code of a feed that names no known product.
const UnknownProduct = "213"

type siteRow struct {
	extID       string
	region      string
	regionName  string
	name        string
	address     string
	city        string
	state       string
	postalCode  string
	point       geo.Point
	zone        *time.Location
	phone       string
	url         string
	identifiers string // JSON
	id          int64  // after writing
}

type scheduleRow struct {
	site    *siteRow
	vaccine string
	dose    int
}

type slotRow struct {
	key        string
	schedule   *scheduleRow
	start, end time.Time
	capacity   int
	deepLink   string
}

// parsed is a feed read into memory, checked and ready to write.
type parsed struct {
	sites     []*siteRow
	siteByID  map[string]*siteRow
	schedules map[string]*scheduleRow
	skippedSc map[string]bool // schedules seen but skipped
	slots     []*slotRow
	slotKeys  map[string]bool
	vaccines  map[string]int // CVX code -> doses in series
}

// eachRecord calls fn with every non-blank line of an output file; a line
// over maxLine is passed as nil.
func eachRecord(r io.Reader, fn func(line []byte)) (lines int, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	tooLong := false
	for {
		chunk, err := br.ReadSlice('\n')
		if len(buf)+len(chunk) > maxLine {
			tooLong = true
		} else {
			buf = append(buf, chunk...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if t := bytes.TrimSpace(buf); tooLong || len(t) > 0 {
			lines++
			if tooLong {
				t = nil
			}
			fn(t)
		}
		buf, tooLong = buf[:0], false
		if errors.Is(err, io.EOF) {
			return lines, nil
		}
		if err != nil {
			return lines, err
		}
	}
}

func (im *importer) location(line []byte) {
	var loc Location
	var site *siteRow
	reason := decode(line, &loc, "Location", "location")
	if reason == "" {
		if id := strings.TrimSpace(loc.ID); id != "" && im.p.siteByID[id] != nil {
			reason = "location_duplicate_id"
		} else {
			im.seenLocations[id] = true
			site, reason = im.siteFrom(loc)
		}
	}
	if reason != "" {
		im.rep.skip(reason)
		im.rep.Locations.Skipped++
		return
	}
	im.p.siteByID[site.extID] = site
	im.p.sites = append(im.p.sites, site)
}

// decode reads one record, returning a skip reason when it is not JSON or
// not the resource the file should hold.
func decode(line []byte, v any, resourceType, kind string) string {
	if len(line) == 0 {
		return kind + "_line_too_long"
	}
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	if json.Unmarshal(line, &head) != nil {
		return kind + "_invalid_json"
	}
	if head.ResourceType != resourceType {
		return kind + "_wrong_resource_type"
	}
	if json.Unmarshal(line, v) != nil {
		return kind + "_invalid_fields"
	}
	return ""
}

func (im *importer) siteFrom(loc Location) (*siteRow, string) {
	if strings.TrimSpace(loc.ID) == "" {
		return nil, "location_missing_id"
	}
	if strings.TrimSpace(loc.Name) == "" {
		return nil, "location_missing_name"
	}
	if loc.Address == nil {
		return nil, "location_missing_address"
	}
	code, st, ok := lookupState(loc.Address.State)
	if !ok {
		return nil, "location_unknown_state"
	}
	zone, err := time.LoadLocation(st.zone)
	if err != nil {
		return nil, "location_unknown_state"
	}
	s := &siteRow{extID: strings.TrimSpace(loc.ID), region: code, regionName: st.name,
		name: strings.TrimSpace(loc.Name), address: joinLines(loc.Address.Line),
		city: strings.TrimSpace(loc.Address.City), state: code, zone: zone}
	im.postal(s, loc.Address.PostalCode)
	if !im.coordinates(s, loc.Position) {
		return nil, "location_no_coordinates"
	}
	s.phone, s.url = contacts(loc.Telecom)
	ids, _ := json.Marshal(nonNil(loc.Identifier))
	s.identifiers = string(ids)
	return s, ""
}

func (im *importer) postal(s *siteRow, raw string) {
	zip, restored, ok := geo.NormalizeZIP(raw)
	switch {
	case !ok:
		s.postalCode = strings.TrimSpace(raw)
		im.rep.note("postal_code_not_a_zip_kept_as_is")
	case restored:
		s.postalCode = zip
		im.rep.note("postal_code_leading_zero_restored")
	default:
		s.postalCode = zip
	}
}

// coordinates takes the feed's position when it is a real one, else the
// centroid of the site's ZIP code.
func (im *importer) coordinates(s *siteRow, pos *Position) bool {
	if pos != nil && pos.Latitude != nil && pos.Longitude != nil {
		p := geo.Point{Lat: *pos.Latitude, Lng: *pos.Longitude}
		if math.Abs(p.Lat) <= 90 && math.Abs(p.Lng) <= 180 && (p.Lat != 0 || p.Lng != 0) {
			s.point = p
			return true
		}
		im.rep.note("position_invalid_ignored")
	}
	if p, ok := geo.LookupZIP(s.postalCode); ok {
		s.point = p
		im.rep.note("coordinates_from_zip_centroid")
		return true
	}
	return false
}

func joinLines(lines []string) string {
	var parts []string
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, ", ")
}

func contacts(telecom []ContactPoint) (phone, url string) {
	for _, c := range telecom {
		switch {
		case c.System == "phone" && phone == "":
			phone = strings.TrimSpace(c.Value)
		case c.System == "url" && url == "":
			url = strings.TrimSpace(c.Value)
		}
	}
	return phone, url
}

func nonNil(ids []Identifier) []Identifier {
	if ids == nil {
		return []Identifier{}
	}
	return ids
}

func (im *importer) schedule(line []byte) {
	var sc Schedule
	if reason := decode(line, &sc, "Schedule", "schedule"); reason != "" {
		im.rep.skip(reason)
		im.rep.Schedules.Skipped++
		return
	}
	row, reason := im.scheduleFrom(sc)
	if reason != "" {
		im.rep.skip(reason)
		im.rep.Schedules.Skipped++
		if sc.ID != "" {
			im.p.skippedSc[sc.ID] = true
		}
		return
	}
	im.p.schedules[sc.ID] = row
}

func (im *importer) scheduleFrom(sc Schedule) (*scheduleRow, string) {
	switch {
	case strings.TrimSpace(sc.ID) == "":
		return nil, "schedule_missing_id"
	case im.p.schedules[sc.ID] != nil:
		return nil, "schedule_duplicate_id"
	case len(sc.Actor) == 0:
		return nil, "schedule_missing_actor"
	}
	locID, ok := RefID(sc.Actor[0].Reference, "Location")
	if !ok {
		return nil, "schedule_bad_actor_reference"
	}
	site := im.p.siteByID[locID]
	if site == nil {
		if im.locationSeen(locID) {
			return nil, "schedule_location_skipped"
		}
		return nil, "schedule_unknown_location"
	}
	row := &scheduleRow{site: site, vaccine: im.product(sc.Extension)}
	row.dose = im.dose(sc.Extension, row.vaccine)
	return row, ""
}

// locationSeen reports whether a location id appeared in the feed, even if
// it was skipped; the reason for a dependent record then says so.
func (im *importer) locationSeen(id string) bool { return im.seenLocations[id] }

func (im *importer) product(exts []Extension) string {
	for _, e := range exts {
		if e.URL != ExtVaccineProduct || e.ValueCoding == nil {
			continue
		}
		code := strings.TrimSpace(e.ValueCoding.Code)
		if _, known := im.p.vaccines[code]; known && (e.ValueCoding.System == "" || e.ValueCoding.System == SystemCVX) {
			return code
		}
		im.rep.note("product_unknown_set_to_" + UnknownProduct)
		return UnknownProduct
	}
	im.rep.note("product_missing_set_to_" + UnknownProduct)
	return UnknownProduct
}

// dose takes the lowest dose number the schedule names. A number outside
// the product's series (one real feed says 9 for "any dose") cannot be
// booked as such, so it becomes dose 1, and the report says so.
func (im *importer) dose(exts []Extension, vaccine string) int {
	dose := 0
	for _, e := range exts {
		if e.URL == ExtVaccineDose && e.ValueInteger != nil && (dose == 0 || *e.ValueInteger < dose) {
			dose = *e.ValueInteger
		}
	}
	switch {
	case dose == 0:
		im.rep.note("dose_missing_set_to_1")
		return 1
	case dose < 1 || dose > im.p.vaccines[vaccine]:
		im.rep.note("dose_outside_series_set_to_1")
		return 1
	}
	return dose
}

func (im *importer) slot(line []byte) {
	var sl Slot
	if reason := decode(line, &sl, "Slot", "slot"); reason != "" {
		im.rep.skip(reason)
		im.rep.Slots.Skipped++
		return
	}
	row, reason := im.slotFrom(sl)
	if reason == "" && im.p.slotKeys[row.key] {
		reason = "slot_duplicate_schedule_and_start"
	}
	if reason != "" {
		im.rep.skip(reason)
		im.rep.Slots.Skipped++
		return
	}
	im.p.slotKeys[row.key] = true
	im.p.slots = append(im.p.slots, row)
}

func (im *importer) slotFrom(sl Slot) (*slotRow, string) {
	if sl.Schedule == nil {
		return nil, "slot_missing_schedule"
	}
	schedID, ok := RefID(sl.Schedule.Reference, "Schedule")
	if !ok {
		return nil, "slot_bad_schedule_reference"
	}
	sc := im.p.schedules[schedID]
	if sc == nil {
		if im.p.skippedSc[schedID] {
			return nil, "slot_schedule_skipped"
		}
		return nil, "slot_unknown_schedule"
	}
	start, err1 := ParseTime(sl.Start)
	end, err2 := ParseTime(sl.End)
	if err1 != nil || err2 != nil {
		return nil, "slot_bad_time"
	}
	if !end.After(start) {
		return nil, "slot_end_not_after_start"
	}
	capacity, reason := im.capacity(sl)
	if reason != "" {
		return nil, reason
	}
	// Slot ids repeat across days in real feeds, so a slot is known by its
	// schedule and its original start, never by its id.
	key := "Schedule/" + schedID + "@" + start.UTC().Format(time.RFC3339)
	return &slotRow{key: key, schedule: sc, start: start, end: end, capacity: capacity,
		deepLink: deepLink(sl.Extension)}, ""
}

// capacity reads the slot-capacity extension. A free slot without one is a
// single appointment. A busy slot is kept with capacity 0: it says the
// site is open but full, which aggregators and our own publication show,
// and a later import may free it.
func (im *importer) capacity(sl Slot) (int, string) {
	capacity := -1
	for _, e := range sl.Extension {
		if e.URL == ExtSlotCapacity && e.ValueInteger != nil {
			capacity = *e.ValueInteger
		}
	}
	switch sl.Status {
	case "free":
		if capacity < 0 {
			im.rep.note("slot_free_without_capacity_set_to_1")
			return 1, ""
		}
		if capacity == 0 {
			im.rep.note("slot_free_with_capacity_0")
		}
		return capacity, ""
	case "busy":
		im.rep.note("slot_busy_kept_with_capacity_0")
		return 0, ""
	}
	return 0, "slot_unsupported_status"
}

func deepLink(exts []Extension) string {
	for _, e := range exts {
		if e.URL == ExtBookingDeepLink {
			return strings.TrimSpace(e.ValueURL)
		}
	}
	return ""
}

// shift moves every slot by whole days so that the first day of the feed
// (in each site's own zone) falls on to, keeping local wall-clock times:
// a 9:00 slot stays at 9:00 even across a daylight saving change.
func (im *importer) shift(ctx context.Context, to Date) {
	if len(im.p.slots) == 0 {
		return
	}
	first := DateOf(im.p.slots[0].start.In(im.p.slots[0].schedule.site.zone))
	for _, s := range im.p.slots[1:] {
		if d := DateOf(s.start.In(s.schedule.site.zone)); d.daysUntil(first) > 0 {
			first = d
		}
	}
	days := first.daysUntil(to)
	for _, s := range im.p.slots {
		zone := s.schedule.site.zone
		s.start = s.start.In(zone).AddDate(0, 0, days)
		s.end = s.end.In(zone).AddDate(0, 0, days)
	}
	im.rep.Shift = &Shift{FirstDay: first, To: to, Days: days}
}
