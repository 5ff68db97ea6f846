package clinic

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/geo"
	"github.com/vaxbook/vaxbook/internal/ref"
	"github.com/vaxbook/vaxbook/internal/store"
)

// Entry statuses.
const (
	EntryWaiting = "waiting"
	EntryOffered = "offered"
	EntryBooked  = "booked"
	EntryLeft    = "left"
	EntryLapsed  = "lapsed" // an offer ended unused
)

// Offer states.
const (
	OfferActive   = "active"
	OfferUsed     = "used"
	OfferExpired  = "expired"
	OfferDeclined = "declined"
)

// Entry is a person's place on the waitlist. The area is kept as the ZIP's
// centroid and a radius: the ZIP itself is not stored.
type Entry struct {
	ID          string    `json:"id"`
	PersonID    int64     `json:"-"`
	Lat         float64   `json:"-"`
	Lng         float64   `json:"-"`
	RadiusKm    float64   `json:"radius_km"`
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	VaccineCode string    `json:"vaccine"`
	Dose        int       `json:"dose"`
	DecisionRef string    `json:"decision_ref"`
	Status      string    `json:"status"`
	CreatedAt   time.Time `json:"created_at"`
}

// Offer is a seat held for a waiting person until ExpiresAt. Booking with
// its HoldID (POST /v1/appointments {hold_id}) uses it.
type Offer struct {
	ID            string    `json:"id"`
	EntryID       string    `json:"entry_id"`
	SlotID        int64     `json:"slot_id"`
	HoldID        string    `json:"hold_id"`
	State         string    `json:"state"`
	AppointmentID string    `json:"appointment_id,omitempty"`
	ExpiresAt     time.Time `json:"expires_at"`
	CreatedAt     time.Time `json:"created_at"`
}

// JoinRequest asks for a place on the waitlist.
type JoinRequest struct {
	PersonID    int64
	Actor       string
	PostalCode  string
	RadiusKm    float64
	From, To    time.Time
	VaccineCode string
	Dose        int
	DecisionRef string
}

func (r JoinRequest) validate(now time.Time) error {
	f := map[string]string{}
	if _, ok := geo.LookupZIP(r.PostalCode); !ok {
		f["postal_code"] = "a US ZIP code we know"
	}
	if r.RadiusKm <= 0 || r.RadiusKm > 200 {
		f["radius_km"] = "between 0 and 200"
	}
	if !r.To.After(r.From) || !r.To.After(now) || r.To.Sub(r.From) > 366*24*time.Hour {
		f["to"] = "after from and after now, within a year of from"
	}
	if r.VaccineCode == "" || len(r.VaccineCode) > 8 {
		f["vaccine"] = "a product (CVX code)"
	}
	if r.Dose < 1 || r.Dose > 10 {
		f["dose"] = "between 1 and 10"
	}
	if r.DecisionRef == "" || len(r.DecisionRef) > 64 {
		f["decision_ref"] = "required: the decision_ref from eligibility:evaluate"
	}
	if len(f) > 0 {
		return &apperr.Error{Name: "invalid-request", Detail: "the waitlist request has invalid fields", Fields: f}
	}
	return nil
}

// Join puts a person on the waitlist. A person has one live entry at a
// time; joining again is a conflict until they leave or it ends.
func (s *Service) Join(ctx context.Context, r JoinRequest) (Entry, error) {
	now := s.now()
	if err := r.validate(now); err != nil {
		return Entry{}, err
	}
	if _, err := s.cfg.Booking.Vaccine(ctx, r.VaccineCode); err != nil {
		return Entry{}, apperr.Invalid("vaccine", "unknown product (CVX code)")
	}
	p, _ := geo.LookupZIP(r.PostalCode)
	e := Entry{ID: ref.New("w_", 16), PersonID: r.PersonID, Lat: p.Lat, Lng: p.Lng, RadiusKm: r.RadiusKm,
		From: r.From.UTC().Truncate(time.Microsecond), To: r.To.UTC().Truncate(time.Microsecond),
		VaccineCode: r.VaccineCode, Dose: r.Dose, DecisionRef: r.DecisionRef, Status: EntryWaiting,
		CreatedAt: now.UTC().Truncate(time.Microsecond)}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, s.q.Get("insert_entry"), e.ID, e.PersonID, e.Lat, e.Lng, e.RadiusKm,
			e.From.UnixMicro(), e.To.UnixMicro(), e.VaccineCode, e.Dose, e.DecisionRef, now.UnixMicro(), now.UnixMicro())
		if store.IsUniqueViolation(err) {
			return apperr.New("conflict", "you are already on the waitlist; leave it first to change your request")
		}
		if err != nil {
			return fmt.Errorf("join waitlist: %w", err)
		}
		return audit.Append(ctx, tx, audit.Record{At: now, Actor: r.Actor, Action: "waitlist.joined",
			Subjects: []string{"waitlist:" + e.ID},
			Details:  map[string]any{"vaccine": e.VaccineCode, "dose": e.Dose, "radius_km": e.RadiusKm}})
	})
	if err != nil {
		return Entry{}, err
	}
	return e, nil
}

// Leave takes a person off the waitlist; an active offer of theirs ends
// and its seat goes back to the pool.
func (s *Service) Leave(ctx context.Context, personID int64, actor, entryID string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		now := s.now()
		res, err := tx.ExecContext(ctx, s.q.Get("leave_entry"), now.UnixMicro(), entryID, personID)
		if err != nil {
			return fmt.Errorf("leave waitlist: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			e, err := s.entry(ctx, tx, entryID)
			if err != nil || e.PersonID != personID {
				return apperr.NotFound("waitlist entry")
			}
			return nil // already over: nothing to do
		}
		offers, err := s.offersOf(ctx, tx, personID)
		if err != nil {
			return err
		}
		for _, o := range offers {
			if o.EntryID == entryID && o.State == OfferActive {
				if err := s.endOffer(ctx, tx, o, OfferDeclined, actor); err != nil {
					return err
				}
			}
		}
		return audit.Append(ctx, tx, audit.Record{At: now, Actor: actor, Action: "waitlist.left",
			Subjects: []string{"waitlist:" + entryID}})
	})
}

// Waitlist returns a person's entries and offers, oldest first.
func (s *Service) Waitlist(ctx context.Context, personID int64) ([]Entry, []Offer, error) {
	rows, err := s.db.Read.QueryContext(ctx, s.q.Get("entries_of_person"), personID)
	if err != nil {
		return nil, nil, fmt.Errorf("list waitlist: %w", err)
	}
	entries := []Entry{}
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			rows.Close()
			return nil, nil, err
		}
		entries = append(entries, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	offers, err := s.offersOf(ctx, s.db.Read, personID)
	return entries, offers, err
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

type scanner interface{ Scan(dest ...any) error }

func scanEntry(r scanner) (Entry, error) {
	var e Entry
	var from, to, created, updated int64
	err := r.Scan(&e.ID, &e.PersonID, &e.Lat, &e.Lng, &e.RadiusKm, &from, &to, &e.VaccineCode, &e.Dose,
		&e.DecisionRef, &e.Status, &created, &updated)
	e.From, e.To, e.CreatedAt = micros(from), micros(to), micros(created)
	return e, err
}

func (s *Service) entry(ctx context.Context, tx *store.Tx, id string) (Entry, error) {
	e, err := scanEntry(tx.QueryRowContext(ctx, s.q.Get("entry"), id))
	if store.IsNoRows(err) {
		return Entry{}, apperr.NotFound("waitlist entry")
	}
	return e, err
}
