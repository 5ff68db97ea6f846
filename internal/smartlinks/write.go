package smartlinks

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/store"
)

type existingSite struct {
	id                                                      int64
	region, name, address, city, state, postal, zone, phone string
	url, identifiers                                        string
	lat, lng                                                float64
}

type existingSlot struct {
	id                  int64
	siteID              int64
	vaccine             string
	dose                int
	startUS, endUS      int64
	capacity, remaining int
	deepLink            string
}

// write stores what read accepted: regions and sites in one transaction,
// then slots in batches, the audit record with the last batch.
func (im *importer) write(ctx context.Context) error {
	existing, err := im.existingSites(ctx)
	if err != nil {
		return err
	}
	err = im.db.InTx(ctx, func(tx *store.Tx) error {
		if err := im.ensureRegions(ctx, tx); err != nil {
			return err
		}
		return im.writeSites(ctx, tx, existing)
	})
	if err != nil {
		return err
	}
	slots, err := im.existingSlots(ctx)
	if err != nil {
		return err
	}
	return im.writeSlots(ctx, slots)
}

func (im *importer) ensureRegions(ctx context.Context, tx *store.Tx) error {
	done := map[string]bool{}
	for _, s := range im.p.sites {
		if done[s.region] {
			continue
		}
		done[s.region] = true
		res, err := tx.ExecContext(ctx, im.q.Get("region_ensure"), s.region, s.regionName, s.region)
		if err != nil {
			return fmt.Errorf("create region: %w", err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			im.rep.Regions++
		}
	}
	return nil
}

func (im *importer) existingSites(ctx context.Context) (map[string]existingSite, error) {
	rows, err := im.db.Read.QueryContext(ctx, im.q.Get("sites_of_source"), im.rep.Source)
	if err != nil {
		return nil, fmt.Errorf("read sites: %w", err)
	}
	defer rows.Close()
	out := map[string]existingSite{}
	for rows.Next() {
		var e existingSite
		var ext string
		err := rows.Scan(&e.id, &ext, &e.region, &e.name, &e.address, &e.city, &e.state, &e.postal,
			&e.lat, &e.lng, &e.zone, &e.phone, &e.url, &e.identifiers)
		if err != nil {
			return nil, fmt.Errorf("read sites: %w", err)
		}
		out[ext] = e
	}
	return out, rows.Err()
}

func (im *importer) writeSites(ctx context.Context, tx *store.Tx, existing map[string]existingSite) error {
	for _, s := range im.p.sites {
		want := existingSite{region: s.region, name: s.name, address: s.address, city: s.city,
			state: s.state, postal: s.postalCode, zone: s.zone.String(), phone: s.phone, url: s.url,
			identifiers: s.identifiers, lat: s.point.Lat, lng: s.point.Lng}
		old, found := existing[s.extID]
		switch {
		case !found:
			err := tx.QueryRowContext(ctx, im.q.Get("site_insert"), want.region, want.name, want.address,
				want.city, want.state, want.postal, want.lat, want.lng, want.zone, want.phone, want.url,
				want.identifiers, im.rep.Source, s.extID).Scan(&s.id)
			if err != nil {
				return fmt.Errorf("insert site: %w", err)
			}
			im.rep.Locations.Inserted++
		case sameSiteRow(old, want):
			s.id = old.id
			im.rep.Locations.Unchanged++
		default:
			s.id = old.id
			_, err := tx.ExecContext(ctx, im.q.Get("site_update"), want.region, want.name, want.address,
				want.city, want.state, want.postal, want.lat, want.lng, want.zone, want.phone, want.url,
				want.identifiers, old.id)
			if err != nil {
				return fmt.Errorf("update site: %w", err)
			}
			im.rep.Locations.Updated++
		}
	}
	im.rep.Sites = len(im.p.sites)
	return nil
}

func sameSiteRow(a, b existingSite) bool {
	a.id, b.id = 0, 0
	return a == b
}

func (im *importer) existingSlots(ctx context.Context) (map[string]existingSlot, error) {
	rows, err := im.db.Read.QueryContext(ctx, im.q.Get("slots_of_source"), im.rep.Source)
	if err != nil {
		return nil, fmt.Errorf("read slots: %w", err)
	}
	defer rows.Close()
	out := map[string]existingSlot{}
	for rows.Next() {
		var e existingSlot
		var key string
		err := rows.Scan(&e.id, &key, &e.siteID, &e.vaccine, &e.dose, &e.startUS, &e.endUS,
			&e.capacity, &e.remaining, &e.deepLink)
		if err != nil {
			return nil, fmt.Errorf("read slots: %w", err)
		}
		out[key] = e
	}
	return out, rows.Err()
}

func (im *importer) writeSlots(ctx context.Context, existing map[string]existingSlot) error {
	all := im.p.slots
	for start := 0; start < len(all) || start == 0; start += im.opts.BatchSize {
		batch := all[start:min(start+im.opts.BatchSize, len(all))]
		last := start+im.opts.BatchSize >= len(all)
		err := im.db.InTx(ctx, func(tx *store.Tx) error {
			counts := im.rep.Slots
			for _, s := range batch {
				if err := im.writeSlot(ctx, tx, s, existing); err != nil {
					im.rep.Slots = counts // the batch rolls back; so do its counts
					return err
				}
			}
			if last {
				return im.appendAudit(ctx, tx)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	im.rep.SlotsStored = len(all)
	return nil
}

func (im *importer) writeSlot(ctx context.Context, tx *store.Tx, s *slotRow, existing map[string]existingSlot) error {
	now := im.opts.Clock.Now().UnixMicro()
	site, sc := s.schedule.site, s.schedule
	want := existingSlot{siteID: site.id, vaccine: sc.vaccine, dose: sc.dose, startUS: s.start.UnixMicro(),
		endUS: s.end.UnixMicro(), capacity: s.capacity, deepLink: s.deepLink}
	old, found := existing[s.key]
	if !found {
		_, err := tx.ExecContext(ctx, im.q.Get("slot_insert"), want.siteID, want.vaccine, want.dose,
			want.startUS, want.endUS, want.capacity, want.capacity, im.rep.Source, s.key, want.deepLink, now)
		if err != nil {
			return fmt.Errorf("insert slot: %w", err)
		}
		im.rep.Slots.Inserted++
		return nil
	}
	if sameSlotRow(old, want, old.capacity-old.remaining) {
		im.unchangedSlot(want.capacity, old.capacity-old.remaining)
		return nil
	}
	taken, inUse, err := im.slotInUse(ctx, tx, old.id)
	if err != nil {
		return err
	}
	if inUse {
		want = im.keepBooked(old, want)
		if sameSlotRow(old, want, taken) {
			im.unchangedSlot(want.capacity, taken)
			return nil
		}
	}
	var capacity int
	err = tx.QueryRowContext(ctx, im.q.Get("slot_update"), want.siteID, want.vaccine, want.dose, want.startUS,
		want.endUS, want.deepLink, now, want.capacity, want.capacity, old.id).Scan(&capacity)
	if err != nil {
		return fmt.Errorf("update slot: %w", err)
	}
	if capacity > want.capacity {
		im.rep.note("capacity_kept_at_seats_taken")
	}
	im.rep.Slots.Updated++
	return nil
}

// sameSlotRow reports whether writing want over old would change nothing,
// given the seats taken (capacity never drops below them).
func sameSlotRow(old, want existingSlot, taken int) bool {
	return old.siteID == want.siteID && old.vaccine == want.vaccine && old.dose == want.dose &&
		old.startUS == want.startUS && old.endUS == want.endUS && old.deepLink == want.deepLink &&
		old.capacity == max(want.capacity, taken)
}

func (im *importer) unchangedSlot(capacity, taken int) {
	im.rep.Slots.Unchanged++
	if capacity < taken {
		im.rep.note("capacity_kept_at_seats_taken")
	}
}

// slotInUse locks the slot and returns its online seats taken and whether
// anyone holds, booked or used a seat in it. The lock keeps a booking from
// committing between this check and the update.
func (im *importer) slotInUse(ctx context.Context, tx *store.Tx, id int64) (int, bool, error) {
	var locked int64
	if err := tx.QueryRowContext(ctx, im.q.Get("slot_lock"), id).Scan(&locked); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, false, fmt.Errorf("update slot %d: it disappeared during the import", id)
		}
		return 0, false, fmt.Errorf("lock slot: %w", err)
	}
	var taken, used int
	if err := tx.QueryRowContext(ctx, im.q.Get("slot_in_use"), id).Scan(&taken, &used); err != nil {
		return 0, false, fmt.Errorf("check slot use: %w", err)
	}
	return taken, used > 0, nil
}

// keepBooked returns want with the time, site, vaccine and dose of a slot
// people hold or booked put back to what they were: moving them would
// change appointments behind their owners' backs (no audit record, no
// message, reminders at the old time). Each kept change is reported.
// Capacity and the deep link still follow the feed.
func (im *importer) keepBooked(old, want existingSlot) existingSlot {
	if old.startUS != want.startUS || old.endUS != want.endUS {
		im.rep.skip("slot_booked_time_kept")
		want.startUS, want.endUS = old.startUS, old.endUS
	}
	if old.siteID != want.siteID || old.vaccine != want.vaccine || old.dose != want.dose {
		im.rep.skip("slot_booked_schedule_kept")
		want.siteID, want.vaccine, want.dose = old.siteID, old.vaccine, old.dose
	}
	return want
}

// appendAudit records the import with its counts: references and numbers,
// no personal data.
func (im *importer) appendAudit(ctx context.Context, tx *store.Tx) error {
	details := map[string]any{
		"source": im.rep.Source, "sites": len(im.p.sites), "slots": len(im.p.slots),
		"slots_inserted": im.rep.Slots.Inserted, "slots_updated": im.rep.Slots.Updated,
		"skipped": im.rep.Skipped,
	}
	if im.rep.Shift != nil {
		details["shift_days"] = im.rep.Shift.Days
	}
	return audit.Append(ctx, tx, audit.Record{At: im.opts.Clock.Now(), Actor: im.opts.Actor,
		Action: "inventory.imported", Subjects: []string{"source:" + im.rep.Source}, Details: details})
}
