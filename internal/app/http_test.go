package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/app"
	"github.com/vaxbook/vaxbook/internal/app/apptest"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
	"github.com/vaxbook/vaxbook/internal/waitroom"
)

// client is a tiny JSON client for the tests.
type client struct {
	t     testing.TB
	base  string
	token string
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return m
}

func (r reply) problem() string {
	var p struct{ Type string }
	_ = json.Unmarshal(r.body, &p)
	return p.Type[strings.LastIndexByte(p.Type, '/')+1:]
}

func (c *client) do(method, path string, body any, headers ...string) reply {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, _ := json.Marshal(b)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 500 {
		c.t.Errorf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: data}
}

// citizen signs a new person in and gets an eligible decision under the
// demo's rules (phase3: everyone 16 and over).
func citizen(t testing.TB, svc *apptest.Service, n int) (*client, string) {
	t.Helper()
	c := &client{t: t, base: svc.URL}
	r := c.do("POST", "/v1/sessions", map[string]string{"given_name": fmt.Sprintf("Ottoline%d", n),
		"family_name": "Vexworth", "birth_date": "1948-07-19", "postal_code": "02114",
		"email": fmt.Sprintf("ottoline%d@example.org", n)})
	if r.status != 201 {
		t.Fatalf("session: %d %s", r.status, r.body)
	}
	c.token = r.json(t)["session_token"].(string)
	r = c.do("POST", "/v1/eligibility:evaluate", map[string]any{"answers": map[string]any{
		"conditions": []string{}, "occupation": "retired", "residence": "private"}})
	if r.status != 200 || r.json(t)["eligible"] != true {
		t.Fatalf("evaluate: %d %s", r.status, r.body)
	}
	return c, r.json(t)["decision_ref"].(string)
}

// maSlot returns a future Massachusetts slot, after setting its online
// capacity to seats.
func maSlot(t testing.TB, svc *apptest.Service, seats int) int64 {
	t.Helper()
	var id int64
	q := `SELECT sl.id FROM slots sl JOIN sites si ON si.id = sl.site_id
	      WHERE si.region = 'MA' AND sl.remaining > 0 ORDER BY sl.start_us DESC, sl.id LIMIT 1`
	if err := svc.DB.Read.QueryRow(q).Scan(&id); err != nil {
		t.Fatalf("no MA slot in the demo data: %v", err)
	}
	set := store.RebindFor(svc.DB.Dialect, "UPDATE slots SET capacity = ?, remaining = ? WHERE id = ?")
	if _, err := svc.DB.Write.Exec(set, seats, seats, id); err != nil {
		t.Fatal(err)
	}
	return id
}

func count(t testing.TB, svc *apptest.Service, table string) int {
	t.Helper()
	var n int
	if err := svc.DB.Read.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestBookingJourneyOverHTTP(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			svc := apptest.Start(t, apptest.Options{Engine: engine})
			c, decision := citizen(t, svc, 1)
			slot := maSlot(t, svc, 5)

			hold := c.do("POST", "/v1/holds", map[string]any{"slot_id": slot})
			if hold.status != 201 {
				t.Fatalf("hold: %d %s", hold.status, hold.body)
			}
			holdID := hold.json(t)["hold_id"].(string)
			body := map[string]any{"hold_id": holdID, "decision_ref": decision}
			if r := c.do("POST", "/v1/appointments", body); r.status != 400 || r.problem() != "idempotency-key-required" {
				t.Fatalf("no key: %d %s", r.status, r.body)
			}
			first := c.do("POST", "/v1/appointments", body, "Idempotency-Key", "key-1")
			if first.status != 201 || first.header.Get("Location") == "" {
				t.Fatalf("book: %d %s", first.status, first.body)
			}
			appt := first.json(t)
			if appt["status"] != "booked" || appt["rule_version"] != "phase3" || !strings.HasPrefix(appt["reference"].(string), "VX-") {
				t.Fatalf("appointment: %s", first.body)
			}
			again := c.do("POST", "/v1/appointments", body, "Idempotency-Key", "key-1")
			if again.status != 201 || again.header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(again.body, first.body) {
				t.Fatalf("replay: %d %q %s", again.status, again.header.Get("Idempotent-Replayed"), again.body)
			}
			other := c.do("POST", "/v1/appointments", map[string]any{"slot_id": slot, "decision_ref": decision}, "Idempotency-Key", "key-1")
			if other.status != 422 || other.problem() != "idempotency-key-reuse" {
				t.Fatalf("reuse with another body: %d %s", other.status, other.body)
			}
			second := c.do("POST", "/v1/appointments", map[string]any{"slot_id": slot, "decision_ref": decision}, "Idempotency-Key", "key-2")
			if second.status != 409 || second.problem() != "already-booked" {
				t.Fatalf("second booking for the dose: %d %s", second.status, second.body)
			}
			id := appt["id"].(string)
			if r := c.do("GET", "/v1/appointments/"+id, nil); r.status != 200 || r.json(t)["id"] != id {
				t.Fatalf("get: %d %s", r.status, r.body)
			}
			stranger, _ := citizen(t, svc, 2)
			if r := stranger.do("GET", "/v1/appointments/"+id, nil); r.status != 404 {
				t.Fatalf("another person's appointment: %d %s", r.status, r.body)
			}
			for i := 0; i < 2; i++ {
				r := c.do("DELETE", "/v1/appointments/"+id, nil)
				if r.status != 200 || r.json(t)["status"] != "cancelled" {
					t.Fatalf("cancel %d: %d %s", i, r.status, r.body)
				}
			}
			var remaining int
			q := store.RebindFor(svc.DB.Dialect, "SELECT remaining FROM slots WHERE id = ?")
			if err := svc.DB.Read.QueryRow(q, slot).Scan(&remaining); err != nil || remaining != 5 {
				t.Fatalf("remaining after cancel = %d, %v; want 5", remaining, err)
			}
		})
	}
}

