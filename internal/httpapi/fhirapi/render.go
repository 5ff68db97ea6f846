package fhirapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/vaxbook/vaxbook/internal/geo"
	"github.com/vaxbook/vaxbook/internal/smartlinks"
)

// file is one rendered response.
type file struct {
	body        []byte
	etag        string
	modified    time.Time
	contentType string
}

type rendering struct {
	gen                                   uint64
	manifest, locations, schedules, slots file
}

type scheduleKey struct {
	site    int64
	vaccine string
	dose    int
}

// ScheduleID is the published id of a site's schedule for one product and
// dose; the format allows letters, digits, "_" and ".".
func ScheduleID(siteID int64, vaccine string, dose int) string {
	return fmt.Sprintf("%d.%s.%d", siteID, vaccine, dose)
}

func renderView(v geo.View, public string) *rendering {
	modified := v.ChangedAt()
	var locs, scheds, slots bytes.Buffer
	states := map[string]bool{}
	seen := map[scheduleKey]bool{}
	for _, site := range v.Sites() {
		states[site.State] = true
		writeLine(&locs, location(site))
		for _, sl := range v.Slots(site.ID) {
			k := scheduleKey{site.ID, sl.VaccineCode, sl.Dose}
			if !seen[k] {
				seen[k] = true
				writeLine(&scheds, schedule(k, v.VaccineName(sl.VaccineCode)))
			}
			writeLine(&slots, slot(site, sl, public))
		}
	}
	const ndjson = "application/fhir+ndjson"
	r := &rendering{gen: v.Generation(),
		locations: newFile(locs.Bytes(), modified, ndjson),
		schedules: newFile(scheds.Bytes(), modified, ndjson),
		slots:     newFile(slots.Bytes(), modified, ndjson),
	}
	r.manifest = newFile(manifest(public, modified, states), modified, "application/json")
	return r
}

func newFile(body []byte, modified time.Time, contentType string) file {
	sum := sha256.Sum256(body)
	return file{body: body, etag: `"` + hex.EncodeToString(sum[:16]) + `"`, modified: modified, contentType: contentType}
}

// writeLine appends v as one minified JSON line. The values are our own
// structs, so encoding cannot fail.
func writeLine(b *bytes.Buffer, v any) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false) // keep "&" in deep links readable
	_ = enc.Encode(v)
}

func manifest(public string, modified time.Time, states map[string]bool) []byte {
	list := make([]string, 0, len(states))
	for s := range states {
		list = append(list, s)
	}
	sort.Strings(list)
	m := smartlinks.Manifest{
		TransactionTime: modified.UTC().Format("2006-01-02T15:04:05.000Z07:00"),
		Request:         public + ManifestPath,
		Output: []smartlinks.ManifestOutput{
			{Type: "Location", URL: public + LocationsPath},
			{Type: "Schedule", URL: public + SchedulesPath},
			{Type: "Slot", URL: public + SlotsPath, Extension: map[string][]string{"state": list}},
		},
		Error: []smartlinks.ManifestOutput{},
	}
	body, _ := json.MarshalIndent(m, "", "  ")
	return append(body, '\n')
}

func location(s geo.Site) smartlinks.Location {
	telecom := []smartlinks.ContactPoint{}
	if s.Phone != "" {
		telecom = append(telecom, smartlinks.ContactPoint{System: "phone", Value: s.Phone})
	}
	if s.URL != "" {
		telecom = append(telecom, smartlinks.ContactPoint{System: "url", Value: s.URL})
	}
	lines := []string{}
	if s.Address != "" {
		lines = append(lines, s.Address)
	}
	lat, lng := s.Point.Lat, s.Point.Lng
	return smartlinks.Location{
		ResourceType: "Location", ID: strconv.FormatInt(s.ID, 10), Name: s.Name, Telecom: telecom,
		Address:  &smartlinks.Address{Line: lines, City: s.City, State: s.State, PostalCode: s.PostalCode},
		Position: &smartlinks.Position{Latitude: &lat, Longitude: &lng},
	}
}

func schedule(k scheduleKey, vaccineName string) smartlinks.Schedule {
	dose := k.dose
	return smartlinks.Schedule{
		ResourceType: "Schedule", ID: ScheduleID(k.site, k.vaccine, k.dose),
		ServiceType: smartlinks.ImmunizationService(),
		Actor:       []smartlinks.Reference{{Reference: "Location/" + strconv.FormatInt(k.site, 10)}},
		Extension: []smartlinks.Extension{
			{URL: smartlinks.ExtVaccineProduct, ValueCoding: &smartlinks.Coding{
				System: smartlinks.SystemCVX, Code: k.vaccine, Display: vaccineName}},
			{URL: smartlinks.ExtVaccineDose, ValueInteger: &dose},
		},
	}
}

// DeepLink is where an aggregator sends a person for one slot: our own
// slot list near the site (the page every booking goes through, which
// first checks the person's session and eligibility), naming the slot.
func DeepLink(public string, site geo.Site, slotID int64) string {
	link := public + "/book/slots?"
	if site.PostalCode != "" {
		link += "zip=" + url.QueryEscape(site.PostalCode) + "&"
	}
	return link + "slot=" + strconv.FormatInt(slotID, 10)
}

// slot publishes the online pool: free with its remaining seats as the
// capacity, or busy with 0 when none are left. The walk-in pool is not
// offered to aggregators.
func slot(site geo.Site, sl geo.Slot, public string) smartlinks.Slot {
	status, capacity := "busy", 0
	if sl.Remaining > 0 {
		status, capacity = "free", sl.Remaining
	}
	exts := []smartlinks.Extension{{URL: smartlinks.ExtBookingDeepLink, ValueURL: DeepLink(public, site, sl.ID)}}
	if site.Phone != "" {
		exts = append(exts, smartlinks.Extension{URL: smartlinks.ExtBookingPhone, ValueString: site.Phone})
	}
	exts = append(exts, smartlinks.Extension{URL: smartlinks.ExtSlotCapacity, ValueInteger: &capacity})
	loc := site.Location
	if loc == nil {
		loc = time.UTC
	}
	return smartlinks.Slot{
		ResourceType: "Slot", ID: strconv.FormatInt(sl.ID, 10),
		Schedule:  &smartlinks.Reference{Reference: "Schedule/" + ScheduleID(site.ID, sl.VaccineCode, sl.Dose)},
		Status:    status,
		Start:     sl.Start.In(loc).Format(time.RFC3339),
		End:       sl.End.In(loc).Format(time.RFC3339),
		Extension: exts,
	}
}
