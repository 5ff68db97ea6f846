package web

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/httpx"
	"github.com/vaxbook/vaxbook/internal/identity"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
)

func setup(t *testing.T) *httptest.Server {
	t.Helper()
	db := storetest.Open(t, store.SQLite)
	keys := pii.TestKeys()
	clk := clock.NewFake(time.Date(2026, 3, 2, 13, 0, 0, 0, time.UTC))
	w, err := New(Config{Log: slog.New(slog.DiscardHandler), Clock: clk, Keys: keys,
		Identity: identity.New(db, keys, clk), PublicURL: "http://127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	r := httpx.NewRouter()
	w.Register(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestStartPageHeadersAndAssets(t *testing.T) {
	t.Parallel()
	srv := setup(t)
	resp, body := get(t, srv.Client(), srv.URL+"/")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("csp %q", csp)
	}
	if !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, "What you need") {
		t.Errorf("start page body lacks the English content")
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, "style=") {
		t.Errorf("inline script or style on the start page")
	}
	i := strings.Index(body, `/static/`)
	j := strings.Index(body[i:], `"`)
	css := body[i : i+j]
	resp, _ = get(t, srv.Client(), srv.URL+css)
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("asset %s: %d %q", css, resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	stale := strings.Replace(css, "/static/", "/static/000000000000", 1)
	if resp, _ = get(t, srv.Client(), srv.URL+stale); resp.StatusCode != 404 {
		t.Errorf("stale asset path answered %d", resp.StatusCode)
	}
}

func TestLanguageSwitch(t *testing.T) {
	t.Parallel()
	srv := setup(t)
	c := client(t)
	resp, body := get(t, c, srv.URL+"/lang/es?next=/")
	if resp.StatusCode != 200 || !strings.Contains(body, `<html lang="es">`) || !strings.Contains(body, "Qué necesita") {
		t.Fatalf("after switching to Spanish: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/", nil)
	req.Header.Set("Accept-Language", "es-MX,es;q=0.9")
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r2.Body)
	r2.Body.Close()
	if !strings.Contains(string(b), `<html lang="es">`) {
		t.Errorf("Accept-Language es did not choose Spanish")
	}
	if got := localPath("//evil.example/"); got != "/" {
		t.Errorf("localPath let %q through", got)
	}
}

func TestCatalogsHaveTheSameKeys(t *testing.T) {
	t.Parallel()
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	if m := c.missing(); len(m) > 0 {
		t.Fatalf("missing translations: %v", m)
	}
}

func client(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejarNew()
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: nil}
}

var _ = url.Values{}
