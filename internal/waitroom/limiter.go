package waitroom

import (
	"crypto/sha256"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/httpx"
)

// LimitRule is a token bucket: Rate per second, up to Burst at once.
type LimitRule struct {
	Rate  float64
	Burst float64
}

// LimitConfig configures a Limiter.
type LimitConfig struct {
	// PerAddress and PerPerson map a kind of request ("tickets",
	// "evaluate", "booking", "session") to its rule; a kind without a rule
	// uses the "default" entry.
	PerAddress map[string]LimitRule
	PerPerson  map[string]LimitRule
	// TrustedProxies are the proxies whose X-Forwarded-For is believed;
	// from anyone else the header is ignored.
	TrustedProxies []netip.Prefix
	// MaxKeys bounds the remembered clients per kind and dimension
	// (default 100,000): memory stays bounded however many addresses come.
	MaxKeys int
	// Person names the caller for the per-person limit; the default is a
	// hash of the bearer token or session cookie (one session, one person).
	Person func(r *http.Request) string
}

// DefaultLimits are generous for people, tight for scripts: a household
// behind one address still gets through.
func DefaultLimits() LimitConfig {
	return LimitConfig{
		PerAddress: map[string]LimitRule{
			"default": {Rate: 5, Burst: 50}, "tickets": {Rate: 2, Burst: 30},
			"evaluate": {Rate: 5, Burst: 50}, "booking": {Rate: 5, Burst: 50},
		},
		PerPerson: map[string]LimitRule{
			"default": {Rate: 1, Burst: 10}, "tickets": {Rate: 0.5, Burst: 5},
			"evaluate": {Rate: 1, Burst: 10}, "booking": {Rate: 0.5, Burst: 10},
		},
	}
}

// Limiter limits requests per client address and per person.
type Limiter struct {
	cfg   LimitConfig
	clk   clock.Clock
	mu    sync.Mutex
	table map[string]*bucketTable
}

// NewLimiter returns a limiter; zero fields of cfg take DefaultLimits.
func NewLimiter(cfg LimitConfig, clk clock.Clock) *Limiter {
	def := DefaultLimits()
	if cfg.PerAddress == nil {
		cfg.PerAddress = def.PerAddress
	}
	if cfg.PerPerson == nil {
		cfg.PerPerson = def.PerPerson
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = 100000
	}
	if cfg.Person == nil {
		cfg.Person = sessionKey
	}
	if clk == nil {
		clk = clock.System{}
	}
	return &Limiter{cfg: cfg, clk: clk, table: map[string]*bucketTable{}}
}

func sessionKey(r *http.Request) string {
	tok := httpx.BearerToken(r)
	if tok == "" {
		if c, err := r.Cookie(httpx.SessionCookie); err == nil {
			tok = c.Value
		}
	}
	if tok == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(tok))
	return string(sum[:16])
}

// Wrap limits h as a request of kind: 429 rate-limited with Retry-After.
func (l *Limiter) Wrap(kind string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wait := l.allow("a:"+kind, rule(l.cfg.PerAddress, kind), addrKey(ClientAddr(r, l.cfg.TrustedProxies)))
		if person := l.cfg.Person(r); wait == 0 && person != "" {
			wait = l.allow("p:"+kind, rule(l.cfg.PerPerson, kind), person)
		}
		if wait > 0 {
			secs := int(math.Ceil(wait.Seconds()))
			httpx.WriteProblem(w, apperr.New("rate-limited", "too many requests; try again in %d s", secs).
				With("retry_after_s", secs))
			return
		}
		h.ServeHTTP(w, r)
	})
}

func rule(rules map[string]LimitRule, kind string) LimitRule {
	if r, ok := rules[kind]; ok {
		return r
	}
	return rules["default"]
}

// allow takes one token for key and returns 0, or how long to wait.
func (l *Limiter) allow(table string, r LimitRule, key string) time.Duration {
	if r.Rate <= 0 {
		return 0
	}
	l.mu.Lock()
	t, ok := l.table[table]
	if !ok {
		t = &bucketTable{cur: map[string]bucket{}, max: l.cfg.MaxKeys}
		l.table[table] = t
	}
	l.mu.Unlock()
	return t.take(key, r, l.clk.Now())
}

// bucketTable keeps buckets in two generations: when the current one is
// half of MaxKeys it becomes the previous one and the old previous one is
// dropped. A dropped client simply starts with a full bucket again.
type bucketTable struct {
	mu        sync.Mutex
	cur, prev map[string]bucket
	max       int
}

type bucket struct {
	tokens float64
	at     int64 // µs
}

func (t *bucketTable) take(key string, r LimitRule, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	b, ok := t.cur[key]
	if !ok {
		if b, ok = t.prev[key]; !ok {
			b = bucket{tokens: r.Burst, at: now.UnixMicro()}
		}
	}
	elapsed := float64(now.UnixMicro()-b.at) / 1e6
	b.tokens = min(r.Burst, b.tokens+max(0, elapsed)*r.Rate)
	b.at = now.UnixMicro()
	var wait time.Duration
	if b.tokens >= 1 {
		b.tokens--
	} else {
		wait = time.Duration((1 - b.tokens) / r.Rate * float64(time.Second))
	}
	if len(t.cur) >= t.max/2 {
		t.prev, t.cur = t.cur, map[string]bucket{}
	}
	t.cur[key] = b
	return wait
}

// Size returns how many clients the limiter remembers in all.
func (l *Limiter) Size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, t := range l.table {
		t.mu.Lock()
		n += len(t.cur) + len(t.prev)
		t.mu.Unlock()
	}
	return n
}

// ClientAddr is the request's client address: the connection's peer,
// unless the peer is a trusted proxy, in which case the nearest address in
// X-Forwarded-For that is not itself a trusted proxy.
func ClientAddr(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer := parseAddr(r.RemoteAddr)
	if !isTrusted(peer, trusted) {
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return peer
		}
		if !isTrusted(a.Unmap(), trusted) {
			return a.Unmap()
		}
	}
	return peer
}

func parseAddr(hostport string) netip.Addr {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// addrKey groups IPv6 clients by /64, the block one customer usually
// gets, so rotating addresses inside it does not reset the limit.
func addrKey(a netip.Addr) string {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// ParseCIDRs parses a comma-separated list of CIDRs or addresses.
func ParseCIDRs(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			a, err := netip.ParseAddr(part)
			if err != nil {
				return nil, err
			}
			part += "/" + strconv.Itoa(a.BitLen())
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
