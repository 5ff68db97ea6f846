package searchapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/geo"
	"github.com/vaxbook/vaxbook/internal/httpapi/searchapi"
	"github.com/vaxbook/vaxbook/internal/httpx"
	"github.com/vaxbook/vaxbook/internal/smartlinks"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
)

const riteAid = "../../../../shared/data/smart-scheduling-links/riteaid-nj-2023-03"

var now = time.Date(2027, 1, 3, 12, 0, 0, 0, time.UTC)

func setup(t testing.TB, db *store.DB) http.Handler {
	t.Helper()
	clk := clock.NewFake(now)
	day, _ := smartlinks.ParseDate("2027-01-04")
	if _, err := smartlinks.Import(context.Background(), db, riteAid, smartlinks.Options{ShiftTo: &day, Clock: clk}); err != nil {
		t.Fatal(err)
	}
	ix, err := geo.NewIndex(geo.IndexConfig{DB: db, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := httpx.NewRouter()
	searchapi.New(ix, nil).Register(r)
	return r
}

func get(t testing.TB, h http.Handler, target string, out any) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	if out != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			t.Fatalf("GET %s: %v in %s", target, err, rec.Body)
		}
	}
	return rec
}

type page struct {
	AsOf  string `json:"as_of"`
	Slots []struct {
		ID   int64 `json:"id"`
		Site struct {
			ID         int64   `json:"id"`
			Name       string  `json:"name"`
			Address    string  `json:"address"`
			PostalCode string  `json:"postal_code"`
			TimeZone   string  `json:"time_zone"`
			DistanceKm float64 `json:"distance_km"`
		} `json:"site"`
		Start   string `json:"start"`
		End     string `json:"end"`
		Vaccine struct {
			Code string `json:"code"`
			Name string `json:"name"`
		} `json:"vaccine"`
		Dose      int `json:"dose"`
		Capacity  int `json:"capacity"`
		Remaining int `json:"remaining"`
	} `json:"slots"`
	NextCursor *string `json:"next_cursor"`
}

func TestSlotsNear08332(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		h := setup(t, db)
		addresses := []string{}
		seen := map[int64]bool{}
		target := "/v1/slots?near=08332&radius_km=25&limit=20"
		for pages := 0; target != ""; pages++ {
			var p page
			rec := get(t, h, target, &p)
			if rec.Code != http.StatusOK || p.AsOf != now.Format(time.RFC3339Nano) {
				t.Fatalf("GET %s = %d as_of %q: %s", target, rec.Code, p.AsOf, rec.Body)
			}
			for _, s := range p.Slots {
				if !seen[s.Site.ID] {
					seen[s.Site.ID] = true
					addresses = append(addresses, s.Site.Address)
				}
				if !strings.HasSuffix(s.Start, "-05:00") || s.Site.TimeZone != "America/New_York" ||
					s.Remaining <= 0 || s.Vaccine.Code != "213" || s.Dose != 1 || s.Site.DistanceKm > 25 {
					t.Errorf("slot %+v", s)
				}
			}
			target = ""
			if p.NextCursor != nil {
				target = "/v1/slots?near=08332&radius_km=25&limit=20&cursor=" + *p.NextCursor
			}
		}
		want := []string{"907 North High Street", "2791 S Delsea Drive", "1889 South Lincoln Avenue",
			"7 West Landis Avenue", "970 North Main Road", "1070 North Pearl Street", "52 East Broad Street"}
		if strings.Join(addresses, "|") != strings.Join(want, "|") {
			t.Errorf("stores near 08332:\n got %v\nwant %v", addresses, want)
		}
		var first page
		get(t, h, "/v1/slots?lat=39.4056&lng=-75.0392&radius_km=1&limit=1", &first)
		if len(first.Slots) != 1 || first.Slots[0].Site.DistanceKm != 0 ||
			first.Slots[0].Start != "2027-01-05T10:00:00-05:00" || first.Slots[0].Capacity != 33 {
			t.Errorf("first open slot at the Millville store = %+v", first.Slots)
		}
	})
}

