package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/check"
)

// slowBooker answers the journey's requests at once, except bookings: the
// first request for a key commits only after a delay (longer than the
// client waits), and a repeat replays the stored answer, as API.md says.
type slowBooker struct {
	mu        sync.Mutex
	committed map[string]string // idempotency key -> appointment id
}

func (s *slowBooker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	switch r.Method + " " + r.URL.Path {
	case "POST /v1/sessions":
		reply(201, map[string]any{"session_token": "s"})
	case "POST /v1/eligibility:evaluate":
		reply(200, map[string]any{"decision_ref": "d", "eligible": true})
	case "GET /v1/slots":
		reply(200, map[string]any{"slots": []map[string]any{{"id": 1, "remaining": 100}}})
	case "POST /v1/appointments":
		key := r.Header.Get("Idempotency-Key")
		s.mu.Lock()
		id, done := s.committed[key]
		s.mu.Unlock()
		if done {
			w.Header().Set("Idempotent-Replayed", "true")
			reply(201, map[string]any{"id": id, "reference": "R" + id})
			return
		}
		// The client gives up long before this; the commit happens anyway.
		time.Sleep(100 * time.Millisecond)
		s.mu.Lock()
		id = fmt.Sprint("a", len(s.committed))
		s.committed[key] = id
		s.mu.Unlock()
		reply(201, map[string]any{"id": id, "reference": "R" + id})
	default:
		reply(404, map[string]any{"type": "https://vaxbook.example/problems/not-found"})
	}
}

// When the run's time is up, people mid-journey stop, but a booking whose
// outcome is unknown is repeated with its key until it is learnt: every
// commit the server made is answered to the driver.
func TestRunEndsOnTimeAndResolvesUnknownBookings(t *testing.T) {
	t.Parallel()
	srv := &slowBooker{committed: map[string]string{}}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	cfg := Defaults(ts.URL, 60)
	cfg.Curve, cfg.Arrivals, cfg.MaxRun = Curve{Kind: CurveUniform}, 2*time.Second, 400*time.Millisecond
	cfg.Ineligible, cfg.DoubleClick, cfg.Stale, cfg.AbandonHold, cfg.AbandonQueue = 0, 0, 0, 0, 0
	cfg.ClientTimeout, cfg.DirectBooking = 1, 1
	var out bytes.Buffer
	cfg.Responses = &out
	start := time.Now()
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("run took %v with a 400ms bound", took)
	}
	if rep.OutcomeTotal() != 60 || rep.Outcomes[OutNotArrived] == 0 || rep.Funnel[StageArrived] == 0 {
		t.Fatalf("outcomes %v, arrived %d", rep.Outcomes, rep.Funnel[StageArrived])
	}
	resp, err := check.ReadResponses(&out)
	if err != nil {
		t.Fatal(err)
	}
	answered := map[string]bool{}
	for _, r := range resp.Booked {
		answered[r.ID] = true
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.committed) == 0 || rep.TimeoutRetries == 0 || rep.Replays == 0 {
		t.Fatalf("committed %d, timeout retries %d, replays %d", len(srv.committed), rep.TimeoutRetries, rep.Replays)
	}
	for key, id := range srv.committed {
		if !answered[id] {
			t.Errorf("booking %s (key %s) committed but never answered", id, key)
		}
	}
	if int64(len(srv.committed)) != rep.Funnel[StageBooked] || resp.Until.IsZero() {
		t.Fatalf("committed %d, booked %d, run window %v-%v", len(srv.committed), rep.Funnel[StageBooked], resp.Since, resp.Until)
	}
}
