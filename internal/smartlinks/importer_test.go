package smartlinks_test

import (
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/smartlinks"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
)

const data = "../../../shared/data/smart-scheduling-links/"

func setup(t *testing.T) smartlinks.Options {
	t.Helper()
	return smartlinks.Options{Clock: clock.NewFake(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))}
}

func count(t *testing.T, db *store.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.Read.QueryRow(store.RebindFor(db.Dialect, query), args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func mustImport(t *testing.T, db *store.DB, source string, opts smartlinks.Options) smartlinks.Report {
	t.Helper()
	rep, err := smartlinks.Import(context.Background(), db, source, opts)
	if err != nil {
		t.Fatalf("import %s: %v", source, err)
	}
	return rep
}

func wantMap(t *testing.T, what string, got, want map[string]int) {
	t.Helper()
	if !maps.Equal(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func TestImportExampleMA(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		opts := setup(t)
		rep := mustImport(t, db, data+"example-ma", opts)
		if rep.Sites != 8 || rep.SlotsStored != 240 || rep.Slots.Inserted != 240 || rep.Locations.Read != 10 {
			t.Errorf("sites %d slots %d inserted %d read %d; want 8, 240, 240, 10",
				rep.Sites, rep.SlotsStored, rep.Slots.Inserted, rep.Locations.Read)
		}
		// 01101 and 02269 are PO-box ZIPs with no census centroid and the
		// feed has no position: those two clinics cannot be placed on a map.
		wantMap(t, "skipped", rep.Skipped, map[string]int{
			"location_no_coordinates": 2, "schedule_location_skipped": 2, "slot_schedule_skipped": 60})
		wantMap(t, "notes", rep.Notes, map[string]int{"coordinates_from_zip_centroid": 8})
		if n := count(t, db, "SELECT COUNT(*) FROM slots WHERE vaccine_code = '207' AND dose = 1 AND capacity = 100 AND remaining = 100"); n != 240 {
			t.Errorf("Moderna dose-1 slots with capacity 100 = %d, want 240", n)
		}
		if n := count(t, db, "SELECT COUNT(*) FROM sites WHERE time_zone = 'America/New_York' AND region = 'MA' AND postal_code = '02114'"); n != 1 {
			t.Errorf("Boston site rows = %d, want 1", n)
		}
		if n := count(t, db, "SELECT COUNT(*) FROM audit_log WHERE action = 'inventory.imported'"); n != 1 {
			t.Errorf("audit records = %d, want 1", n)
		}
	})
}

func TestImportRiteAidTwice(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		opts := setup(t)
		day, _ := smartlinks.ParseDate("2027-01-04")
		opts.ShiftTo = &day
		first := mustImport(t, db, data+"riteaid-nj-2023-03", opts)
		if first.Sites != 112 || first.SlotsStored != 1542 || first.Slots.Inserted != 1542 || first.Regions != 1 {
			t.Errorf("first import: %d sites, %d slots, %d inserted, %d regions; want 112, 1542, 1542, 1",
				first.Sites, first.SlotsStored, first.Slots.Inserted, first.Regions)
		}
		wantMap(t, "skipped", first.Skipped, map[string]int{"output_file_missing": 48})
		wantMap(t, "notes", first.Notes, map[string]int{
			"dose_outside_series_set_to_1": 112, "postal_code_leading_zero_restored": 112,
			"product_missing_set_to_213": 112, "slot_busy_kept_with_capacity_0": 112})
		if first.Shift == nil || first.Shift.FirstDay.String() != "2023-03-24" || first.Shift.Days != 1382 {
			t.Errorf("shift = %+v, want first day 2023-03-24 moved 1382 days", first.Shift)
		}
		second := mustImport(t, db, data+"riteaid-nj-2023-03/$bulk-publish", opts)
		if second.Slots.Unchanged != 1542 || second.Slots.Inserted != 0 || second.Locations.Unchanged != 112 {
			t.Errorf("second import: %+v %+v, want everything unchanged", second.Slots, second.Locations)
		}
		for query, want := range map[string]int{
			"SELECT COUNT(*) FROM sites":                                112,
			"SELECT COUNT(*) FROM slots":                                1542,
			"SELECT COUNT(*) FROM regions WHERE jurisdiction = 'NJ'":    1,
			"SELECT COUNT(*) FROM slots WHERE capacity = 0":             112,
			"SELECT COUNT(*) FROM sites WHERE postal_code = '08332'":    1,
			"SELECT COUNT(*) FROM sites WHERE LENGTH(postal_code) <> 5": 0,
		} {
			if got := count(t, db, query); got != want {
				t.Errorf("%s = %d, want %d", query, got, want)
			}
		}
		// The Millville store's first slot was 08:00-05:00 on 2023-03-24, which
		// is 09:00 New York time (EDT); shifted, it is 09:00 on 2027-01-04
		// (EST), i.e. 14:00 UTC.
		want := time.Date(2027, 1, 4, 14, 0, 0, 0, time.UTC).UnixMicro()
		if n := count(t, db, `SELECT COUNT(*) FROM slots s JOIN sites t ON t.id = s.site_id
			WHERE t.external_id = '116' AND s.start_us = ?`, want); n != 1 {
			t.Errorf("shifted Millville slot at 09:00 local on 2027-01-04: %d rows, want 1", n)
		}
	})
}

