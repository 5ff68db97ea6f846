package waitroom

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"time"
)

// State is where a ticket stands.
type State string

// Ticket states. PreQueue tickets joined a lottery before the opening and
// have no place until the draw.
const (
	StatePreQueue State = "pre-queue"
	StateWaiting  State = "waiting"
	StateAdmitted State = "admitted"
	StateExpired  State = "expired"
	StateLeft     State = "left"
)

// ErrNoTicket means the ticket does not exist (or no longer does).
var ErrNoTicket = errors.New("no such ticket")

// ErrDrawBusy means another node is drawing the lottery right now.
var ErrDrawBusy = errors.New("the lottery is being drawn")

// Ticket is one place in the queue.
type Ticket struct {
	ID    string
	State State
	// Position counts from 1 among waiting tickets; 0 when not waiting or
	// before the draw.
	Position   int
	JoinedAt   time.Time
	AdmittedAt time.Time
	// ExpiresAt is when an admitted ticket's token stops working.
	ExpiresAt time.Time
	// Spent is set once a booking used the admission.
	Spent bool
}

// JoinParams asks for a client's ticket.
type JoinParams struct {
	// Client identifies the asker (a person reference or a client key);
	// the store keeps only a hash of it.
	Client string
	// PreQueue is true for a lottery before its opening.
	PreQueue bool
	Now      time.Time
}

// AdmitParams asks the store to admit from the front of the queue at the
// shared rate.
type AdmitParams struct {
	Now   time.Time
	Rate  float64 // tokens per second
	Burst float64 // bucket size
	// Max caps how many may be admitted now (what stock allows); negative
	// means no cap.
	Max int
	TTL time.Duration
}

// Admission is one ticket let through.
type Admission struct {
	ID       string
	JoinedAt time.Time
}

// Counts are the queue's sizes at one moment.
type Counts struct {
	PreQueue int
	Waiting  int
	// Outstanding are admitted tickets that have neither booked, left nor
	// expired: seats the room has promised.
	Outstanding int
}

// Store keeps the queue. MemoryStore serves one node; RedisStore lets
// several nodes share one order, one admission rate and one set of used
// tokens. Every method is atomic with respect to the others.
type Store interface {
	// Join returns the client's active ticket, or a new one at the back
	// (or in the pre-queue). created says which.
	Join(ctx context.Context, p JoinParams) (t Ticket, created bool, err error)
	// Touch returns a ticket with its position and records that its holder
	// is still there. ErrNoTicket if unknown.
	Touch(ctx context.Context, id string, now time.Time) (Ticket, error)
	// Leave takes a ticket out of the queue (or returns an admitted
	// ticket's share) and returns it as it was.
	Leave(ctx context.Context, id string) (Ticket, error)
	// Draw runs the lottery once: fn gets the pre-queue ids and returns the
	// published draw and the order; the store moves the pre-queue into the
	// queue in that order, ahead of every later arrival. When a draw exists
	// it is returned and fn is not called. ErrDrawBusy if another node is
	// drawing.
	Draw(ctx context.Context, fn func(pre []string) (Draw, []string, error)) (Draw, error)
	// Published returns the draw, or ok=false before it.
	Published(ctx context.Context) (d Draw, ok bool, err error)
	// Admit refills the shared token bucket and admits up to its whole
	// tokens (and up to p.Max) from the front.
	Admit(ctx context.Context, p AdmitParams) ([]Admission, error)
	// Expire drops waiting and pre-queue tickets not seen since
	// seenBefore, and stops counting admissions whose tokens expired.
	Expire(ctx context.Context, seenBefore, now time.Time) (int, error)
	// Counts returns the queue's sizes.
	Counts(ctx context.Context, now time.Time) (Counts, error)
	// Bind records personRef as the one person a ticket's token admits,
	// unless one is recorded already; it returns the bound person and
	// whether the admission was already spent (booked with, or left).
	Bind(ctx context.Context, id, personRef string, now, until time.Time) (bound string, spent bool, err error)
	// Spend marks a ticket's admission used; first is false when it was
	// already spent.
	Spend(ctx context.Context, id string, now, until time.Time) (first bool, err error)
}

// idBytes is the size of a ticket id before encoding: 128 random bits.
const idBytes = 16

// newTicketID returns a random, unguessable ticket id (22 characters).
func newTicketID() string {
	var b [idBytes]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// parseTicketID decodes an id; ok is false for anything newTicketID could
// not have made.
func parseTicketID(id string) (out [idBytes]byte, ok bool) {
	if len(id) != 22 {
		return out, false
	}
	n, err := base64.RawURLEncoding.Decode(out[:], []byte(id))
	return out, err == nil && n == idBytes
}

// clientHash is what stores keep of a client identity.
func clientHash(client string) [16]byte {
	sum := sha256.Sum256([]byte("vaxbook waitroom client\n" + client))
	var out [16]byte
	copy(out[:], sum[:16])
	return out
}
