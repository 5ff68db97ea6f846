package waitroom

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisStore keeps the queue in Redis so that several vaxbook processes
// share one order, one token bucket and one set of used tokens. Every step
// whose order matters is one Lua script, which Redis runs atomically. The
// scripts touch per-ticket keys they compute themselves, so this needs a
// single Redis server (or a primary with replicas), not Redis Cluster.
//
// Keys, all under the prefix:
//
//	seq        INCR counter of arrivals
//	t:ID       hash: s state, c client hash, j joined µs, a admitted µs,
//	           x token expiry µs, sp "1" once spent
//	c:HASH     the client's current ticket id
//	pre        zset of pre-queue tickets by arrival
//	q          zset of waiting tickets; lottery places score 0..n-1,
//	           arrivals score 1e12+seq, so a draw lands ahead of them
//	seen       zset of pre-queue and waiting tickets by last poll (µs)
//	adm        zset of outstanding admissions by token expiry (µs)
//	bucket     hash: tok tokens, ts last refill µs
//	draw       the published draw (JSON); drawlock while one is drawn
//	bind:ID    the person a token is bound to; sp:ID once spent
type RedisStore struct {
	rdb    redis.UniversalClient
	prefix string
	// keep bounds how long finished tickets' keys stay around.
	keep time.Duration
}

// NewRedisStore returns a store under prefix (for example
// "vaxbook:waitroom:1:"). Keys of finished tickets expire after a day.
func NewRedisStore(rdb redis.UniversalClient, prefix string) *RedisStore {
	return &RedisStore{rdb: rdb, prefix: prefix, keep: 24 * time.Hour}
}

func (s *RedisStore) k(name string) string { return s.prefix + name }

func us(t time.Time) string { return strconv.FormatInt(t.UnixMicro(), 10) }

// fifoBase puts every arrival after every lottery place in the q zset.
const fifoBase = "1000000000000"

var joinScript = redis.NewScript(`
local p = ARGV[5]
local cur = redis.call('GET', KEYS[1])
if cur then
  local h = redis.call('HMGET', p .. 't:' .. cur, 's', 'x', 'sp')
  if h[1] == 'pre' or h[1] == 'waiting' then
    redis.call('ZADD', KEYS[5], ARGV[2], cur)
    return {cur, 0}
  end
  if h[1] == 'admitted' and h[3] ~= '1' and tonumber(h[2]) > tonumber(ARGV[2]) then
    return {cur, 0}
  end
end
local id = ARGV[1]
local seq = redis.call('INCR', KEYS[2])
local tk = p .. 't:' .. id
local state = 'waiting'
if ARGV[3] == '1' then
  state = 'pre'
  redis.call('ZADD', KEYS[3], seq, id)
else
  redis.call('ZADD', KEYS[4], tonumber(ARGV[7]) + seq, id)
end
redis.call('HSET', tk, 's', state, 'c', ARGV[4], 'j', ARGV[2])
redis.call('PEXPIRE', tk, ARGV[6])
redis.call('ZADD', KEYS[5], ARGV[2], id)
redis.call('SET', KEYS[1], id, 'PX', ARGV[6])
return {id, 1}
`)

// Join implements Store.
func (s *RedisStore) Join(ctx context.Context, p JoinParams) (Ticket, bool, error) {
	ch := clientHash(p.Client)
	chx := hex.EncodeToString(ch[:])
	pre := "0"
	if p.PreQueue {
		pre = "1"
	}
	res, err := joinScript.Run(ctx, s.rdb,
		[]string{s.k("c:" + chx), s.k("seq"), s.k("pre"), s.k("q"), s.k("seen")},
		newTicketID(), us(p.Now), pre, chx, s.prefix, s.keep.Milliseconds(), fifoBase).Slice()
	if err != nil {
		return Ticket{}, false, fmt.Errorf("join queue: %w", err)
	}
	id, _ := res[0].(string)
	created, _ := res[1].(int64)
	t, err := s.Touch(ctx, id, p.Now)
	return t, created == 1, err
}