func TestReimportKeepsCapacityAboveSeatsTaken(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		opts := setup(t)
		dir := t.TempDir()
		writeFeed(t, dir, feedFiles(30))
		mustImport(t, db, dir, opts)
		// 25 of 30 seats are taken (booked or held).
		exec(t, db, "UPDATE slots SET remaining = 5")
		before := count(t, db, "SELECT MAX(updated_us) FROM slots")
		opts.Clock.(*clock.Fake).Advance(time.Minute)
		writeFeed(t, dir, feedFiles(10))
		rep := mustImport(t, db, dir, opts)
		if rep.Notes["capacity_kept_at_seats_taken"] != 1 || rep.Slots.Updated != 1 {
			t.Errorf("report %+v notes %v; want one update kept at seats taken", rep.Slots, rep.Notes)
		}
		if n := count(t, db, "SELECT COUNT(*) FROM slots WHERE capacity = 25 AND remaining = 0"); n != 1 {
			t.Errorf("slot not at capacity 25 with 0 remaining")
		}
		if after := count(t, db, "SELECT MAX(updated_us) FROM slots"); after <= before {
			t.Errorf("updated_us not bumped: %d then %d", before, after)
		}
		writeFeed(t, dir, feedFiles(40))
		mustImport(t, db, dir, opts)
		if n := count(t, db, "SELECT COUNT(*) FROM slots WHERE capacity = 40 AND remaining = 15"); n != 1 {
			t.Errorf("raising capacity to 40 with 25 taken should leave 15 remaining")
		}
	})
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

