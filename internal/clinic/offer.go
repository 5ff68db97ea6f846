package clinic

import (
	"context"
	"fmt"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/geo"
	"github.com/vaxbook/vaxbook/internal/ref"
	"github.com/vaxbook/vaxbook/internal/store"
)

// maxOffersPerRun bounds the offers one promotion makes for one slot.
const maxOffersPerRun = 20

// candidate is a waiting entry that might fit a free seat.
type candidate struct {
	entryID  string
	personID int64
	at       geo.Point
	radiusKm float64
	// createdUS orders the waitlist (with entryID as the tie-break).
	createdUS int64
}

// Promote offers the slot's free online seats to the earliest waiting
// people whose criteria fit, one seat each, inside tx. Each offer is a
// hold taken through booking's guarded seat code, so two promotions that
// run at once can never hand out one seat twice; claiming an entry skips
// one that another promotion holds, and a person has one live entry, so
// nobody gets two offers at once. It returns how many offers it made.
func (s *Service) Promote(ctx context.Context, tx *store.Tx, slotID int64) (int, error) {
	var locked int64
	if err := tx.QueryRowContext(ctx, s.q.Get("lock_slot"), slotID).Scan(&locked); err != nil {
		if store.IsNoRows(err) {
			return 0, apperr.NotFound("slot")
		}
		return 0, fmt.Errorf("lock slot: %w", err)
	}
	d, err := s.cfg.Booking.SlotDetailInTx(ctx, tx, slotID)
	if err != nil {
		return 0, err
	}
	now := s.now()
	expires := now.Add(s.cfg.OfferTTL)
	if d.Slot.Remaining <= 0 || !d.Slot.Start.After(expires) {
		return 0, nil
	}
	made := 0
	var after candidate
	for made < min(d.Slot.Remaining, maxOffersPerRun) {
		list, last, err := s.candidates(ctx, tx, d, after)
		if err != nil || last.entryID == "" {
			return made, err
		}
		after = last
		for _, c := range list {
			ok, err := s.offerTo(ctx, tx, c, d, expires)
			switch {
			case apperr.Is(err, "slot-full"):
				return made, nil
			case apperr.NameOf(err) != "":
				continue // refused for this person; the next one may fit
			case err != nil:
				return made, err
			}
			if ok {
				made++
			}
			if made == maxOffersPerRun {
				break
			}
		}
	}
	return made, nil
}

// candidates returns the next page of waiting entries after the given one
// that fit the slot, and the last entry read (empty when none was left).
func (s *Service) candidates(ctx context.Context, tx *store.Tx, d booking.Detail, after candidate) ([]candidate, candidate, error) {
	start := d.Slot.Start.UnixMicro()
	rows, err := tx.QueryContext(ctx, s.q.Get("candidates"), d.Slot.VaccineCode, d.Slot.Dose, start, start,
		d.Site.Lat, after.createdUS, after.createdUS, after.entryID)
	if err != nil {
		return nil, candidate{}, fmt.Errorf("list waitlist candidates: %w", err)
	}
	defer rows.Close()
	site := geo.Point{Lat: d.Site.Lat, Lng: d.Site.Lng}
	var out []candidate
	var last candidate
	for rows.Next() {
		var c candidate
		if err := rows.Scan(&c.entryID, &c.personID, &c.at.Lat, &c.at.Lng, &c.radiusKm, &c.createdUS); err != nil {
			return nil, candidate{}, err
		}
		last = c
		if geo.DistanceKm(c.at, site) <= c.radiusKm {
			out = append(out, c)
		}
	}
	return out, last, rows.Err()
}

