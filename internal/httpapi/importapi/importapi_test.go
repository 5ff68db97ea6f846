package importapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vaxbook/vaxbook/internal/app"
	"github.com/vaxbook/vaxbook/internal/app/apptest"
	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/httpapi/importapi"
	"github.com/vaxbook/vaxbook/internal/httpx"
	"github.com/vaxbook/vaxbook/internal/smartlinks"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
)

const exampleMA = "../../../../shared/data/smart-scheduling-links/example-ma"

// githubBase is where the example's manifest says its files are.
const githubBase = "https://raw.githubusercontent.com/smart-on-fhir/smart-scheduling-links/master/examples"

// serveExample serves a copy of example-ma on 127.0.0.1 whose manifest
// names the server itself, as a publisher's own manifest does. /elsewhere
// redirects to away, another origin.
func serveExample(t *testing.T, away string) *httptest.Server {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(exampleMA)); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServer(http.Dir(dir)))
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, away+"/$bulk-publish", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	manifest := filepath.Join(dir, smartlinks.ManifestName)
	body, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(manifest, []byte(strings.ReplaceAll(string(body), githubBase, srv.URL)), 0o644); err != nil {
		t.Fatal(err)
	}
	return srv
}

type client struct {
	t     *testing.T
	url   string
	token string
}

func (c client) post(body string) (int, map[string]any) {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.url+"/v1/admin/imports", strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		c.t.Fatalf("body %q: %v", raw, err)
	}
	return resp.StatusCode, out
}

func manifestBody(u string) string {
	b, _ := json.Marshal(map[string]string{"manifest_url": u})
	return string(b)
}

// TestImportOverHTTPEndToEnd imports example-ma from an allowed host
// through the running service, on both engines.
func TestImportOverHTTPEndToEnd(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			var awayHits atomic.Int32
			away := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				awayHits.Add(1)
			}))
			t.Cleanup(away.Close)
			feed := serveExample(t, away.URL)
			host := strings.TrimPrefix(feed.URL, "http://")
			svc := apptest.Start(t, apptest.Options{Engine: engine, NoDemo: true, Configure: func(c *app.Config) {
				c.ImportHosts = []string{host}
			}})
			ctx := context.Background()
			adminTok, adminID, err := svc.Identity.CreateStaffToken(ctx, "system", httpx.RoleAdmin, 0)
			if err != nil {
				t.Fatal(err)
			}
			supportTok, _, err := svc.Identity.CreateStaffToken(ctx, "system", httpx.RoleSupport, 0)
			if err != nil {
				t.Fatal(err)
			}
			admin := client{t, svc.URL, adminTok}

			if status, _ := (client{t, svc.URL, supportTok}).post(manifestBody(feed.URL + "/$bulk-publish")); status != http.StatusForbidden {
				t.Errorf("support role: status %d, want 403", status)
			}
			status, rep := admin.post(manifestBody(feed.URL + "/$bulk-publish"))
			if status != http.StatusOK {
				t.Fatalf("import: status %d, body %v", status, rep)
			}
			if rep["sites"] != 8.0 || rep["slots_stored"] != 240.0 || rep["source"] != host {
				t.Errorf("report: sites %v, slots %v, source %v; want 8, 240, %s", rep["sites"], rep["slots_stored"], rep["source"], host)
			}
			if skipped := rep["skipped"].(map[string]any); skipped["location_no_coordinates"] != 2.0 {
				t.Errorf("skipped %v; want the two clinics without coordinates", skipped)
			}
			var slots, audits int
			if err := svc.DB.Read.QueryRow("SELECT COUNT(*) FROM slots").Scan(&slots); err != nil {
				t.Fatal(err)
			}
			err = svc.DB.Read.QueryRow("SELECT COUNT(*) FROM audit_log WHERE action = 'inventory.imported' AND actor = '" +
				"staff:" + adminID + "'").Scan(&audits)
			if err != nil {
				t.Fatal(err)
			}
			if slots != 240 || audits != 1 {
				t.Errorf("slots %d, audit records by the admin %d; want 240, 1", slots, audits)
			}
			// Importing again changes nothing.
			if status, rep := admin.post(manifestBody(feed.URL + "/$bulk-publish")); status != http.StatusOK ||
				rep["slots"].(map[string]any)["unchanged"] != 240.0 {
				t.Errorf("second import: status %d, slots %v; want 240 unchanged", status, rep["slots"])
			}
			// An allowed host cannot redirect the importer to another one.
			if status, rep := admin.post(manifestBody(feed.URL + "/elsewhere")); status != http.StatusBadRequest ||
				!strings.Contains(rep["detail"].(string), "redirect to another origin refused") {
				t.Errorf("redirected manifest: status %d, body %v; want 400 naming the refused redirect", status, rep)
			}
			if status, _ := admin.post(manifestBody(away.URL + "/$bulk-publish")); status != http.StatusBadRequest {
				t.Errorf("host not on the list: status %d, want 400", status)
			}
			if n := awayHits.Load(); n != 0 {
				t.Errorf("a host not on the list was asked %d times", n)
			}
		})
	}
}

