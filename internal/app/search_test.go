package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/app/apptest"
	"github.com/vaxbook/vaxbook/internal/smartlinks"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
)

// TestSearchAndPublicationServed checks the app serves slot search from
// the running index and publishes the same inventory, which our importer
// reads back whole.
func TestSearchAndPublicationServed(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			svc := apptest.Start(t, apptest.Options{Engine: engine})
			c := &client{t: t, base: svc.URL}
			var page struct {
				Slots []struct {
					Start string `json:"start"`
					Site  struct {
						PostalCode string `json:"postal_code"`
						TimeZone   string `json:"time_zone"`
					} `json:"site"`
				} `json:"slots"`
			}
			// The index refreshes on its own every half second.
			deadline := time.Now().Add(10 * time.Second)
			for len(page.Slots) == 0 && time.Now().Before(deadline) {
				r := c.do("GET", "/v1/slots?near=02114&radius_km=100", nil)
				if r.status == http.StatusOK {
					_ = json.Unmarshal(r.body, &page)
				}
				if len(page.Slots) == 0 {
					time.Sleep(100 * time.Millisecond)
				}
			}
			if len(page.Slots) == 0 || page.Slots[0].Site.TimeZone != "America/New_York" ||
				!strings.HasPrefix(page.Slots[0].Site.PostalCode, "0") {
				t.Fatalf("no Massachusetts slots near 02114: %+v", page)
			}
			if r := c.do("GET", "/v1/slots?near=1", nil); r.status != http.StatusBadRequest || r.problem() != "invalid-request" {
				t.Errorf("bad ZIP: %d %s", r.status, r.body)
			}
			r := c.do("GET", "/fhir/$bulk-publish", nil)
			var m smartlinks.Manifest
			if err := json.Unmarshal(r.body, &m); err != nil || m.Request != svc.URL+"/fhir/$bulk-publish" {
				t.Fatalf("manifest: %d %s", r.status, r.body)
			}
			other := storetest.Open(t, store.SQLite)
			rep, err := smartlinks.Import(context.Background(), other, m.Request, smartlinks.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var sites, slots int
			_ = svc.DB.Read.QueryRow("SELECT COUNT(*) FROM sites").Scan(&sites)
			_ = svc.DB.Read.QueryRow(store.RebindFor(svc.DB.Dialect, "SELECT COUNT(*) FROM slots WHERE end_us > ?"),
				time.Now().UnixMicro()).Scan(&slots)
			if rep.Sites != sites || rep.SlotsStored != slots || rep.SkippedTotal() != 0 {
				t.Errorf("publication re-imported: %d sites, %d slots, skipped %v; the service has %d and %d",
					rep.Sites, rep.SlotsStored, rep.Skipped, sites, slots)
			}
			doc := c.do("GET", "/openapi.json", nil)
			for _, path := range []string{`"/v1/slots"`, `"/v1/sites/{id}"`, `"/fhir/$bulk-publish"`, `"/fhir/slots.ndjson"`} {
				if !strings.Contains(string(doc.body), path) {
					t.Errorf("openapi.json does not document %s", path)
				}
			}
		})
	}
}
