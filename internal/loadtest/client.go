package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// client sends the driver's requests and records each one.
type client struct {
	base    string
	http    *http.Client
	timeout time.Duration
	stats   *stats
	// sem bounds the requests in flight to the origin, roomSem those to
	// the waiting room. Separate budgets keep tens of thousands of queued
	// people polling from starving the admitted ones of request slots; in
	// production the room's status requests are served apart from
	// booking anyway (a cache, an edge, another node).
	sem, roomSem chan struct{}
}

func newClient(cfg Config, st *stats) *client {
	tr := &http.Transport{
		MaxIdleConns:        cfg.Concurrency * 2,
		MaxIdleConnsPerHost: cfg.Concurrency * 2,
		MaxConnsPerHost:     cfg.Concurrency * 2,
		IdleConnTimeout:     90 * time.Second,
	}
	return &client{
		base: strings.TrimRight(cfg.Target, "/"), http: &http.Client{Transport: tr},
		timeout: cfg.RequestTimeout, stats: st, sem: make(chan struct{}, cfg.Concurrency),
		roomSem: make(chan struct{}, cfg.Concurrency),
	}
}

// call is one request.
type call struct {
	step    string
	method  string
	path    string
	token   string // bearer
	headers map[string]string
	body    any
	// timeout overrides the client's, for people who give up early.
	timeout time.Duration
	// from is the person's address for X-Forwarded-For ("" sends none).
	from string
}

// result is what came back. A transport error (timeout, reset) leaves
// status 0 and sets err; the request's effect on the server is unknown.
type result struct {
	status     int
	problem    string
	body       []byte
	header     http.Header
	err        error
	timedOut   bool
	retryAfter time.Duration
}

// ok reports a 2xx answer.
func (r result) ok() bool { return r.status >= 200 && r.status < 300 }

// decode reads the JSON body into v.
func (r result) decode(v any) error { return json.Unmarshal(r.body, v) }

// problemName returns the last path segment of a problem's type.
func problemName(body []byte, status int) string {
	var p struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(body, &p) == nil && p.Type != "" {
		return p.Type[strings.LastIndex(p.Type, "/")+1:]
	}
	return "http-" + strconv.Itoa(status)
}

// do sends c, waiting for a free request slot first so that the run never
// has more than Concurrency requests in flight to the origin (and as many
// to the waiting room).
func (cl *client) do(ctx context.Context, c call) result {
	sem := cl.sem
	if isRoomStep(c.step) {
		sem = cl.roomSem
	}
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return result{err: ctx.Err()}
	}
	defer func() { <-sem }()
	timeout := cl.timeout
	if c.timeout > 0 {
		timeout = c.timeout
	}
	reqCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	res := cl.send(reqCtx, c)
	d := time.Since(start)
	if res.err != nil && ctx.Err() != nil {
		// The run ended under the request: not the service's doing.
		return res
	}
	if res.err != nil {
		res.timedOut = errors.Is(res.err, context.DeadlineExceeded) || isTimeout(res.err)
		kind := "transport"
		if res.timedOut {
			kind = "client-timeout"
		}
		cl.stats.request(c.step, start, d, false, kind)
		return res
	}
	if !res.ok() {
		res.problem = problemName(res.body, res.status)
		if s, err := strconv.Atoi(res.header.Get("Retry-After")); err == nil {
			res.retryAfter = time.Duration(s) * time.Second
		}
	}
	cl.stats.request(c.step, start, d, true, res.problem)
	return res
}

func (cl *client) send(ctx context.Context, c call) result {
	var body io.Reader
	if c.body != nil {
		b, err := json.Marshal(c.body)
		if err != nil {
			return result{err: err}
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, cl.base+c.path, body)
	if err != nil {
		return result{err: err}
	}
	if c.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	if c.from != "" {
		req.Header.Set("X-Forwarded-For", c.from)
	}
	resp, err := cl.http.Do(req)
	if err != nil {
		return result{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return result{err: err}
	}
	return result{status: resp.StatusCode, body: b, header: resp.Header}
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

func isRoomStep(step string) bool {
	return step == StepRoom || step == StepTicket || step == StepPoll
}