func writeFeed(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func feedFiles(capacity int) map[string]string {
	return map[string]string{
		"$bulk-publish": `{"transactionTime":"2026-12-01T00:00:00Z","request":"https://feed.example/x/$bulk-publish",
			"output":[{"type":"Slot","url":"slots.ndjson"},{"type":"Location","url":"https://feed.example/x/locations.ndjson"},
			{"type":"Schedule","url":"schedules.ndjson"}],"error":[]}`,
		"locations.ndjson": `{"resourceType":"Location","id":"a","name":"Clinic A","telecom":[{"system":"phone","value":"1"}],"address":{"line":["1 Main St"],"city":"Boston","state":"MA","postalCode":"2114"}}`,
		"schedules.ndjson": `{"resourceType":"Schedule","id":"s","actor":[{"reference":"Location/a"}],"extension":[{"url":"` +
			smartlinks.ExtVaccineProduct + `","valueCoding":{"system":"` + smartlinks.SystemCVX + `","code":"208"}},{"url":"` +
			smartlinks.ExtVaccineDose + `","valueInteger":2}]}`,
		"slots.ndjson": `{"resourceType":"Slot","id":"1","schedule":{"reference":"Schedule/s"},"status":"free","start":"2027-01-10T09:00:00-05","end":"2027-01-10T17:00-0500","extension":[{"url":"` +
			smartlinks.ExtSlotCapacity + `","valueInteger":` + strconv.Itoa(capacity) + `}]}`,
	}
}

// TestImportSurvivesFaults feeds one of every fault the importer must
// survive and checks each is counted under its own reason.
func TestImportSurvivesFaults(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		opts := setup(t)
		dir := t.TempDir()
		loc := func(id, extra string) string {
			return `{"resourceType":"Location","id":"` + id + `","name":"Store ` + id + `","telecom":[],"address":{"line":["x"],"city":"c","state":"NJ","postalCode":"8332-3762"}` + extra + `}`
		}
		sched := func(id, locRef string) string {
			return `{"resourceType":"Schedule","id":"` + id + `","actor":[{"reference":"` + locRef + `"}]}`
		}
		slot := func(sched, status, start, end string) string {
			return `{"resourceType":"Slot","id":"1","schedule":{"reference":"` + sched + `"},"status":"` + status + `","start":"` + start + `","end":"` + end + `"}`
		}
		writeFeed(t, dir, map[string]string{
			"feed/$bulk-publish": `{"request":"https://x.example/feed/$bulk-publish/","output":[
				{"type":"Location","url":"https://x.example/feed/l.ndjson"},
				{"type":"Location","url":"https://x.example/feed/absent.ndjson"},
				{"type":"Location","url":"https://x.example/secret.ndjson"},
				{"type":"Location","url":"https://x.example/feed/../secret.ndjson"},
				{"type":"Location","url":"https://other.example/feed/l.ndjson"},
				{"type":"Schedule","url":"s.ndjson"},
				{"type":"Slot","url":"states/slots/NJ.ndjson"},
				{"type":"Patient","url":"p.ndjson"}]}`,
			"secret.ndjson": loc("outside", ""),
			"feed/l.ndjson": strings.Join([]string{
				loc("1", `,"position":{"latitude":39.4,"longitude":-75.0}`),
				loc("2", ""),
				loc("1", ""),
				`{"resourceType":"Location","id":"3","name":"no state","address":{"state":"ZZ","postalCode":"08332"}}`,
				`{"resourceType":"Location","id":"4","name":"nowhere","address":{"state":"NJ","postalCode":"x"}}`,
				`{"resourceType":"Location","id":"5","address":{"state":"NJ","postalCode":"08332"}}`,
				`{"resourceType":"Slot","id":"6"}`,
				`{not json`,
				"",
				strings.Repeat("x", 2<<20),
			}, "\n"),
			"feed/s.ndjson": strings.Join([]string{
				sched("a", "Location/1"), sched("b", "Location/2"), sched("a", "Location/2"),
				sched("c", "Location/4"), sched("d", "Location/99"), sched("e", "Patient/1"),
			}, "\n"),
			"feed/states/slots/NJ.ndjson": strings.Join([]string{
				slot("Schedule/a", "free", "2027-01-04T08:00:00-05:00", "2027-01-04T22:00:00-05:00"),
				// The same id on the next day is a different slot.
				slot("Schedule/a", "free", "2027-01-05T08:00:00-05:00", "2027-01-05T22:00:00-05:00"),
				slot("Schedule/a", "free", "2027-01-05T08:00:00-05:00", "2027-01-05T20:00:00-05:00"),
				slot("Schedule/b", "busy", "2027-01-04T08:00:00-05:00", "2027-01-04T22:00:00-05:00"),
				slot("Schedule/c", "free", "2027-01-04T08:00:00-05:00", "2027-01-04T22:00:00-05:00"),
				slot("Schedule/zz", "free", "2027-01-04T08:00:00-05:00", "2027-01-04T22:00:00-05:00"),
				slot("Schedule/a", "free", "2027-01-04", "2027-01-05"),
				slot("Schedule/a", "free", "2027-01-06T10:00:00Z", "2027-01-06T09:00:00Z"),
				slot("Schedule/a", "entered-in-error", "2027-01-07T10:00:00Z", "2027-01-07T11:00:00Z"),
			}, "\n"),
		})
		rep := mustImport(t, db, filepath.Join(dir, "feed"), opts)
		wantMap(t, "skipped", rep.Skipped, map[string]int{
			"output_file_missing": 1, "output_outside_manifest_folder": 3, "output_unknown_type": 1,
			"location_duplicate_id": 1, "location_unknown_state": 1, "location_no_coordinates": 1,
			"location_missing_name": 1, "location_wrong_resource_type": 1, "location_invalid_json": 1,
			"location_line_too_long": 1,
			"schedule_duplicate_id":  1, "schedule_location_skipped": 1, "schedule_unknown_location": 1,
			"schedule_bad_actor_reference":      1,
			"slot_duplicate_schedule_and_start": 1, "slot_schedule_skipped": 1, "slot_unknown_schedule": 1,
			"slot_bad_time": 1, "slot_end_not_after_start": 1, "slot_unsupported_status": 1,
		})
		if rep.Locations.Read != 9 || rep.Locations.Skipped != 7 || rep.Sites != 2 {
			t.Errorf("locations %+v sites %d; want 9 read, 7 skipped, 2 stored", rep.Locations, rep.Sites)
		}
		if rep.Slots.Read != 9 || rep.Slots.Skipped != 6 || rep.SlotsStored != 3 {
			t.Errorf("slots %+v stored %d; want 9 read, 6 skipped, 3 stored", rep.Slots, rep.SlotsStored)
		}
		if n := count(t, db, "SELECT COUNT(*) FROM sites WHERE postal_code = '08332'"); n != 2 {
			t.Errorf("sites with restored ZIP 08332 = %d, want 2", n)
		}
		if n := count(t, db, "SELECT COUNT(*) FROM sites WHERE name = 'Store outside'"); n != 0 {
			t.Errorf("a file outside the manifest folder was read")
		}
		if n := count(t, db, "SELECT COUNT(*) FROM slots WHERE capacity = 0"); n != 1 {
			t.Errorf("busy slots kept with capacity 0 = %d, want 1", n)
		}
	})
}

