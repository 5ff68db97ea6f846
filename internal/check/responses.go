package check

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Record types of a responses file.
const (
	TypeBooked = "booked"
	TypeRun    = "run"
)

// Response is one line of the responses file the load driver writes: every
// 201 it saw from POST /v1/appointments (replays included), and one "run"
// line with the window in which it sent requests.
type Response struct {
	Type           string    `json:"type"`
	ID             string    `json:"id,omitempty"`
	Reference      string    `json:"reference,omitempty"`
	IdempotencyKey string    `json:"idempotency_key,omitempty"`
	Replayed       bool      `json:"replayed,omitempty"`
	At             time.Time `json:"at,omitzero"`
	StartedAt      time.Time `json:"started_at,omitzero"`
	EndedAt        time.Time `json:"ended_at,omitzero"`
}

// Responses is a parsed responses file.
type Responses struct {
	// Booked lists every 201, in file order.
	Booked []Response
	// Since and Until bound the run; zero when the file has no run line
	// (the driver was stopped before it could write one).
	Since, Until time.Time
}

// ReadResponses parses a responses file.
func ReadResponses(r io.Reader) (*Responses, error) {
	out := &Responses{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var rec Response
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return nil, fmt.Errorf("responses line %d: %w", line, err)
		}
		switch rec.Type {
		case TypeBooked:
			if rec.ID == "" {
				return nil, fmt.Errorf("responses line %d: booked record without id", line)
			}
			out.Booked = append(out.Booked, rec)
		case TypeRun:
			out.Since, out.Until = rec.StartedAt, rec.EndedAt
		default:
			return nil, fmt.Errorf("responses line %d: unknown type %q", line, rec.Type)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read responses: %w", err)
	}
	return out, nil
}
