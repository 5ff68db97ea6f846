package waitroomapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/httpx"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
	"github.com/vaxbook/vaxbook/internal/waitroom"
)

type fakeAuth struct{}

func (fakeAuth) Citizen(_ context.Context, tok string) (httpx.Principal, error) {
	if strings.HasPrefix(tok, "sess-") {
		return httpx.Principal{PersonID: 1, PersonRef: "P" + tok[5:], Trusted: true}, nil
	}
	return httpx.Principal{}, apperr.New("unauthenticated", "unknown session")
}

func (fakeAuth) Staff(_ context.Context, tok string) (httpx.Principal, error) {
	if tok == "admin-token" {
		return httpx.Principal{StaffID: "s1", Role: httpx.RoleAdmin}, nil
	}
	return httpx.Principal{}, apperr.New("unauthenticated", "unknown token")
}

var opening = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

func setup(t testing.TB) (*httptest.Server, *waitroom.Room, *clock.Fake, *httpx.Router) {
	t.Helper()
	db := storetest.Open(t, store.SQLite)
	clk := clock.NewFake(opening.Add(-time.Minute))
	room, err := waitroom.New(context.Background(), waitroom.Config{Mode: waitroom.ModeOff}, waitroom.Deps{DB: db, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	router := httpx.NewRouter()
	(&Module{Room: room, Auth: fakeAuth{}}).Register(router)
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	return srv, room, clk, router
}

func do(t testing.TB, c *http.Client, method, url, body string, hdr ...string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp, out
}

func TestWaitingRoomAPI(t *testing.T) {
	t.Parallel()
	srv, room, clk, _ := setup(t)
	c := srv.Client()
	_, info := do(t, c, "GET", srv.URL+"/v1/waiting-room", "")
	if info["state"] != "closed" {
		t.Fatalf("unconfigured room: %v", info)
	}
	body := `{"opens_at":"2026-03-01T08:00:00Z","mode":"lottery","admission_rate_per_s":5,"token_ttl_s":300}`
	if resp, _ := do(t, c, "PUT", srv.URL+"/v1/admin/waiting-room", body); resp.StatusCode != 401 {
		t.Fatalf("PUT without a staff token: %d", resp.StatusCode)
	}
	if resp, _ := do(t, c, "PUT", srv.URL+"/v1/admin/waiting-room", body, "Authorization", "Bearer sess-1"); resp.StatusCode != 401 {
		t.Fatalf("PUT with a citizen session: %d", resp.StatusCode)
	}
	resp, info := do(t, c, "PUT", srv.URL+"/v1/admin/waiting-room", body, "Authorization", "Bearer admin-token")
	if resp.StatusCode != 200 || info["state"] != "pre-queue" || len(info["seed_commitment"].(string)) != 64 {
		t.Fatalf("PUT: %d %v", resp.StatusCode, info)
	}
	resp, tk := do(t, c, "POST", srv.URL+"/v1/waiting-room/tickets", "")
	key := resp.Header.Get(ClientHeader)
	if resp.StatusCode != 201 || key == "" || tk["position"] != nil {
		t.Fatalf("first ticket: %d key %q %v", resp.StatusCode, key, tk)
	}
	resp, again := do(t, c, "POST", srv.URL+"/v1/waiting-room/tickets", "", ClientHeader, key)
	if resp.StatusCode != 200 || again["ticket"] != tk["ticket"] {
		t.Fatalf("asking again: %d %v, want the same ticket", resp.StatusCode, again)
	}
	_, other := do(t, c, "POST", srv.URL+"/v1/waiting-room/tickets", "", "Authorization", "Bearer sess-2")
	if other["ticket"] == tk["ticket"] {
		t.Fatal("a citizen session got another client's ticket")
	}
	clk.Set(opening.Add(time.Second))
	if err := room.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, st := do(t, c, "GET", srv.URL+"/v1/waiting-room/tickets/"+tk["ticket"].(string), "")
	if st["status"] != "waiting" || st["position"] == nil {
		t.Fatalf("after the draw: %v", st)
	}
	_, draw := do(t, c, "GET", srv.URL+"/v1/waiting-room/draw", "")
	if len(draw["tickets"].([]any)) != 2 || draw["seed"] == "" {
		t.Fatalf("published draw: %v", draw)
	}
	if resp, _ := do(t, c, "DELETE", srv.URL+"/v1/waiting-room/tickets/"+tk["ticket"].(string), ""); resp.StatusCode != 204 {
		t.Fatalf("leave: %d", resp.StatusCode)
	}
	if resp, p := do(t, c, "GET", srv.URL+"/v1/waiting-room/tickets/nope", ""); resp.StatusCode != 404 || p["type"] == nil {
		t.Fatalf("unknown ticket: %d %v", resp.StatusCode, p)
	}
}

func TestPageWithoutJavaScript(t *testing.T) {
	t.Parallel()
	srv, room, clk, _ := setup(t)
	if _, err := room.Configure(context.Background(), waitroom.Settings{Mode: waitroom.ModeFIFO, OpensAt: opening,
		RatePerS: 1, TokenTTL: 5 * time.Minute}, "staff:s1"); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	page := func() string {
		resp, err := c.Get(srv.URL + "/waiting-room")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if p := page(); !strings.Contains(p, `value="join"`) || strings.Contains(p, "<script>") {
		t.Fatalf("page before joining: join form missing or inline script:\n%s", p)
	}
	post := func(action string) {
		resp, err := c.PostForm(srv.URL+"/waiting-room", url.Values{"action": {action}})
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("post %s: %v %v", action, resp.StatusCode, err)
		}
		resp.Body.Close()
	}
	post("join")
	p := page()
	for _, want := range []string{`data-field="position">1<`, "Estimated wait", "Last updated", "does not lose your place",
		"order they joined", "appointments run out", `aria-live="polite"`, "Check my place"} {
		if !strings.Contains(p, want) {
			t.Fatalf("page lacks %q:\n%s", want, p)
		}
	}
	if strings.Contains(p, `http-equiv="refresh"`) {
		t.Fatal("the page refreshes although nobody asked it to")
	}
	post("auto-on")
	if !strings.Contains(page(), `http-equiv="refresh"`) {
		t.Fatal("auto refresh was turned on but the page does not refresh")
	}
	clk.Set(opening.Add(-30 * time.Second))
	page() // polling keeps the ticket alive
	clk.Set(opening.Add(3 * time.Second))
	_ = room.Tick(context.Background())
	clk.Advance(2 * time.Second)
	_ = room.Tick(context.Background())
	if p := page(); !strings.Contains(p, "It is your turn") {
		t.Fatalf("admitted page:\n%s", p)
	}
}

func TestEveryRouteDocumented(t *testing.T) {
	t.Parallel()
	_, _, _, router := setup(t)
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(openapi, &doc); err != nil {
		t.Fatal(err)
	}
	var documented []string
	for p, ops := range doc.Paths {
		for m := range ops {
			documented = append(documented, strings.ToUpper(m)+" "+p)
		}
	}
	sort.Strings(documented)
	if got := router.Routes(); strings.Join(got, "\n") != strings.Join(documented, "\n") {
		t.Fatalf("routes:\n%s\ndocumented:\n%s", strings.Join(got, "\n"), strings.Join(documented, "\n"))
	}
}