func TestImportOverHTTP(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		opts := setup(t)
		// The manifest names GitHub; a copy served from 127.0.0.1 names
		// itself, as a publisher's own manifest does.
		body, err := os.ReadFile(data + "example-ma/$bulk-publish")
		if err != nil {
			t.Fatal(err)
		}
		var manifest string
		mux := http.NewServeMux()
		mux.Handle("/", http.FileServer(http.Dir(data+"example-ma")))
		mux.HandleFunc("/missing.ndjson", http.NotFound)
		mux.HandleFunc("/$bulk-publish", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(manifest))
		})
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		manifest = strings.ReplaceAll(string(body),
			"https://raw.githubusercontent.com/smart-on-fhir/smart-scheduling-links/master/examples", srv.URL)
		// One file is gone; one lies on another host (localhost:1, so a
		// broken check would only knock on a closed local port).
		manifest = strings.Replace(manifest, `"output": [`,
			`"output": [{"type":"Slot","url":"missing.ndjson"},{"type":"Slot","url":"http://localhost:1/x.ndjson"},`, 1)
		rep := mustImport(t, db, srv.URL+"/$bulk-publish", opts)
		if rep.Sites != 8 || rep.SlotsStored != 240 {
			t.Errorf("over HTTP: %d sites, %d slots; want 8, 240", rep.Sites, rep.SlotsStored)
		}
		wantMap(t, "skipped", rep.Skipped, map[string]int{"output_file_missing": 1, "output_on_other_host": 1,
			"location_no_coordinates": 2, "schedule_location_skipped": 2, "slot_schedule_skipped": 60})
	})
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	want := time.Date(2021, 3, 10, 20, 0, 0, 0, time.UTC)
	for _, s := range []string{"2021-03-10T15:00:00-05", "2021-03-10T15:00:00-0500", "2021-03-10T15:00:00-05:00",
		"2021-03-10T20:00:00.000Z", "2021-03-10T15:00-05:00"} {
		got, err := smartlinks.ParseTime(s)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"2021-03-10", "2021-03-10T15:00:00", "yesterday", "2021-13-10T15:00:00Z"} {
		if _, err := smartlinks.ParseTime(s); err == nil {
			t.Errorf("ParseTime(%q) accepted", s)
		}
	}
}
