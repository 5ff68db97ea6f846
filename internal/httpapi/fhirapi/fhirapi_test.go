package fhirapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/geo"
	"github.com/vaxbook/vaxbook/internal/httpapi/fhirapi"
	"github.com/vaxbook/vaxbook/internal/httpx"
	"github.com/vaxbook/vaxbook/internal/smartlinks"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
)

const feeds = "../../../../shared/data/smart-scheduling-links/"

var now = time.Date(2027, 1, 3, 12, 0, 0, 0, time.UTC)

type fixture struct {
	db  *store.DB
	clk *clock.Fake
	ix  *geo.Index
	srv *httptest.Server
}

// setup imports a real feed, shifted into the future, and serves our
// publication of it on 127.0.0.1 with the server's own address as the
// public URL.
func setup(t *testing.T, db *store.DB, feed string) fixture {
	t.Helper()
	ctx := context.Background()
	clk := clock.NewFake(now)
	day, _ := smartlinks.ParseDate("2027-01-04")
	if _, err := smartlinks.Import(ctx, db, feeds+feed, smartlinks.Options{ShiftTo: &day, Clock: clk}); err != nil {
		t.Fatal(err)
	}
	ix, err := geo.NewIndex(geo.IndexConfig{DB: db, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	m, err := fhirapi.New(fhirapi.Config{Index: ix, PublicURL: srv.URL + "/"})
	if err != nil {
		t.Fatal(err)
	}
	r := httpx.NewRouter()
	m.Register(r)
	handler = r
	return fixture{db: db, clk: clk, ix: ix, srv: srv}
}

func fetch(t *testing.T, url string, header ...string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func body(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestRoundTripThroughOurImporter(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db, "riteaid-nj-2023-03")
		// Fill one slot, so the feed also carries a slot that became busy.
		exec(t, db, "UPDATE slots SET remaining = 0, updated_us = ? WHERE id = (SELECT MIN(id) FROM slots WHERE capacity > 0)",
			now.UnixMicro())
		if err := f.ix.Refresh(context.Background()); err != nil {
			t.Fatal(err)
		}
		if counts := validate(t, f.srv.URL); counts["Slot"] != 1542 {
			t.Errorf("published %v", counts)
		}
		other := storetest.Open(t, db.Dialect)
		rep, err := smartlinks.Import(context.Background(), other, f.srv.URL+fhirapi.ManifestPath, smartlinks.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Sites != 112 || rep.SlotsStored != 1542 || rep.SkippedTotal() != 0 {
			t.Errorf("re-import of our publication: %d sites, %d slots, skipped %v; want 112, 1542, none",
				rep.Sites, rep.SlotsStored, rep.Skipped)
		}
		if got, want := count(t, other, "SELECT COUNT(*) FROM slots WHERE capacity = 0"), 113; got != want {
			t.Errorf("busy slots after the round trip = %d, want %d (112 busy days and the one we filled)", got, want)
		}
		if n := count(t, other, "SELECT COUNT(*) FROM sites WHERE postal_code = '08332' AND time_zone = 'America/New_York'"); n != 1 {
			t.Errorf("the Millville store did not survive the round trip")
		}
		// Start times and seats left are the same on both sides.
		var ourStarts, theirStarts, remaining, published int64
		if err := db.Read.QueryRow("SELECT SUM(start_us), SUM(remaining) FROM slots").Scan(&ourStarts, &remaining); err != nil {
			t.Fatal(err)
		}
		if err := other.Read.QueryRow("SELECT SUM(start_us), SUM(capacity) FROM slots").Scan(&theirStarts, &published); err != nil {
			t.Fatal(err)
		}
		if ourStarts != theirStarts {
			t.Errorf("slot start times changed in the round trip")
		}
		if published != remaining {
			t.Errorf("published capacity %d, our remaining seats %d", published, remaining)
		}
	})
}

func TestExampleMARoundTrip(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db, "example-ma")
		validate(t, f.srv.URL)
		other := storetest.Open(t, db.Dialect)
		rep, err := smartlinks.Import(context.Background(), other, f.srv.URL+fhirapi.ManifestPath, smartlinks.Options{})
		if err != nil || rep.Sites != 8 || rep.SlotsStored != 240 || rep.SkippedTotal() != 0 {
			t.Errorf("re-import: %d sites, %d slots, skipped %v, %v; want 8, 240", rep.Sites, rep.SlotsStored, rep.Skipped, err)
		}
		if n := count(t, other, "SELECT COUNT(*) FROM slots WHERE vaccine_code = '207' AND dose = 1 AND capacity = 100"); n != 240 {
			t.Errorf("product, dose and capacity lost in the round trip: %d of 240 slots kept them", n)
		}
	})
}