var touchScript = redis.NewScript(`
local h = redis.call('HMGET', KEYS[1], 's', 'j', 'a', 'x', 'sp')
if not h[1] then return false end
local rank = -1
if h[1] == 'waiting' then
  rank = redis.call('ZRANK', KEYS[2], ARGV[1]) or -1
  redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
elseif h[1] == 'pre' then
  redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
end
return {h[1], h[2] or '', h[3] or '', h[4] or '', h[5] or '', rank}
`)

// Touch implements Store.
func (s *RedisStore) Touch(ctx context.Context, id string, now time.Time) (Ticket, error) {
	if _, ok := parseTicketID(id); !ok {
		return Ticket{}, ErrNoTicket
	}
	res, err := touchScript.Run(ctx, s.rdb, []string{s.k("t:" + id), s.k("q"), s.k("seen")}, id, us(now)).Slice()
	if errors.Is(err, redis.Nil) {
		return Ticket{}, ErrNoTicket
	}
	if err != nil {
		return Ticket{}, fmt.Errorf("read ticket: %w", err)
	}
	return redisTicket(id, res), nil
}

var redisStates = map[string]State{"pre": StatePreQueue, "waiting": StateWaiting, "admitted": StateAdmitted,
	"expired": StateExpired, "left": StateLeft}

func redisTicket(id string, res []any) Ticket {
	str := func(i int) string { v, _ := res[i].(string); return v }
	micros := func(i int) time.Time {
		n, err := strconv.ParseInt(str(i), 10, 64)
		if err != nil || n == 0 {
			return time.Time{}
		}
		return time.UnixMicro(n)
	}
	t := Ticket{ID: id, State: redisStates[str(0)], JoinedAt: micros(1), AdmittedAt: micros(2),
		ExpiresAt: micros(3), Spent: str(4) == "1"}
	if rank, ok := res[5].(int64); ok && rank >= 0 {
		t.Position = int(rank) + 1
	}
	return t
}

var leaveScript = redis.NewScript(`
local h = redis.call('HMGET', KEYS[1], 's', 'j', 'a', 'x', 'sp', 'c')
if not h[1] then return false end
local rank = -1
if h[1] == 'waiting' then rank = redis.call('ZRANK', KEYS[2], ARGV[1]) or -1 end
if h[1] == 'pre' or h[1] == 'waiting' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
  redis.call('ZREM', KEYS[4], ARGV[1])
  redis.call('HSET', KEYS[1], 's', 'left')
elseif h[1] == 'admitted' then
  redis.call('ZREM', KEYS[5], ARGV[1])
  redis.call('HSET', KEYS[1], 's', 'left', 'sp', '1')
  redis.call('SET', KEYS[6], '1', 'PX', ARGV[3])
end
local ck = ARGV[2] .. 'c:' .. (h[6] or '')
if redis.call('GET', ck) == ARGV[1] then redis.call('DEL', ck) end
return {h[1], h[2] or '', h[3] or '', h[4] or '', h[5] or '', rank}
`)

// Leave implements Store.
func (s *RedisStore) Leave(ctx context.Context, id string) (Ticket, error) {
	if _, ok := parseTicketID(id); !ok {
		return Ticket{}, ErrNoTicket
	}
	res, err := leaveScript.Run(ctx, s.rdb,
		[]string{s.k("t:" + id), s.k("q"), s.k("pre"), s.k("seen"), s.k("adm"), s.k("sp:" + id)},
		id, s.prefix, s.keep.Milliseconds()).Slice()
	if errors.Is(err, redis.Nil) {
		return Ticket{}, ErrNoTicket
	}
	if err != nil {
		return Ticket{}, fmt.Errorf("leave queue: %w", err)
	}
	return redisTicket(id, res), nil
}

// placeScript moves a batch of drawn pre-queue tickets into the queue at
// their places; tickets that left or expired meanwhile stay out.
var placeScript = redis.NewScript(`
local p = ARGV[1]
local first = tonumber(ARGV[2])
for i = 3, #ARGV do
  local id = ARGV[i]
  local tk = p .. 't:' .. id
  if redis.call('HGET', tk, 's') == 'pre' then
    redis.call('ZADD', KEYS[1], first + i - 3, id)
    redis.call('HSET', tk, 's', 'waiting')
  end
  redis.call('ZREM', KEYS[2], id)
end
return 0
`)

