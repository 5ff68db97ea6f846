package web_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/vaxbook/vaxbook/internal/app/apptest"
)

// setup starts the whole service with the demo data on a fresh SQLite
// file, rate limits on.
func setup(t *testing.T) *apptest.Service {
	t.Helper()
	return apptest.Start(t, apptest.Options{RateLimits: true})
}

func newClient(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
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

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func post(t *testing.T, c *http.Client, u string, form url.Values, origin string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
		req.Header.Set("Sec-Fetch-Site", "cross-site")
	}
	resp, err := c.Do(req)
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
	c := newClient(t)
	resp, body := get(t, c, srv.URL+"/")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("csp %q", csp)
	}
	if !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, "What you need") {
		t.Errorf("start page lacks the English content")
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, "style=") {
		t.Errorf("inline script or style on the start page")
	}
	i := strings.Index(body, `/static/`)
	css := body[i : i+strings.Index(body[i:], `"`)]
	resp, _ = get(t, c, srv.URL+css)
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("asset %s: %d %q", css, resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	stale := strings.Replace(css, "/static/", "/static/000000000000", 1)
	if resp, _ = get(t, c, srv.URL+stale); resp.StatusCode != 404 {
		t.Errorf("stale asset path answered %d", resp.StatusCode)
	}
	resp, _ = get(t, c, srv.URL+"/lang/es?next=/manage")
	if resp.Request.URL.Path != "/manage" {
		t.Errorf("language switch landed on %s", resp.Request.URL.Path)
	}
	if _, body = get(t, c, srv.URL+"/"); !strings.Contains(body, `<html lang="es">`) {
		t.Errorf("after the switch the start page is not Spanish")
	}
}

// TestFormsRefuseForgedPosts checks both CSRF defences: a post without
// the form's token and a post from another origin with it are refused,
// and the same form with its token from this origin goes through.
func TestFormsRefuseForgedPosts(t *testing.T) {
	t.Parallel()
	srv := setup(t)
	c := newClient(t)
	_, body := get(t, c, srv.URL+"/manage")
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no csrf token in the manage form")
	}
	form := url.Values{"reference": {"NOPE"}, "birth_month": {"1"}, "birth_day": {"2"}, "birth_year": {"1950"}}
	if resp, _ := post(t, c, srv.URL+"/manage", form, ""); resp.StatusCode != http.StatusForbidden {
		t.Errorf("post without token: %d", resp.StatusCode)
	}
	form.Set("csrf_token", m[1])
	if resp, _ := post(t, c, srv.URL+"/manage", form, "https://evil.example"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site post with token: %d", resp.StatusCode)
	}
	resp, body := post(t, c, srv.URL+"/manage", form, "")
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "could not find an appointment") {
		t.Errorf("same-site post with token: %d", resp.StatusCode)
	}
	for _, ck := range c.Jar.Cookies(mustURL(srv.URL)) {
		if ck.Name == "vaxbook_csrf" && ck.Value == m[1] {
			t.Errorf("the form token equals the cookie: it must be derived, not copied")
		}
	}
}

func mustURL(s string) *url.URL { u, _ := url.Parse(s); return u }