func TestPublicationFollowsTheRules(t *testing.T) {
	t.Parallel()
	f := setup(t, storetest.Open(t, store.SQLite), "riteaid-nj-2023-03")
	counts := validate(t, f.srv.URL)
	if counts["Location"] != 112 || counts["Schedule"] != 112 || counts["Slot"] != 1542 {
		t.Errorf("published %v; want 112 locations, 112 schedules, 1542 slots", counts)
	}
}

func TestConditionalRequests(t *testing.T) {
	t.Parallel()
	f := setup(t, storetest.Open(t, store.SQLite), "example-ma")
	for _, path := range []string{fhirapi.ManifestPath, fhirapi.LocationsPath, fhirapi.SchedulesPath, fhirapi.SlotsPath} {
		first := fetch(t, f.srv.URL+path)
		etag, modified := first.Header.Get("ETag"), first.Header.Get("Last-Modified")
		if first.StatusCode != http.StatusOK || etag == "" || modified == "" ||
			first.Header.Get("Cache-Control") != "public, max-age=60" {
			t.Fatalf("GET %s: %d %v", path, first.StatusCode, first.Header)
		}
		for _, h := range [][]string{{"If-None-Match", etag}, {"If-None-Match", `"x", W/` + etag},
			{"If-None-Match", "*"}, {"If-Modified-Since", modified}} {
			resp := fetch(t, f.srv.URL+path, h...)
			if resp.StatusCode != http.StatusNotModified || resp.Header.Get("ETag") != etag || len(body(t, resp)) != 0 {
				t.Errorf("GET %s with %s: %d", path, h[0], resp.StatusCode)
			}
		}
		// A stale ETag wins over a matching date: If-None-Match decides.
		if resp := fetch(t, f.srv.URL+path, "If-None-Match", `"stale"`, "If-Modified-Since", modified); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s with a stale ETag: %d", path, resp.StatusCode)
		}
	}
	slots := fetch(t, f.srv.URL+fhirapi.SlotsPath)
	etag := slots.Header.Get("ETag")
	// A booking changes the data: the next refresh changes ETag and date.
	f.clk.Advance(2 * time.Second)
	exec(t, f.db, "UPDATE slots SET remaining = remaining - 1, updated_us = ? WHERE id = (SELECT MIN(id) FROM slots)",
		f.clk.Now().UnixMicro())
	if err := f.ix.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	resp := fetch(t, f.srv.URL+fhirapi.SlotsPath, "If-None-Match", etag)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == etag ||
		!bytes.Contains(body(t, resp), []byte(`"valueInteger":99}`)) {
		t.Errorf("after a booking: %d, ETag %s (was %s)", resp.StatusCode, resp.Header.Get("ETag"), etag)
	}
	// A refresh that finds nothing new keeps the validators.
	etag = resp.Header.Get("ETag")
	f.clk.Advance(time.Minute)
	if err := f.ix.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if resp := fetch(t, f.srv.URL+fhirapi.SlotsPath, "If-None-Match", etag); resp.StatusCode != http.StatusNotModified {
		t.Errorf("unchanged data after a full reload: %d", resp.StatusCode)
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	ix, err := geo.NewIndex(geo.IndexConfig{DB: storetest.Open(t, store.SQLite)})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "/relative", "ftp://x", "http://"} {
		if _, err := fhirapi.New(fhirapi.Config{Index: ix, PublicURL: bad}); err == nil {
			t.Errorf("public URL %q accepted", bad)
		}
	}
	m, err := fhirapi.New(fhirapi.Config{Index: ix, PublicURL: "https://vax.example"})
	if err != nil {
		t.Fatal(err)
	}
	r := httpx.NewRouter()
	m.Register(r)
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, fhirapi.ManifestPath, nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("before the index loads: %d", rec.Code)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(m.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, route := range r.Routes() {
		method, path, _ := strings.Cut(route, " ")
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("route %s is not in the OpenAPI fragment", route)
		}
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

func count(t *testing.T, db *store.DB, query string) int {
	t.Helper()
	var n int
	if err := db.Read.QueryRow(query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The rules of the SMART Scheduling Links specification that a checker can
// test: the manifest's shape, each file's resource type, required fields,
// id and reference formats, timestamps with offsets, known extensions.
var (
	idRule     = regexp.MustCompile(`^[A-Za-z0-9_.]{1,64}$`)
	offsetRule = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$`)
)

// validate fetches our manifest and every file it links and checks them
// against the specification, returning how many resources of each type
// were published.
func validate(t *testing.T, base string) map[string]int {
	t.Helper()
	resp := fetch(t, base+fhirapi.ManifestPath)
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "application/json" {
		t.Fatalf("manifest: %d %s", resp.StatusCode, ct)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body(t, resp), &m); err != nil {
		t.Fatal(err)
	}
	var man smartlinks.Manifest
	raw, _ := json.Marshal(m)
	_ = json.Unmarshal(raw, &man)
	for _, k := range []string{"transactionTime", "request", "output", "error"} {
		if _, ok := m[k]; !ok {
			t.Errorf("manifest lacks %q", k)
		}
	}
	if !offsetRule.MatchString(man.TransactionTime) {
		t.Errorf("transactionTime %q is not an ISO 8601 instant", man.TransactionTime)
	}
	if man.Request != base+fhirapi.ManifestPath || !strings.HasSuffix(man.Request, "$bulk-publish") {
		t.Errorf("request = %q, want the manifest's own absolute URL", man.Request)
	}
	types := map[string]bool{}
	for _, o := range man.Output {
		if o.Type != "Location" && o.Type != "Schedule" && o.Type != "Slot" || !strings.HasPrefix(o.URL, base+"/") {
			t.Errorf("output entry %+v", o)
		}
		types[o.Type] = true
	}
	if len(types) != 3 {
		t.Errorf("manifest links types %v, want Location, Schedule and Slot", types)
	}
	v := &validator{t: t, base: base, ids: map[string]map[string]bool{}, counts: map[string]int{}}
	for _, typ := range []string{"Location", "Schedule", "Slot"} {
		for _, o := range man.Output {
			if o.Type == typ {
				v.file(typ, o.URL)
			}
		}
	}
	return v.counts
}

type validator struct {
	t      *testing.T
	base   string
	ids    map[string]map[string]bool
	counts map[string]int
}

func (v *validator) file(typ, url string) {
	resp := fetch(v.t, url)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/fhir+ndjson" {
		v.t.Fatalf("%s: %d %s", url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(bytes.NewReader(body(v.t, resp)))
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		var res map[string]any
		if err := json.Unmarshal(sc.Bytes(), &res); err != nil {
			v.t.Fatalf("%s line %d: %v", url, line, err)
		}
		if err := v.resource(typ, res); err != nil {
			v.t.Errorf("%s line %d: %v: %s", url, line, err, sc.Bytes())
		}
		v.counts[typ]++
	}
}

func (v *validator) resource(typ string, r map[string]any) error {
	if r["resourceType"] != typ {
		return fmt.Errorf("resourceType %v in a %s file", r["resourceType"], typ)
	}
	id, _ := r["id"].(string)
	if !idRule.MatchString(id) {
		return fmt.Errorf("id %q breaks the id rule", id)
	}
	if v.ids[typ] == nil {
		v.ids[typ] = map[string]bool{}
	}
	if v.ids[typ][id] {
		return fmt.Errorf("%s id %q repeated", typ, id)
	}
	v.ids[typ][id] = true
	switch typ {
	case "Location":
		return checkLocation(r)
	case "Schedule":
		return v.checkSchedule(r)
	}
	return v.checkSlot(r)
}

func checkLocation(r map[string]any) error {
	if s, _ := r["name"].(string); s == "" {
		return fmt.Errorf("no name")
	}
	telecom, ok := r["telecom"].([]any)
	if !ok {
		return fmt.Errorf("no telecom array")
	}
	for _, c := range telecom {
		cp, _ := c.(map[string]any)
		if cp["system"] == nil || cp["value"] == "" {
			return fmt.Errorf("telecom entry %v", c)
		}
	}
	addr, _ := r["address"].(map[string]any)
	if _, ok := addr["line"].([]any); !ok {
		return fmt.Errorf("address without line array")
	}
	for _, k := range []string{"city", "state", "postalCode"} {
		if s, _ := addr[k].(string); s == "" {
			return fmt.Errorf("address without %s", k)
		}
	}
	if pos, ok := r["position"].(map[string]any); ok {
		if _, ok := pos["latitude"].(float64); !ok {
			return fmt.Errorf("position without latitude")
		}
		if _, ok := pos["longitude"].(float64); !ok {
			return fmt.Errorf("position without longitude")
		}
	}
	return nil
}

func (v *validator) checkSchedule(r map[string]any) error {
	actor, _ := r["actor"].([]any)
	if len(actor) != 1 {
		return fmt.Errorf("actor must hold one reference")
	}
	ref, _ := actor[0].(map[string]any)["reference"].(string)
	if id, ok := smartlinks.RefID(ref, "Location"); !ok || !v.ids["Location"][id] {
		return fmt.Errorf("actor %q is not Location/ID of a published location", ref)
	}
	st, _ := json.Marshal(r["serviceType"])
	if !bytes.Contains(st, []byte(`"code":"57"`)) || !bytes.Contains(st, []byte(`"code":"covid19-immunization"`)) {
		return fmt.Errorf("serviceType %s", st)
	}
	ext, _ := json.Marshal(r["extension"])
	if !bytes.Contains(ext, []byte(smartlinks.ExtVaccineProduct)) || !bytes.Contains(ext, []byte(smartlinks.SystemCVX)) ||
		!bytes.Contains(ext, []byte(smartlinks.ExtVaccineDose)) {
		return fmt.Errorf("extensions %s", ext)
	}
	return nil
}

func (v *validator) checkSlot(r map[string]any) error {
	sched, _ := r["schedule"].(map[string]any)
	ref, _ := sched["reference"].(string)
	if id, ok := smartlinks.RefID(ref, "Schedule"); !ok || !v.ids["Schedule"][id] {
		return fmt.Errorf("schedule %q is not Schedule/ID of a published schedule", ref)
	}
	if r["status"] != "free" && r["status"] != "busy" {
		return fmt.Errorf("status %v", r["status"])
	}
	start, _ := r["start"].(string)
	end, _ := r["end"].(string)
	if !offsetRule.MatchString(start) || !offsetRule.MatchString(end) {
		return fmt.Errorf("start %q or end %q without an offset", start, end)
	}
	s, _ := time.Parse(time.RFC3339, start)
	e, _ := time.Parse(time.RFC3339, end)
	if !e.After(s) {
		return fmt.Errorf("end not after start")
	}
	exts, _ := r["extension"].([]any)
	var link string
	capacity := -1.0
	for _, x := range exts {
		ext, _ := x.(map[string]any)
		switch ext["url"] {
		case smartlinks.ExtBookingDeepLink:
			link, _ = ext["valueUrl"].(string)
		case smartlinks.ExtSlotCapacity:
			capacity, _ = ext["valueInteger"].(float64)
		case smartlinks.ExtBookingPhone:
		default:
			return fmt.Errorf("unknown extension %v", ext["url"])
		}
	}
	if u, err := url.Parse(link); err != nil || !strings.HasPrefix(link, v.base+"/book/slots?") ||
		u.Query().Get("slot") != r["id"].(string) || len(u.Query().Get("zip")) != 5 {
		return fmt.Errorf("deep link %q", link)
	}
	if capacity < 0 || (r["status"] == "free") != (capacity > 0) {
		return fmt.Errorf("capacity %v with status %v", capacity, r["status"])
	}
	return nil
}