func TestSlotsBadParameters(t *testing.T) {
	t.Parallel()
	h := setup(t, storetest.Open(t, store.SQLite))
	for query, field := range map[string]string{
		"":                                   "near",
		"near=0833":                          "near",
		"near=08332&lat=39&lng=-75":          "near",
		"lat=39":                             "lng",
		"lat=91&lng=0":                       "lat",
		"lat=x&lng=0":                        "lat",
		"near=08332&radius_km=0":             "radius_km",
		"near=08332&radius_km=501":           "radius_km",
		"near=08332&radius_km=NaN":           "radius_km",
		"near=08332&limit=0":                 "limit",
		"near=08332&limit=201":               "limit",
		"near=08332&limit=2.5":               "limit",
		"near=08332&dose=0":                  "dose",
		"near=08332&vaccine=moderna":         "vaccine",
		"near=08332&from=tomorrow":           "from",
		"near=08332&to=2027-02-30T00:00:00Z": "to",
		"near=08332&from=2027-01-05T00:00:00Z&to=2027-01-04T00:00:00Z": "to",
		"near=08332&cursor=abc": "cursor",
		"near=08332&sort=price": "sort",
		"near=08332&near=08333": "near",
		"near=01101":            "near",
	} {
		var prob struct {
			Type   string `json:"type"`
			Status int    `json:"status"`
			Detail string `json:"detail"`
			Errors []struct {
				Field string `json:"field"`
			} `json:"errors"`
		}
		rec := get(t, h, "/v1/slots?"+query, &prob)
		if rec.Code != http.StatusBadRequest || prob.Type != httpx.ProblemBase+"invalid-request" ||
			rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%q: %d %s", query, rec.Code, rec.Body)
			continue
		}
		named := false
		for _, e := range prob.Errors {
			named = named || e.Field == field
		}
		if !named {
			t.Errorf("%q: problem does not name %q: %s", query, field, rec.Body)
		}
		if query == "near=01101" && !strings.Contains(prob.Detail, "01101 has no known location") {
			t.Errorf("unknown ZIP detail = %q", prob.Detail)
		}
	}
	// A timestamp whose "+" was not escaped still parses.
	if rec := get(t, h, "/v1/slots?near=08332&from=2027-01-04T09:00:00+01:00", nil); rec.Code != http.StatusOK {
		t.Errorf("from with an unescaped +: %d %s", rec.Code, rec.Body)
	}
}

func TestSite(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t, store.SQLite)
	h := setup(t, db)
	var p page
	get(t, h, "/v1/slots?near=08332&limit=1", &p)
	var site struct {
		ID         int64  `json:"id"`
		Name       string `json:"name"`
		City       string `json:"city"`
		State      string `json:"state"`
		Region     string `json:"region"`
		PostalCode string `json:"postal_code"`
		Phone      string `json:"phone"`
	}
	target := "/v1/sites/" + itoa(p.Slots[0].Site.ID)
	if rec := get(t, h, target, &site); rec.Code != http.StatusOK || site.City != "Millville" ||
		site.State != "NJ" || site.Region != "NJ" || site.PostalCode != "08332" || site.Phone != "(856) 825-7742" {
		t.Errorf("GET %s = %d %+v", target, rec.Code, site)
	}
	// A site created after the index's last reload is readable at once.
	_, err := db.Write.Exec(`INSERT INTO sites (id, region, name, postal_code, lat, lng, time_zone, external_id)
		VALUES (5000, 'NJ', 'New Clinic', '08332', 39.4, -75.0, 'America/New_York', 'new')`)
	if err != nil {
		t.Fatal(err)
	}
	if rec := get(t, h, "/v1/sites/5000", &site); rec.Code != http.StatusOK || site.Name != "New Clinic" {
		t.Errorf("a new site: %d %+v", rec.Code, site)
	}
	if rec := get(t, h, "/v1/sites/999999", nil); rec.Code != http.StatusNotFound {
		t.Errorf("unknown site: %d", rec.Code)
	}
	if rec := get(t, h, "/v1/sites/abc", nil); rec.Code != http.StatusBadRequest {
		t.Errorf("bad site id: %d", rec.Code)
	}
}

func TestNotReady(t *testing.T) {
	t.Parallel()
	ix, err := geo.NewIndex(geo.IndexConfig{DB: storetest.Open(t, store.SQLite)})
	if err != nil {
		t.Fatal(err)
	}
	r := httpx.NewRouter()
	searchapi.New(ix, nil).Register(r)
	rec := get(t, r, "/v1/slots?near=08332", nil)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" {
		t.Errorf("before the first refresh: %d %v", rec.Code, rec.Header())
	}
}

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	t.Parallel()
	m := searchapi.New(nil, nil)
	r := httpx.NewRouter()
	m.Register(r)
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

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// BenchmarkSlotsHTTP measures GET /v1/slots requests per second through
// the handler (no network): near 08332, 25 km, first page of 50.
func BenchmarkSlotsHTTP(b *testing.B) {
	h := setup(b, storetest.Open(b, store.SQLite))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/slots?near=08332&radius_km=25", nil))
			if rec.Code != http.StatusOK {
				b.Fatal(rec.Code)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "requests/s")
}
