-- Queries of the clinic operations (series.go, checkin.go, walkin.go,
-- capacity.go, offerhold.go). They keep the lock order written at the top of
-- queries.sql: idempotency key, appointment, hold, slot rows (ascending id),
-- then new appointment rows.

-- name: later_doses
-- Later doses of the same series that are still booked, in id order (the
-- order their rows are locked in when they are cancelled together).
SELECT id FROM appointments
WHERE person_id = ? AND vaccine_code = ? AND dose > ? AND status = 'booked'
ORDER BY id

-- name: next_dose_slots
SELECT id FROM slots
WHERE site_id = ? AND vaccine_code = ? AND dose = ? AND start_us >= ? AND start_us < ? AND start_us > ?
  AND remaining > 0
ORDER BY start_us, id
LIMIT ?

-- name: check_in
UPDATE appointments SET status = 'completed', updated_us = ? WHERE id = ? AND status = 'booked'
RETURNING person_id, slot_id, dose

-- name: mark_no_shows postgres
-- SKIP LOCKED: an appointment being cancelled or checked in right now is
-- left for the next pass instead of waited on.
UPDATE appointments SET status = 'no_show', updated_us = ?
WHERE id IN (SELECT a.id FROM appointments a JOIN slots sl ON sl.id = a.slot_id
             WHERE a.status = 'booked' AND sl.end_us <= ? ORDER BY a.id LIMIT 500
             FOR UPDATE OF a SKIP LOCKED)
  AND status = 'booked'
RETURNING id, slot_id, person_id, dose

-- name: mark_no_shows sqlite
UPDATE appointments SET status = 'no_show', updated_us = ?
WHERE id IN (SELECT a.id FROM appointments a JOIN slots sl ON sl.id = a.slot_id
             WHERE a.status = 'booked' AND sl.end_us <= ? ORDER BY a.id LIMIT 500)
  AND status = 'booked'
RETURNING id, slot_id, person_id, dose

-- name: no_shows_of_person
SELECT COUNT(*) FROM appointments WHERE person_id = ? AND status = 'no_show'

-- name: no_shows_of_site
SELECT COUNT(*) FROM appointments a JOIN slots sl ON sl.id = a.slot_id
WHERE sl.site_id = ? AND a.status = 'no_show'

-- name: lock_slot postgres
SELECT site_id, walkin_remaining FROM slots WHERE id = ? FOR UPDATE

-- name: lock_slot sqlite
SELECT site_id, walkin_remaining FROM slots WHERE id = ?

-- name: release_walkins
-- One statement moves every unused walk-in seat to the online pool; both
-- range CHECKs hold before and after, whatever runs beside it.
UPDATE slots SET capacity = capacity + walkin_remaining, remaining = remaining + walkin_remaining,
       walkin_capacity = walkin_capacity - walkin_remaining, walkin_remaining = 0, updated_us = ?
WHERE id = ?

-- name: set_capacity
-- remaining = capacity - booked - held, so the condition is "the new
-- capacity is at least what is booked and held". Zero rows means refused.
UPDATE slots SET remaining = remaining + (? - capacity), capacity = ?, updated_us = ?
WHERE id = ? AND remaining + (? - capacity) >= 0
RETURNING capacity, remaining

-- name: move_appointment_slot
UPDATE appointments SET slot_id = ?, updated_us = ? WHERE id = ?

-- name: release_hold_by_id
UPDATE holds SET state = 'released' WHERE id = ? AND state = 'active'
RETURNING slot_id, pool

-- name: appointment_origin
SELECT a.booked_by, p.ref, COALESCE(a.hold_id, '') FROM appointments a JOIN people p ON p.id = a.person_id
WHERE a.id = ?

-- name: set_book_together
UPDATE sites SET book_together = ? WHERE id = ?
