package loadtest

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// Journey states.
const (
	stRoom = iota
	stTicket
	stPoll
	stSession
	stEvaluate
	stSearch
	stHold
	stRelease
	stBook
	stDone
)

// Limits on how long one person keeps trying.
const (
	maxSearches  = 6
	maxBookTries = 10
	maxTries     = 5
)

// person is one simulated citizen. Choices come from the person's own
// random source, so a run with the same seed makes the same choices.
type person struct {
	i     int
	rng   *rand.Rand
	state int
	zip   string

	eligible, doubleClick, clientTimeout, stale bool
	abandonQueue, abandonHold, release, direct  bool

	addr              string // X-Forwarded-For, when the run sends it
	arrived, joinedAt time.Time
	ticket, cookie    string
	admission         string
	session           string
	decision          string
	slot              int64
	hold              string
	key               string
	keys              int
	searches          int
	tries             int // attempts of the current step
	bookTries         int
	// unknown is set while a booking was sent and its outcome is not
	// known: the person must finish it even after the run's end, or check
	// would rightly find a commit nobody was told about.
	unknown  bool
	searched bool
	held     bool
}

func (p *person) mustFinish() bool { return p.state == stBook && p.unknown }

func newPerson(i int, cfg *Config) *person {
	r := rand.New(rand.NewPCG(cfg.Seed, uint64(i)))
	p := &person{i: i, rng: r, zip: cfg.ZIPs[r.IntN(len(cfg.ZIPs))]}
	p.eligible = r.Float64() >= cfg.Ineligible
	p.doubleClick = r.Float64() < cfg.DoubleClick
	p.clientTimeout = r.Float64() < cfg.ClientTimeout
	p.stale = r.Float64() < cfg.Stale
	p.abandonQueue = r.Float64() < cfg.AbandonQueue
	p.abandonHold = r.Float64() < cfg.AbandonHold
	p.release = r.Float64() < cfg.ReleaseAbandon
	p.direct = r.Float64() < cfg.DirectBooking
	if cfg.ForwardedFor {
		// 198.18.0.0/15 has 131,072 addresses; larger runs share some, as
		// people behind one network address do.
		n := i % (1 << 17)
		p.addr = fmt.Sprintf("198.%d.%d.%d", 18+n>>16, (n>>8)&0xff, n&0xff)
	}
	return p
}

// identity is the person's synthetic, unique identity: the run id and the
// person's number, spelled in letters because names hold no digits.
func (p *person) identity(run string, cfg *Config, now time.Time) map[string]any {
	ages := cfg.EligibleAge
	if !p.eligible {
		ages = cfg.IneligibleAge
	}
	age := ages[0]
	if ages[1] > ages[0] {
		age += p.rng.IntN(ages[1] - ages[0])
	}
	born := now.AddDate(-age, 0, -1-p.rng.IntN(300))
	return map[string]any{
		"given_name":  "Sim" + letters(p.i),
		"family_name": "Loadtest" + run,
		"birth_date":  born.Format("2006-01-02"),
		"postal_code": p.zip,
		"email":       fmt.Sprintf("sim.%s.%d@example.test", strings.ToLower(run), p.i),
	}
}

// letters spells n in base 26 with lowercase letters.
func letters(n int) string {
	var b []byte
	for {
		b = append(b, byte('a'+n%26))
		n /= 26
		if n == 0 {
			break
		}
	}
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

// newKey starts a new booking request: a new body needs a new key.
func (p *person) newKey(run string) {
	p.keys++
	p.key = fmt.Sprintf("lt-%s-%d-%d", run, p.i, p.keys)
	p.bookTries = 0
	p.unknown = false
}

// cookies keeps the cookies a response set, for a queue bound to a client.
func (p *person) cookies(h http.Header) {
	var parts []string
	for _, c := range (&http.Response{Header: h}).Cookies() {
		parts = append(parts, c.Name+"="+c.Value)
	}
	if len(parts) > 0 {
		p.cookie = strings.Join(parts, "; ")
	}
}

// between returns a random duration in [lo, hi).
func (p *person) between(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(p.rng.Int64N(int64(hi-lo)))
}
