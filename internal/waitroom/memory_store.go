package waitroom

import (
	"context"
	"encoding/base64"
	"sync"
	"time"
)

// MemoryStore keeps the queue in this process: one node only. A waiting
// ticket costs one compact entry, a slot in its segment and two map
// entries; see BenchmarkMemoryPerTicket.
type MemoryStore struct {
	mu       sync.Mutex
	entries  []memEntry
	byID     map[[idBytes]byte]uint32
	byClient map[[16]byte]uint32
	pre      []uint32
	// segs[0] holds the lottery draw's order, segs[1] everyone who joined
	// in arrival order; segment 0 is always served first.
	segs        [2]segment
	admitted    map[uint32]memAdmission
	outstanding map[uint32]int64 // entry -> token expiry (µs)
	bound       map[[idBytes]byte]memBinding
	spent       map[[idBytes]byte]int64 // ticket -> keep until (µs)
	tokens      float64
	lastRefill  int64
	draw        *Draw
	drawing     bool
}

type memEntry struct {
	id     [idBytes]byte
	client [16]byte
	joined int64 // µs
	seen   int64 // µs
	slot   uint32
	state  uint8
	seg    uint8
}

type memAdmission struct {
	at, exp int64 // µs
	spent   bool
}

type memBinding struct {
	person string
	until  int64
}

// Entry states, as bytes to keep entries small.
const (
	mPre uint8 = iota
	mWaiting
	mAdmitted
	mExpired
	mLeft
)

var memStates = [...]State{StatePreQueue, StateWaiting, StateAdmitted, StateExpired, StateLeft}

type segment struct {
	slots   []uint32 // entry index per slot
	tree    fenwick
	head    int // no slot before head is waiting
	waiting int
}

// NewMemoryStore returns an empty in-process store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{
		byID: map[[idBytes]byte]uint32{}, byClient: map[[16]byte]uint32{},
		admitted: map[uint32]memAdmission{}, outstanding: map[uint32]int64{},
		bound: map[[idBytes]byte]memBinding{}, spent: map[[idBytes]byte]int64{},
	}
}

// Join implements Store.
func (m *MemoryStore) Join(_ context.Context, p JoinParams) (Ticket, bool, error) {
	ch := clientHash(p.Client)
	now := p.Now.UnixMicro()
	m.mu.Lock()
	defer m.mu.Unlock()
	if idx, ok := m.byClient[ch]; ok && m.active(idx, now) {
		m.entries[idx].seen = now
		return m.ticket(idx), false, nil
	}
	var id [idBytes]byte
	for {
		raw, _ := parseTicketID(newTicketID())
		if _, dup := m.byID[raw]; !dup {
			id = raw
			break
		}
	}
	idx := uint32(len(m.entries))
	m.entries = append(m.entries, memEntry{id: id, client: ch, joined: now, seen: now})
	m.byID[id] = idx
	m.byClient[ch] = idx
	if p.PreQueue {
		m.entries[idx].state = mPre
		m.pre = append(m.pre, idx)
	} else {
		m.enqueue(1, idx)
	}
	return m.ticket(idx), true, nil
}

// active reports whether an entry still holds its client's place.
func (m *MemoryStore) active(idx uint32, now int64) bool {
	switch m.entries[idx].state {
	case mPre, mWaiting:
		return true
	case mAdmitted:
		a := m.admitted[idx]
		return !a.spent && now < a.exp
	}
	return false
}

func (m *MemoryStore) enqueue(seg uint8, idx uint32) {
	s := &m.segs[seg]
	slot := len(s.slots)
	s.slots = append(s.slots, idx)
	s.tree.grow(len(s.slots), func(i int) int32 {
		if m.entries[s.slots[i]].state == mWaiting && i != slot {
			return 1
		}
		return 0
	})
	s.tree.add(slot, 1)
	s.waiting++
	e := &m.entries[idx]
	e.seg, e.slot, e.state = seg, uint32(slot), mWaiting
}

// unqueue takes a waiting entry out of its segment.
func (m *MemoryStore) unqueue(idx uint32, state uint8) {
	e := &m.entries[idx]
	if e.state == mWaiting {
		s := &m.segs[e.seg]
		s.tree.add(int(e.slot), -1)
		s.waiting--
	}
	e.state = state
}

func (m *MemoryStore) ticket(idx uint32) Ticket {
	e := &m.entries[idx]
	t := Ticket{
		ID:       base64.RawURLEncoding.EncodeToString(e.id[:]),
		State:    memStates[e.state],
		JoinedAt: time.UnixMicro(e.joined),
	}
	switch e.state {
	case mWaiting:
		t.Position = m.segs[e.seg].tree.prefix(int(e.slot)) + 1
		if e.seg == 1 {
			t.Position += m.segs[0].waiting
		}
	case mAdmitted, mLeft:
		if a, ok := m.admitted[idx]; ok {
			t.AdmittedAt, t.ExpiresAt, t.Spent = time.UnixMicro(a.at), time.UnixMicro(a.exp), a.spent
		}
	}
	return t
}

func (m *MemoryStore) lookup(id string) (uint32, bool) {
	raw, ok := parseTicketID(id)
	if !ok {
		return 0, false
	}
	idx, ok := m.byID[raw]
	return idx, ok
}

// Touch implements Store.
func (m *MemoryStore) Touch(_ context.Context, id string, now time.Time) (Ticket, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	idx, ok := m.lookup(id)
	if !ok {
		return Ticket{}, ErrNoTicket
	}
	if s := m.entries[idx].state; s == mPre || s == mWaiting {
		m.entries[idx].seen = now.UnixMicro()
	}
	return m.ticket(idx), nil
}