// offerTo claims the entry and makes the offer inside a savepoint, so a
// refusal (the entry is taken, the person booked meanwhile, the seat is
// gone) undoes only this attempt. It reports whether an offer was made.
func (s *Service) offerTo(ctx context.Context, tx *store.Tx, c candidate, d booking.Detail, expires time.Time) (bool, error) {
	made := false
	err := tx.Savepoint(ctx, "waitlist_offer", func() error {
		var id string
		err := tx.QueryRowContext(ctx, s.q.Get("claim_entry"), c.entryID).Scan(&id)
		if store.IsNoRows(err) {
			return nil // another promotion holds it, or it just ended
		}
		if err != nil {
			return fmt.Errorf("claim waitlist entry: %w", err)
		}
		now := s.now()
		var booked int
		if err := tx.QueryRowContext(ctx, s.q.Get("has_dose"), c.personID, d.Slot.Dose).Scan(&booked); err != nil {
			return fmt.Errorf("read bookings: %w", err)
		}
		if booked > 0 {
			return s.setEntry(ctx, tx, c.entryID, EntryBooked, now)
		}
		h, err := s.cfg.Booking.HoldInTx(ctx, tx, c.personID, d.Slot.ID, expires, audit.System)
		if err != nil {
			return err
		}
		o := Offer{ID: ref.New("o_", 16), EntryID: c.entryID, SlotID: d.Slot.ID, HoldID: h.ID,
			State: OfferActive, ExpiresAt: h.ExpiresAt}
		_, err = tx.ExecContext(ctx, s.q.Get("insert_offer"), o.ID, o.EntryID, c.personID, o.SlotID, o.HoldID,
			o.ExpiresAt.UnixMicro(), now.UnixMicro(), now.UnixMicro())
		if store.IsUniqueViolation(err) {
			return errSkip // the person holds an offer already
		}
		if err != nil {
			return fmt.Errorf("insert offer: %w", err)
		}
		if err := s.setEntry(ctx, tx, c.entryID, EntryOffered, now); err != nil {
			return err
		}
		if err := audit.Append(ctx, tx, audit.Record{At: now, Actor: audit.System, Action: "waitlist.offered",
			Subjects: []string{"offer:" + o.ID, "waitlist:" + c.entryID, "hold:" + h.ID, fmt.Sprintf("slot:%d", d.Slot.ID)},
			Details:  map[string]any{"expires_at": o.ExpiresAt.Format(time.RFC3339)}}); err != nil {
			return err
		}
		if s.cfg.Offers != nil {
			if err := s.cfg.Offers.EnqueueOffer(ctx, tx, o.ID, c.personID, d.Slot.ID, o.ExpiresAt); err != nil {
				return err
			}
		}
		made = true
		return nil
	})
	if err == errSkip {
		return false, nil
	}
	return made, err
}

var errSkip = apperr.New("conflict", "skipped")

func (s *Service) setEntry(ctx context.Context, tx *store.Tx, id, status string, now time.Time) error {
	if _, err := tx.ExecContext(ctx, s.q.Get("set_entry_status"), status, now.UnixMicro(), id); err != nil {
		return fmt.Errorf("update waitlist entry: %w", err)
	}
	return nil
}

// PromoteSlot runs Promote in its own transaction: after a capacity rise or
// walk-in seats released to online booking.
func (s *Service) PromoteSlot(ctx context.Context, slotID int64) (int, error) {
	n := 0
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		n, err = s.Promote(ctx, tx, slotID)
		return err
	})
	return n, err
}

// OnEvent is the waitlist's booking.Listener, run inside the transaction
// of the change: a freed seat is offered at once; a booking made with an
// offer's hold uses the offer and closes the entry; a booking made for
// someone else by a person is recorded as a proxy booking.
func (s *Service) OnEvent(ctx context.Context, tx *store.Tx, e booking.Event) error {
	switch e.Kind {
	case booking.EventCancelled:
		_, err := s.Promote(ctx, tx, e.SlotID)
		return err
	case booking.EventRescheduled:
		_, err := s.Promote(ctx, tx, e.PreviousSlot)
		return err
	case booking.EventBooked:
		return s.onBooked(ctx, tx, e)
	}
	return nil
}