// staffOnly authenticates the token "admin" as an admin and "clinic" as
// clinic staff.
type staffOnly struct{}

func (staffOnly) Citizen(context.Context, string) (httpx.Principal, error) {
	return httpx.Principal{}, apperr.New("unauthenticated", "no citizens here")
}

func (staffOnly) Staff(_ context.Context, token string) (httpx.Principal, error) {
	if token == "admin" || token == "clinic" {
		return httpx.Principal{StaffID: "s-" + token, Role: token}, nil
	}
	return httpx.Principal{}, apperr.New("unauthenticated", "unknown token")
}

func handler(t *testing.T, hosts ...string) http.Handler {
	t.Helper()
	m, err := importapi.New(importapi.Config{Auth: staffOnly{}, Hosts: hosts})
	if err != nil {
		t.Fatal(err)
	}
	r := httpx.NewRouter()
	m.Register(r)
	return r
}

func call(t *testing.T, h http.Handler, token, body string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/v1/admin/imports", bytes.NewBufferString(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// TestRefusals checks every request refused before anything is fetched:
// none of them reaches the importer (the module has no database, so one
// that did would fail with 500).
func TestRefusals(t *testing.T) {
	t.Parallel()
	if status, body := call(t, handler(t), "admin", manifestBody("https://feed.example/$bulk-publish")); status != 400 ||
		!strings.Contains(body, "--import-hosts") || !strings.Contains(body, "VAXBOOK_IMPORT_HOSTS") {
		t.Errorf("empty allow-list: %d %s; want 400 saying how to allow a host", status, body)
	}
	h := handler(t, "feed.example:443", "127.0.0.1:8081")
	for _, c := range []struct {
		name, token, body string
		status            int
	}{
		{"no token", "", manifestBody("https://feed.example/$bulk-publish"), 401},
		{"clinic role", "clinic", manifestBody("https://feed.example/$bulk-publish"), 403},
		{"local path", "admin", manifestBody("/etc/passwd"), 400},
		{"file URL", "admin", manifestBody("file:///etc/passwd"), 400},
		{"other scheme", "admin", manifestBody("ftp://feed.example/$bulk-publish"), 400},
		{"credentials", "admin", manifestBody("https://u:p@feed.example/$bulk-publish"), 400},
		{"host not allowed", "admin", manifestBody("https://169.254.169.254/$bulk-publish"), 400},
		{"allowed host, other port", "admin", manifestBody("http://feed.example/$bulk-publish"), 400},
		{"allowed address, other port", "admin", manifestBody("http://127.0.0.1:8082/$bulk-publish"), 400},
		{"unknown field", "admin", `{"manifest_url":"https://feed.example/$bulk-publish","shift_to":"2027-01-04"}`, 400},
		{"not JSON", "admin", `manifest_url=x`, 400},
		{"empty", "admin", `{}`, 400},
	} {
		if status, body := call(t, h, c.token, c.body); status != c.status {
			t.Errorf("%s: %d %s; want %d", c.name, status, body, c.status)
		}
	}
	if _, err := importapi.New(importapi.Config{Hosts: []string{"feed.example"}}); err == nil {
		t.Errorf("an allow-list entry without a port was accepted")
	}
}