// Leave implements Store.
func (m *MemoryStore) Leave(_ context.Context, id string) (Ticket, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	idx, ok := m.lookup(id)
	if !ok {
		return Ticket{}, ErrNoTicket
	}
	before := m.ticket(idx)
	e := &m.entries[idx]
	switch e.state {
	case mPre, mWaiting:
		m.unqueue(idx, mLeft)
	case mAdmitted:
		// The share returns to the pool; the token can no longer be used.
		delete(m.outstanding, idx)
		a := m.admitted[idx]
		a.spent = true
		m.admitted[idx] = a
		m.spent[e.id] = a.exp
		e.state = mLeft
	}
	if cur, ok := m.byClient[e.client]; ok && cur == idx {
		delete(m.byClient, e.client)
	}
	return before, nil
}

// Draw implements Store.
func (m *MemoryStore) Draw(_ context.Context, fn func(pre []string) (Draw, []string, error)) (Draw, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.draw != nil {
		return *m.draw, nil
	}
	var ids []string
	byID := map[string]uint32{}
	for _, idx := range m.pre {
		if m.entries[idx].state == mPre {
			id := base64.RawURLEncoding.EncodeToString(m.entries[idx].id[:])
			ids = append(ids, id)
			byID[id] = idx
		}
	}
	d, order, err := fn(ids)
	if err != nil {
		return Draw{}, err
	}
	for _, id := range order {
		m.enqueue(0, byID[id])
	}
	m.pre = nil
	m.draw = &d
	return d, nil
}

// Published implements Store.
func (m *MemoryStore) Published(context.Context) (Draw, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.draw == nil {
		return Draw{}, false, nil
	}
	return *m.draw, true, nil
}

// Admit implements Store.
func (m *MemoryStore) Admit(_ context.Context, p AdmitParams) ([]Admission, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := p.Now.UnixMicro()
	m.tokens = refill(m.tokens, m.lastRefill, now, p.Rate, p.Burst)
	m.lastRefill = now
	n := int(m.tokens)
	if p.Max >= 0 {
		n = min(n, p.Max)
	}
	var out []Admission
	for seg := range m.segs {
		for len(out) < n {
			idx, ok := m.popFront(&m.segs[seg])
			if !ok {
				break
			}
			e := &m.entries[idx]
			m.unqueue(idx, mAdmitted)
			exp := now + p.TTL.Microseconds()
			m.admitted[idx] = memAdmission{at: now, exp: exp}
			m.outstanding[idx] = exp
			out = append(out, Admission{ID: base64.RawURLEncoding.EncodeToString(e.id[:]), JoinedAt: time.UnixMicro(e.joined)})
		}
	}
	m.tokens -= float64(len(out))
	return out, nil
}

// refill is the token bucket both stores share: tokens grow at rate per
// second up to burst; the first call starts an empty bucket.
func refill(tokens float64, last, now int64, rate, burst float64) float64 {
	if last == 0 || now <= last {
		return tokens
	}
	return min(burst, tokens+rate*float64(now-last)/1e6)
}

func (m *MemoryStore) popFront(s *segment) (uint32, bool) {
	for s.head < len(s.slots) {
		idx := s.slots[s.head]
		if m.entries[idx].state == mWaiting {
			return idx, true
		}
		s.head++
	}
	return 0, false
}

// Expire implements Store. It walks every entry: called every few seconds,
// a million entries take a few milliseconds.
func (m *MemoryStore) Expire(_ context.Context, seenBefore, now time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cutoff, nowUs := seenBefore.UnixMicro(), now.UnixMicro()
	n := 0
	for i := range m.entries {
		e := &m.entries[i]
		if (e.state == mWaiting || e.state == mPre) && e.seen < cutoff {
			m.unqueue(uint32(i), mExpired)
			n++
		}
	}
	for idx, exp := range m.outstanding {
		if exp <= nowUs {
			delete(m.outstanding, idx)
		}
	}
	for id, b := range m.bound {
		if b.until <= nowUs {
			delete(m.bound, id)
		}
	}
	for id, until := range m.spent {
		if until <= nowUs {
			delete(m.spent, id)
		}
	}
	return n, nil
}

// Counts implements Store.
func (m *MemoryStore) Counts(_ context.Context, now time.Time) (Counts, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	nowUs := now.UnixMicro()
	c := Counts{Waiting: m.segs[0].waiting + m.segs[1].waiting}
	for _, idx := range m.pre {
		if m.entries[idx].state == mPre {
			c.PreQueue++
		}
	}
	for _, exp := range m.outstanding {
		if exp > nowUs {
			c.Outstanding++
		}
	}
	return c, nil
}

// Bind implements Store.
func (m *MemoryStore) Bind(_ context.Context, id, personRef string, _, until time.Time) (string, bool, error) {
	raw, ok := parseTicketID(id)
	if !ok {
		return "", false, ErrNoTicket
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, spent := m.spent[raw]
	if b, ok := m.bound[raw]; ok {
		return b.person, spent, nil
	}
	m.bound[raw] = memBinding{person: personRef, until: until.UnixMicro()}
	return personRef, spent, nil
}

// Spend implements Store.
func (m *MemoryStore) Spend(_ context.Context, id string, _, until time.Time) (bool, error) {
	raw, ok := parseTicketID(id)
	if !ok {
		return false, ErrNoTicket
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, done := m.spent[raw]; done {
		return false, nil
	}
	m.spent[raw] = until.UnixMicro()
	if idx, ok := m.byID[raw]; ok {
		delete(m.outstanding, idx)
		if a, ok := m.admitted[idx]; ok {
			a.spent = true
			m.admitted[idx] = a
		}
	}
	return true, nil
}