// Draw implements Store. A short lock keeps two nodes from drawing at
// once; the draw key, written last, is what marks it done.
func (s *RedisStore) Draw(ctx context.Context, fn func(pre []string) (Draw, []string, error)) (Draw, error) {
	if d, ok, err := s.Published(ctx); err != nil || ok {
		return d, err
	}
	token := make([]byte, 8)
	_, _ = rand.Read(token)
	got, err := s.rdb.SetNX(ctx, s.k("drawlock"), hex.EncodeToString(token), time.Minute).Result()
	if err != nil {
		return Draw{}, fmt.Errorf("lock draw: %w", err)
	}
	if !got {
		return Draw{}, ErrDrawBusy
	}
	defer s.rdb.Del(context.WithoutCancel(ctx), s.k("drawlock"))
	if d, ok, err := s.Published(ctx); err != nil || ok {
		return d, err
	}
	ids, err := s.rdb.ZRange(ctx, s.k("pre"), 0, -1).Result()
	if err != nil {
		return Draw{}, fmt.Errorf("read pre-queue: %w", err)
	}
	d, order, err := fn(ids)
	if err != nil {
		return Draw{}, err
	}
	const batch = 2000
	for i := 0; i < len(order); i += batch {
		part := order[i:min(i+batch, len(order))]
		args := append([]any{s.prefix, i}, toAny(part)...)
		if err := placeScript.Run(ctx, s.rdb, []string{s.k("q"), s.k("pre")}, args...).Err(); err != nil && !errors.Is(err, redis.Nil) {
			return Draw{}, fmt.Errorf("place drawn tickets: %w", err)
		}
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return Draw{}, fmt.Errorf("encode draw: %w", err)
	}
	if err := s.rdb.Set(ctx, s.k("draw"), raw, 0).Err(); err != nil {
		return Draw{}, fmt.Errorf("publish draw: %w", err)
	}
	return d, nil
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// Published implements Store.
func (s *RedisStore) Published(ctx context.Context) (Draw, bool, error) {
	raw, err := s.rdb.Get(ctx, s.k("draw")).Bytes()
	if errors.Is(err, redis.Nil) {
		return Draw{}, false, nil
	}
	if err != nil {
		return Draw{}, false, fmt.Errorf("read draw: %w", err)
	}
	var d Draw
	if err := json.Unmarshal(raw, &d); err != nil {
		return Draw{}, false, fmt.Errorf("decode draw: %w", err)
	}
	return d, true, nil
}

// admitScript is the shared token bucket and the pop from the front in
// one step, so two nodes never admit the same ticket or exceed the rate
// between them. Times are whole µs passed as strings: Lua's numbers are
// doubles and print with 14 digits.
var admitScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local b = redis.call('HMGET', KEYS[1], 'tok', 'ts')
local tok = tonumber(b[1]) or 0
local ts = tonumber(b[2])
if ts and now > ts then
  tok = math.min(tonumber(ARGV[3]), tok + tonumber(ARGV[2]) * (now - ts) / 1e6)
end
if (not ts) or now > ts then redis.call('HSET', KEYS[1], 'ts', ARGV[1]) end
local n = math.floor(tok)
local mx = tonumber(ARGV[4])
if mx >= 0 and mx < n then n = mx end
local out = {}
if n > 0 then
  local popped = redis.call('ZPOPMIN', KEYS[2], n)
  for i = 1, #popped, 2 do
    local id = popped[i]
    local tk = ARGV[6] .. 't:' .. id
    redis.call('HSET', tk, 's', 'admitted', 'a', ARGV[1], 'x', ARGV[5])
    redis.call('ZADD', KEYS[3], ARGV[5], id)
    redis.call('ZREM', KEYS[4], id)
    out[#out + 1] = id
    out[#out + 1] = redis.call('HGET', tk, 'j') or '0'
  end
end
tok = tok - #out / 2
redis.call('HSET', KEYS[1], 'tok', string.format('%.6f', tok))
return out
`)

// Admit implements Store.
func (s *RedisStore) Admit(ctx context.Context, p AdmitParams) ([]Admission, error) {
	exp := p.Now.Add(p.TTL)
	res, err := admitScript.Run(ctx, s.rdb, []string{s.k("bucket"), s.k("q"), s.k("adm"), s.k("seen")},
		us(p.Now), p.Rate, p.Burst, p.Max, us(exp), s.prefix).StringSlice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("admit: %w", err)
	}
	out := make([]Admission, 0, len(res)/2)
	for i := 0; i+1 < len(res); i += 2 {
		j, _ := strconv.ParseInt(res[i+1], 10, 64)
		out = append(out, Admission{ID: res[i], JoinedAt: time.UnixMicro(j)})
	}
	return out, nil
}

var expireScript = redis.NewScript(`
local stale = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[4]))
for _, id in ipairs(stale) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZREM', KEYS[3], id)
  redis.call('HSET', ARGV[3] .. 't:' .. id, 's', 'expired')
end
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', ARGV[2])
return #stale
`)

// Expire implements Store, in batches so no one script blocks Redis long.
func (s *RedisStore) Expire(ctx context.Context, seenBefore, now time.Time) (int, error) {
	const batch = 1000
	total := 0
	for {
		n, err := expireScript.Run(ctx, s.rdb, []string{s.k("seen"), s.k("q"), s.k("pre"), s.k("adm")},
			us(seenBefore), us(now), s.prefix, batch).Int()
		if err != nil {
			return total, fmt.Errorf("expire tickets: %w", err)
		}
		total += n
		if n < batch {
			return total, nil
		}
	}
}

// Counts implements Store.
func (s *RedisStore) Counts(ctx context.Context, now time.Time) (Counts, error) {
	var pre, q, adm *redis.IntCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRemRangeByScore(ctx, s.k("adm"), "-inf", us(now))
		pre = p.ZCard(ctx, s.k("pre"))
		q = p.ZCard(ctx, s.k("q"))
		adm = p.ZCard(ctx, s.k("adm"))
		return nil
	})
	if err != nil {
		return Counts{}, fmt.Errorf("count queue: %w", err)
	}
	return Counts{PreQueue: int(pre.Val()), Waiting: int(q.Val()), Outstanding: int(adm.Val())}, nil
}

var bindScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if not cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  cur = ARGV[1]
end
return {cur, redis.call('EXISTS', KEYS[2])}
`)

