package waitroom

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/clock"
)

func TestLimiterPerAddressAndPerson(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(opening)
	trusted, _ := ParseCIDRs("10.0.0.0/8")
	l := NewLimiter(LimitConfig{
		PerAddress:     map[string]LimitRule{"default": {Rate: 1, Burst: 2}},
		PerPerson:      map[string]LimitRule{"default": {Rate: 1, Burst: 3}},
		TrustedProxies: trusted,
	}, clk)
	h := l.Wrap("tickets", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	call := func(remote, xff, bearer string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/v1/waiting-room/tickets", nil)
		r.RemoteAddr = remote
		if xff != "" {
			r.Header.Set("X-Forwarded-For", xff)
		}
		if bearer != "" {
			r.Header.Set("Authorization", "Bearer "+bearer)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for i := range 2 {
		if c := call("192.0.2.1:5000", "", "").Code; c != 200 {
			t.Fatalf("request %d: %d", i, c)
		}
	}
	w := call("192.0.2.1:5000", "", "")
	if w.Code != 429 || w.Header().Get("Retry-After") != "1" {
		t.Fatalf("third request: %d, Retry-After %q; want 429 with 1", w.Code, w.Header().Get("Retry-After"))
	}
	// A forged header from an untrusted peer changes nothing.
	if c := call("192.0.2.1:5000", "198.51.100.7", "").Code; c != 429 {
		t.Fatalf("spoofed X-Forwarded-For from an untrusted peer: %d, want 429", c)
	}
	// Through the trusted proxy each client counts on its own.
	for _, client := range []string{"198.51.100.7", "198.51.100.8"} {
		if c := call("10.1.2.3:443", "203.0.113.9, "+client, "").Code; c != 200 {
			t.Fatalf("client %s through the proxy: %d", client, c)
		}
	}
	// Per person: one session across many addresses.
	codes := []int{}
	for i := range 5 {
		codes = append(codes, call(fmt.Sprintf("192.0.2.%d:1", 100+i), "", "session-x").Code)
	}
	if fmt.Sprint(codes) != "[200 200 200 429 429]" {
		t.Fatalf("one person from five addresses: %v", codes)
	}
	clk.Advance(time.Second)
	if c := call("192.0.2.1:5000", "", "").Code; c != 200 {
		t.Fatalf("after a second: %d", c)
	}
}

func TestClientAddrIPv6AndMemoryBound(t *testing.T) {
	t.Parallel()
	a := netip.MustParseAddr("2001:db8:1:2:aaaa::1")
	b := netip.MustParseAddr("2001:db8:1:2:bbbb::9")
	if addrKey(a) != addrKey(b) {
		t.Fatal("two addresses of one /64 are limited apart")
	}
	l := NewLimiter(LimitConfig{MaxKeys: 1000}, clock.NewFake(opening))
	h := l.Wrap("tickets", http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	for i := range 50000 {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:1", i>>16, (i>>8)&255, i&255)
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	if n := l.Size(); n > 1000 {
		t.Fatalf("limiter remembers %d clients after 50,000 addresses, bound is 1000", n)
	}
}
