package booking

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/store"
)

// Detail is an appointment or slot with everything a response or a message
// shows about it.
type Detail struct {
	Appointment Appointment `json:"appointment"`
	Slot        Slot        `json:"slot"`
	Site        Site        `json:"site"`
	Vaccine     Vaccine     `json:"vaccine"`
}

// slotDetail reads a slot with its site and product.
func (s *Service) slotDetail(ctx context.Context, q querier, id int64) (Detail, error) {
	var d Detail
	var start, end int64
	sl, si, v := &d.Slot, &d.Site, &d.Vaccine
	err := q.QueryRowContext(ctx, s.q.Get("slot_for_booking"), id).Scan(&sl.ID, &sl.SiteID, &sl.VaccineCode,
		&sl.Dose, &start, &end, &sl.Capacity, &sl.Remaining, &sl.WalkInCapacity, &sl.WalkInRemaining,
		&sl.DeepLink, &si.ID, &si.Region, &si.Name, &si.Address, &si.City, &si.State, &si.PostalCode,
		&si.Lat, &si.Lng, &si.TimeZone, &si.Phone, &si.URL, &si.Source, &si.ExternalID, &si.BookTogether,
		&v.Code, &v.Name, &v.Doses, &v.MinIntervalDays, &v.MaxIntervalDays, &v.MinAge)
	if store.IsNoRows(err) {
		return d, apperr.NotFound("slot")
	}
	if err != nil {
		return d, fmt.Errorf("read slot: %w", err)
	}
	sl.Start, sl.End = micros(start), micros(end)
	return d, nil
}

// querier is a transaction or a pool.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// takeSeat takes one seat of the pool, the only way any path takes one.
// When the pool looks empty it first gives back the seats of this slot's
// expired holds (no sweeper needs to have run) and tries once more.
func (s *Service) takeSeat(ctx context.Context, tx *store.Tx, slotID int64, pool string) error {
	now := s.now()
	ok, err := s.takeSeatOnce(ctx, tx, slotID, pool, now)
	if err != nil || ok {
		return err
	}
	n, err := s.expireSlotHolds(ctx, tx, slotID, now)
	if err != nil {
		return err
	}
	if n > 0 {
		if ok, err = s.takeSeatOnce(ctx, tx, slotID, pool, now); err != nil || ok {
			return err
		}
	}
	return apperr.New("slot-full", "no seats are left in that slot's %s pool", poolName(pool))
}

func (s *Service) takeSeatOnce(ctx context.Context, tx *store.Tx, slotID int64, pool string, now time.Time) (bool, error) {
	q := s.q.Get("take_online_seat")
	if pool == PoolWalkIn {
		q = s.q.Get("take_walkin_seat")
	}
	res, err := tx.ExecContext(ctx, q, now.UnixMicro(), slotID)
	if err != nil {
		if store.IsCheckViolation(err) {
			// Only reachable if the conditional UPDATE were wrong; the
			// constraint refused it and the transaction is void.
			return false, apperr.New("slot-full", "no seats are left in that slot")
		}
		return false, fmt.Errorf("take seat: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// returnSeats gives n seats back to a pool. The CHECK constraint refuses a
// pool above its capacity, so a seat can never be returned twice.
func (s *Service) returnSeats(ctx context.Context, tx *store.Tx, slotID int64, pool string, n int) error {
	if n == 0 {
		return nil
	}
	q := s.q.Get("return_online_seats")
	if pool == PoolWalkIn {
		q = s.q.Get("return_walkin_seats")
	}
	if _, err := tx.ExecContext(ctx, q, n, s.now().UnixMicro(), slotID); err != nil {
		return fmt.Errorf("return seat: %w", err)
	}
	return nil
}

// expireSlotHolds expires the slot's lapsed holds and returns their seats.
func (s *Service) expireSlotHolds(ctx context.Context, tx *store.Tx, slotID int64, now time.Time) (int, error) {
	rows, err := tx.QueryContext(ctx, s.q.Get("expire_slot_holds"), slotID, now.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("expire holds: %w", err)
	}
	byPool := map[string]int{}
	var ids []string
	for rows.Next() {
		var id, pool string
		if err := rows.Scan(&id, &pool); err != nil {
			rows.Close()
			return 0, err
		}
		byPool[pool]++
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for pool, n := range byPool {
		if err := s.returnSeats(ctx, tx, slotID, pool, n); err != nil {
			return 0, err
		}
	}
	for _, id := range ids {
		if err := s.audit(ctx, tx, audit.Record{At: now, Actor: audit.System, Action: "hold.expired",
			Subjects: []string{"hold:" + id, slotSubject(slotID)}}); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// ExpireHolds is the sweeper's pass: it expires lapsed holds everywhere, in
// batches, and returns how many it expired. Booking does not depend on it;
// it keeps search counts honest between bookings.
func (s *Service) ExpireHolds(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := s.expireBatch(ctx)
		total += n
		if err != nil || n < 500 {
			return total, err
		}
	}
}

func (s *Service) expireBatch(ctx context.Context) (int, error) {
	n := 0
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		n = 0
		now := s.now()
		rows, err := tx.QueryContext(ctx, s.q.Get("expire_holds_batch"), now.UnixMicro())
		if err != nil {
			return fmt.Errorf("expire holds: %w", err)
		}
		type key struct {
			slot int64
			pool string
		}
		seats := map[key]int{}
		var recs []audit.Record
		for rows.Next() {
			var id, pool string
			var slotID int64
			if err := rows.Scan(&id, &slotID, &pool); err != nil {
				rows.Close()
				return err
			}
			seats[key{slotID, pool}]++
			recs = append(recs, audit.Record{At: now, Actor: audit.System, Action: "hold.expired",
				Subjects: []string{"hold:" + id, slotSubject(slotID)}})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		keys := make([]key, 0, len(seats))
		for k := range seats {
			keys = append(keys, k)
		}
		// Slot rows in ascending id, the lock order every transaction keeps.
		sort.Slice(keys, func(i, j int) bool { return keys[i].slot < keys[j].slot })
		for _, k := range keys {
			if err := s.returnSeats(ctx, tx, k.slot, k.pool, seats[k]); err != nil {
				return err
			}
		}
		for _, r := range recs {
			if err := s.audit(ctx, tx, r); err != nil {
				return err
			}
		}
		n = len(recs)
		return nil
	})
	return n, err
}

func poolName(pool string) string {
	if pool == PoolWalkIn {
		return "walk-in"
	}
	return "online"
}

func slotSubject(id int64) string { return fmt.Sprintf("slot:%d", id) }