// Bind implements Store.
func (s *RedisStore) Bind(ctx context.Context, id, personRef string, now, until time.Time) (string, bool, error) {
	ttl := keepFor(now, until)
	res, err := bindScript.Run(ctx, s.rdb, []string{s.k("bind:" + id), s.k("sp:" + id)},
		personRef, ttl.Milliseconds()).Slice()
	if err != nil {
		return "", false, fmt.Errorf("bind token: %w", err)
	}
	bound, _ := res[0].(string)
	spent, _ := res[1].(int64)
	return bound, spent == 1, nil
}

var spendScript = redis.NewScript(`
local first = redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('HSET', KEYS[3], 'sp', '1') end
if first then return 1 end
return 0
`)

// Spend implements Store.
func (s *RedisStore) Spend(ctx context.Context, id string, now, until time.Time) (bool, error) {
	ttl := keepFor(now, until)
	n, err := spendScript.Run(ctx, s.rdb, []string{s.k("sp:" + id), s.k("adm"), s.k("t:" + id)},
		id, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("spend token: %w", err)
	}
	return n == 1, nil
}

// keepFor is how long a binding or spent mark must outlive now: until the
// token expires, plus a margin for clock skew between nodes.
func keepFor(now, until time.Time) time.Duration {
	return max(until.Sub(now), 0) + 5*time.Minute
}

// RedisStores returns a Deps.NewStore that keeps each round under
// prefix + round, so a new round starts from an empty queue.
func RedisStores(rdb redis.UniversalClient, prefix string) func(round int64) Store {
	return func(round int64) Store {
		return NewRedisStore(rdb, fmt.Sprintf("%s%d:", prefix, round))
	}
}