func TestHotSlotOverHTTP(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			svc := apptest.Start(t, apptest.Options{Engine: engine})
			slot := maSlot(t, svc, 3)
			type person struct {
				c        *client
				decision string
			}
			people := make([]person, 24)
			for i := range people {
				c, d := citizen(t, svc, 100+i)
				people[i] = person{c, d}
			}
			codes := make(chan int, len(people))
			var wg sync.WaitGroup
			for i, p := range people {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := p.c.do("POST", "/v1/appointments", map[string]any{"slot_id": slot, "decision_ref": p.decision},
						"Idempotency-Key", fmt.Sprintf("race-%d", i))
					if r.status == 409 && r.problem() != "slot-full" {
						t.Errorf("409 %s", r.body)
					}
					codes <- r.status
				}()
			}
			wg.Wait()
			close(codes)
			got := map[int]int{}
			for c := range codes {
				got[c]++
			}
			if got[201] != 3 || got[409] != 21 {
				t.Fatalf("statuses %v; want 3 x 201 and 21 x 409", got)
			}
			q := store.RebindFor(svc.DB.Dialect, "SELECT COUNT(*) FROM appointments WHERE slot_id = ? AND status = 'booked'")
			var n int
			if err := svc.DB.Read.QueryRow(q, slot).Scan(&n); err != nil || n != 3 {
				t.Fatalf("rows = %d, %v", n, err)
			}
		})
	}
}

func TestBadInputIsAProblemAndWritesNothing(t *testing.T) {
	t.Parallel()
	svc := apptest.Start(t, apptest.Options{})
	c, decision := citizen(t, svc, 1)
	slot := maSlot(t, svc, 5)
	before := count(t, svc, "appointments") + count(t, svc, "holds")
	key := "Idempotency-Key"
	cases := []struct {
		method, path string
		body         any
		status       int
		problem      string
	}{
		{"POST", "/v1/appointments", `{"slot_id": `, 400, "invalid-request"},
		{"POST", "/v1/appointments", `[]`, 400, "invalid-request"},
		{"POST", "/v1/appointments", `{"slot_id": 1, "decision_ref": "x", "surprise": true}`, 400, "invalid-request"},
		{"POST", "/v1/appointments", `{"slot_id": "one", "decision_ref": "x"}`, 400, "invalid-request"},
		{"POST", "/v1/appointments", `{"slot_id": -4, "decision_ref": "x"}`, 400, "invalid-request"},
		{"POST", "/v1/appointments", `{"slot_id": 1e30, "decision_ref": "x"}`, 400, "invalid-request"},
		{"POST", "/v1/appointments", `{"slot_id": 1, "decision_ref": "x", "dose": 0}`, 400, "invalid-request"},
		{"POST", "/v1/sessions", "{\"given_name\": \"A\xff\", \"family_name\": \"B\", \"birth_date\": \"1950-01-01\", \"postal_code\": \"02114\", \"email\": \"a@example.org\"}", 400, "invalid-request"},
		{"POST", "/v1/eligibility:evaluate", `{"answers": null}`, 400, "invalid-request"},
		{"POST", "/v1/appointments", map[string]any{"slot_id": 99999999, "decision_ref": decision}, 404, "not-found"},
		{"POST", "/v1/appointments", map[string]any{"slot_id": slot, "decision_ref": "nope"}, 403, "ineligible"},
		{"POST", "/v1/appointments", `{"decision_ref": "` + strings.Repeat("x", 70000) + `"}`, 413, "payload-too-large"},
		{"POST", "/v1/holds", `{"slot_id": 0}`, 400, "invalid-request"},
		{"POST", "/v1/holds", map[string]any{"slot_id": 123456789}, 404, "not-found"},
		{"GET", "/v1/appointments/does-not-exist", nil, 404, "not-found"},
		{"DELETE", "/v1/holds/h_nothing", nil, 404, "not-found"},
		{"POST", "/v1/appointments/x:explode", `{}`, 404, "not-found"},
		{"POST", "/v1/sessions", `{"given_name": "A", "family_name": "B", "birth_date": "2021-02-30", "postal_code": "1", "email": "x"}`, 400, "invalid-request"},
	}
	for i, tc := range cases {
		r := c.do(tc.method, tc.path, tc.body, key, fmt.Sprintf("bad-%d", i))
		if r.status != tc.status || r.problem() != tc.problem || !strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json") {
			t.Errorf("%s %s %v: %d %s; want %d %s", tc.method, tc.path, tc.body, r.status, r.body, tc.status, tc.problem)
		}
	}
	anon := &client{t: t, base: svc.URL}
	if r := anon.do("POST", "/v1/holds", map[string]any{"slot_id": slot}); r.status != 401 || r.problem() != "unauthenticated" {
		t.Errorf("no session: %d %s", r.status, r.body)
	}
	if after := count(t, svc, "appointments") + count(t, svc, "holds"); after != before {
		t.Fatalf("bad requests wrote %d rows", after-before)
	}
}