func (s *Service) onBooked(ctx context.Context, tx *store.Tx, e booking.Event) error {
	o, err := s.cfg.Booking.OriginInTx(ctx, tx, e.AppointmentID)
	if err != nil {
		return err
	}
	now := s.now()
	if o.HoldID != "" {
		var offerID, entryID string
		err := tx.QueryRowContext(ctx, s.q.Get("use_offer"), e.AppointmentID, now.UnixMicro(), o.HoldID).Scan(&offerID, &entryID)
		switch {
		case err == nil:
			if err := s.setEntry(ctx, tx, entryID, EntryBooked, now); err != nil {
				return err
			}
			if err := audit.Append(ctx, tx, audit.Record{At: now, Actor: "person:" + o.PersonRef, Action: "waitlist.offer_used",
				Subjects: []string{"offer:" + offerID, "appointment:" + e.AppointmentID}}); err != nil {
				return err
			}
		case !store.IsNoRows(err):
			return fmt.Errorf("use offer: %w", err)
		}
	}
	d, err := s.cfg.Booking.SlotDetailInTx(ctx, tx, e.SlotID)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, s.q.Get("close_entries_for_dose"), now.UnixMicro(), e.PersonID, d.Slot.Dose); err != nil {
		return fmt.Errorf("close waitlist entries: %w", err)
	}
	return s.recordProxy(ctx, tx, e.AppointmentID, o, now)
}

// ExpireOffers ends offers that expired, lost their hold or whose person
// booked the dose some other way; their seats go back to the pool and are
// offered to the next person. It returns how many offers ended.
func (s *Service) ExpireOffers(ctx context.Context) (int, error) {
	n := 0
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		n = 0
		now := s.now()
		rows, err := tx.QueryContext(ctx, s.q.Get("stale_offers"), now.UnixMicro())
		if err != nil {
			return fmt.Errorf("list stale offers: %w", err)
		}
		var stale []Offer
		for rows.Next() {
			var o Offer
			if err := rows.Scan(&o.ID, &o.EntryID, &o.SlotID, &o.HoldID); err != nil {
				rows.Close()
				return err
			}
			o.State = OfferActive
			stale = append(stale, o)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		slots := map[int64]bool{}
		for _, o := range stale {
			if err := s.endOffer(ctx, tx, o, OfferExpired, audit.System); err != nil {
				return err
			}
			slots[o.SlotID] = true
		}
		for id := range slots {
			if _, err := s.Promote(ctx, tx, id); err != nil {
				return err
			}
		}
		n = len(stale)
		return nil
	})
	return n, err
}

// endOffer ends an active offer, gives back its seat if its hold still
// keeps one, and lets the entry lapse (unless the person booked the dose).
func (s *Service) endOffer(ctx context.Context, tx *store.Tx, o Offer, state, actor string) error {
	now := s.now()
	res, err := tx.ExecContext(ctx, s.q.Get("end_offer"), state, now.UnixMicro(), o.ID)
	if err != nil {
		return fmt.Errorf("end offer: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	if _, err := s.cfg.Booking.ReleaseHoldInTx(ctx, tx, o.HoldID, actor); err != nil {
		return err
	}
	e, err := s.entry(ctx, tx, o.EntryID)
	if err != nil {
		return err
	}
	if e.Status == EntryOffered {
		if err := s.setEntry(ctx, tx, o.EntryID, EntryLapsed, now); err != nil {
			return err
		}
	}
	return audit.Append(ctx, tx, audit.Record{At: now, Actor: actor, Action: "waitlist.offer_" + state,
		Subjects: []string{"offer:" + o.ID, "waitlist:" + o.EntryID}})
}

func (s *Service) offersOf(ctx context.Context, q querier, personID int64) ([]Offer, error) {
	rows, err := q.QueryContext(ctx, s.q.Get("offers_of_person"), personID)
	if err != nil {
		return nil, fmt.Errorf("list offers: %w", err)
	}
	defer rows.Close()
	out := []Offer{}
	for rows.Next() {
		var o Offer
		var expires, created int64
		if err := rows.Scan(&o.ID, &o.EntryID, &o.SlotID, &o.HoldID, &o.State, &o.AppointmentID, &expires, &created); err != nil {
			return nil, err
		}
		o.ExpiresAt, o.CreatedAt = micros(expires), micros(created)
		if o.State == OfferActive && !o.ExpiresAt.After(s.now()) {
			o.State = OfferExpired
		}
		out = append(out, o)
	}
	return out, rows.Err()
}
