-- Queries of the clinic operations. Lock order, added to booking's: a
-- waitlist entry is taken only with SKIP LOCKED (PostgreSQL), never waited
-- on, so a promotion inside a booking transaction that already holds slot
-- rows cannot close a cycle with a transaction that holds an entry. Other
-- writers take: waitlist entry, offer, hold, slot.

-- name: insert_entry
INSERT INTO waitlist_entries (id, person_id, lat, lng, radius_km, from_us, to_us, vaccine_code, dose,
                              decision_ref, status, created_us, updated_us)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'waiting', ?, ?)

-- name: entries_of_person
SELECT id, person_id, lat, lng, radius_km, from_us, to_us, vaccine_code, dose, decision_ref, status,
       created_us, updated_us
FROM waitlist_entries WHERE person_id = ? ORDER BY created_us, id

-- name: entry
SELECT id, person_id, lat, lng, radius_km, from_us, to_us, vaccine_code, dose, decision_ref, status,
       created_us, updated_us
FROM waitlist_entries WHERE id = ?

-- name: leave_entry
UPDATE waitlist_entries SET status = 'left', updated_us = ?
WHERE id = ? AND person_id = ? AND status IN ('waiting', 'offered')

-- name: candidates
-- Earliest first, a page at a time after (created_us, id). Read without
-- locks: each candidate is then claimed with claim_entry, which skips one
-- that another promotion holds. The latitude test is a necessary condition
-- for the radius (a degree of latitude is over 110.5 km), so the exact
-- distance, computed in Go, only runs on entries that may fit.
SELECT id, person_id, lat, lng, radius_km, created_us
FROM waitlist_entries
WHERE status = 'waiting' AND vaccine_code = ? AND dose = ? AND from_us <= ? AND to_us > ?
  AND ABS(lat - ?) * 110.5 <= radius_km
  AND (created_us > ? OR (created_us = ? AND id > ?))
ORDER BY created_us, id
LIMIT 200

-- name: claim_entry postgres
SELECT id FROM waitlist_entries WHERE id = ? AND status = 'waiting' FOR UPDATE SKIP LOCKED

-- name: claim_entry sqlite
SELECT id FROM waitlist_entries WHERE id = ? AND status = 'waiting'

-- name: has_dose
SELECT COUNT(*) FROM appointments WHERE person_id = ? AND dose = ? AND status IN ('booked', 'completed')

-- name: set_entry_status
UPDATE waitlist_entries SET status = ?, updated_us = ? WHERE id = ?

-- name: insert_offer
INSERT INTO waitlist_offers (id, entry_id, person_id, slot_id, hold_id, state, expires_us, created_us, updated_us)
VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?)

-- name: offers_of_person
SELECT id, entry_id, slot_id, hold_id, state, COALESCE(appointment_id, ''), expires_us, created_us
FROM waitlist_offers WHERE person_id = ? ORDER BY created_us, id

-- name: use_offer
-- The booking that used the offer's hold uses the offer: once, since the
-- hold can be confirmed only once.
UPDATE waitlist_offers SET state = 'used', appointment_id = ?, updated_us = ?
WHERE hold_id = ? AND state = 'active'
RETURNING id, entry_id

-- name: close_entries_for_dose
-- A person who booked the dose some other way needs no place in the queue.
UPDATE waitlist_entries SET status = 'booked', updated_us = ?
WHERE person_id = ? AND dose = ? AND status = 'waiting'

-- name: stale_offers
-- Offers to end: expired, their hold gone (released or expired by the
-- booking sweeper), or the person booked the dose elsewhere.
SELECT o.id, o.entry_id, o.slot_id, o.hold_id
FROM waitlist_offers o
JOIN holds h ON h.id = o.hold_id
JOIN waitlist_entries e ON e.id = o.entry_id
WHERE o.state = 'active'
  AND (o.expires_us <= ? OR h.state <> 'active'
       OR EXISTS (SELECT 1 FROM appointments a WHERE a.person_id = o.person_id AND a.dose = e.dose
                  AND a.status IN ('booked', 'completed')))
ORDER BY o.id
LIMIT 200

-- name: end_offer
UPDATE waitlist_offers SET state = ?, updated_us = ? WHERE id = ? AND state = 'active'

-- name: insert_proxy_booking
INSERT INTO proxy_bookings (appointment_id, proxy_id, person_id, created_us)
SELECT ?, p.id, a.person_id, ? FROM people p, appointments a WHERE p.ref = ? AND a.id = ?
ON CONFLICT (appointment_id) DO NOTHING

-- name: proxy_appointments
SELECT appointment_id FROM proxy_bookings WHERE proxy_id = ? ORDER BY created_us, appointment_id

-- name: report_rows
-- Aggregated per slot start so that the local day is computed in Go, in
-- each site's time zone, the same way on both engines.
SELECT si.region, si.time_zone, sl.start_us, a.vaccine_code, a.dose, a.status, COUNT(*)
FROM appointments a
JOIN slots sl ON sl.id = a.slot_id
JOIN sites si ON si.id = sl.site_id
WHERE sl.start_us >= ? AND sl.start_us < ?
GROUP BY si.region, si.time_zone, sl.start_us, a.vaccine_code, a.dose, a.status

-- name: lock_slot postgres
-- Promotions for one slot take turns: without this, a second run could skip
-- the earliest person (whose entry the first run holds) and win the seat for
-- someone who joined later.
SELECT id FROM slots WHERE id = ? FOR UPDATE

-- name: lock_slot sqlite
SELECT id FROM slots WHERE id = ?