func TestRateLimitsAnswer429WithRetryAfter(t *testing.T) {
	t.Parallel()
	svc := apptest.Start(t, apptest.Options{RateLimits: true})
	c, decision := citizen(t, svc, 1)
	slot := maSlot(t, svc, 5)
	limited := 0
	for i := 0; i < 40 && limited == 0; i++ {
		r := c.do("POST", "/v1/appointments", map[string]any{"slot_id": slot, "decision_ref": decision},
			"Idempotency-Key", fmt.Sprintf("burst-%d", i))
		if r.status == 429 {
			limited++
			if r.problem() != "rate-limited" || r.header.Get("Retry-After") == "" {
				t.Fatalf("429 without its problem or Retry-After: %v %s", r.header, r.body)
			}
		}
	}
	if limited == 0 {
		t.Fatal("40 booking requests in a burst from one person were never limited")
	}
}

// TestReplayAfterTheAdmissionWasSpent: a retry of a booking that committed
// (the client timed out) is answered with the stored 201 although the
// first attempt spent the admission token; any other use of the token is
// refused.
func TestReplayAfterTheAdmissionWasSpent(t *testing.T) {
	t.Parallel()
	svc := apptest.Start(t, apptest.Options{Configure: func(c *app.Config) {
		c.Waitroom.Room = waitroom.Config{Mode: "fifo", OpensAt: time.Now().Add(-time.Minute), AdmissionRatePerS: 50}
	}})
	c, decision := citizen(t, svc, 1)
	slot := maSlot(t, svc, 5)
	token := admission(t, c)
	body := map[string]any{"slot_id": slot, "decision_ref": decision}
	if r := c.do("POST", "/v1/appointments", body, "Idempotency-Key", "k0"); r.status != 403 || r.problem() != "admission-required" {
		t.Fatalf("without a token: %d %s", r.status, r.body)
	}
	first := c.do("POST", "/v1/appointments", body, "Idempotency-Key", "k1", "Admission-Token", token)
	if first.status != 201 {
		t.Fatalf("book: %d %s", first.status, first.body)
	}
	again := c.do("POST", "/v1/appointments", body, "Idempotency-Key", "k1", "Admission-Token", token)
	if again.status != 201 || again.header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(again.body, first.body) {
		t.Fatalf("retry after the token was spent: %d %s", again.status, again.body)
	}
	other := c.do("POST", "/v1/holds", map[string]any{"slot_id": slot}, "Admission-Token", token)
	if other.status != 403 || other.problem() != "admission-required" {
		t.Fatalf("a spent token used again: %d %s", other.status, other.body)
	}
}

// admission joins the waiting room and polls until admitted.
func admission(t *testing.T, c *client) string {
	t.Helper()
	r := c.do("POST", "/v1/waiting-room/tickets", nil)
	if r.status != 201 && r.status != 200 {
		t.Fatalf("ticket: %d %s", r.status, r.body)
	}
	ticket := r.json(t)["ticket"].(string)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		r = c.do("GET", "/v1/waiting-room/tickets/"+ticket, nil)
		if tok, _ := r.json(t)["admission_token"].(string); tok != "" {
			return tok
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("not admitted in time: %s", r.body)
	return ""
}
