-- Lock order, kept by every transaction here so that two of them never wait
-- on each other in a cycle: idempotency key, appointment, hold, slot rows
-- (in ascending id), then new appointment rows.

-- name: slot_for_booking
SELECT sl.id, sl.site_id, sl.vaccine_code, sl.dose, sl.start_us, sl.end_us, sl.capacity, sl.remaining,
       sl.walkin_capacity, sl.walkin_remaining, sl.deep_link,
       si.id, si.region, si.name, si.address, si.city, si.state, si.postal_code, si.lat, si.lng,
       si.time_zone, si.phone, si.url, si.source, si.external_id, si.book_together,
       v.code, v.name, v.doses, v.min_interval_days, v.max_interval_days, v.min_age
FROM slots sl JOIN sites si ON si.id = sl.site_id JOIN vaccines v ON v.code = sl.vaccine_code
WHERE sl.id = ?

-- name: take_online_seat
-- The only statement that takes an online seat. The condition makes it a
-- no-op on an empty pool; CHECK (remaining >= 0) backs it up.
UPDATE slots SET remaining = remaining - 1, updated_us = ? WHERE id = ? AND remaining > 0

-- name: take_walkin_seat
UPDATE slots SET walkin_remaining = walkin_remaining - 1, updated_us = ? WHERE id = ? AND walkin_remaining > 0

-- name: return_online_seats
-- CHECK (remaining <= capacity) refuses a seat returned twice.
UPDATE slots SET remaining = remaining + ?, updated_us = ? WHERE id = ?

-- name: return_walkin_seats
UPDATE slots SET walkin_remaining = walkin_remaining + ?, updated_us = ? WHERE id = ?

-- name: expire_slot_holds
-- Flips expired holds of one slot; only the transaction whose UPDATE
-- flipped a row gives its seat back, so a seat returns exactly once.
UPDATE holds SET state = 'expired' WHERE slot_id = ? AND state = 'active' AND expires_us <= ?
RETURNING id, pool

-- name: expire_holds_batch postgres
UPDATE holds SET state = 'expired'
WHERE id IN (SELECT id FROM holds WHERE state = 'active' AND expires_us <= ? ORDER BY id LIMIT 500 FOR UPDATE SKIP LOCKED)
RETURNING id, slot_id, pool

-- name: expire_holds_batch sqlite
UPDATE holds SET state = 'expired'
WHERE id IN (SELECT id FROM holds WHERE state = 'active' AND expires_us <= ? ORDER BY id LIMIT 500)
RETURNING id, slot_id, pool

-- name: insert_hold
INSERT INTO holds (id, slot_id, person_id, pool, state, expires_us, created_us)
VALUES (?, ?, ?, ?, 'active', ?, ?)

-- name: release_person_holds
-- A person keeps one hold at a time: a new hold releases the others.
UPDATE holds SET state = 'released' WHERE person_id = ? AND state = 'active'
RETURNING id, slot_id, pool

-- name: release_hold
UPDATE holds SET state = 'released' WHERE id = ? AND person_id = ? AND state = 'active' AND expires_us > ?
RETURNING slot_id, pool

-- name: confirm_hold
UPDATE holds SET state = 'confirmed' WHERE id = ? AND person_id = ? AND state = 'active' AND expires_us > ?
RETURNING slot_id, pool

-- name: confirm_person_slot_hold
-- Booking a slot the person already holds uses the held seat.
UPDATE holds SET state = 'confirmed'
WHERE id = (SELECT id FROM holds WHERE person_id = ? AND slot_id = ? AND state = 'active' AND expires_us > ? ORDER BY id LIMIT 1)
RETURNING slot_id, pool

-- name: extend_hold
UPDATE holds SET expires_us = ? WHERE id = ? AND person_id = ? AND state = 'active' AND expires_us > ?
RETURNING slot_id

-- name: hold
SELECT id, slot_id, person_id, pool, state, expires_us FROM holds WHERE id = ?

-- name: insert_appointment
INSERT INTO appointments (id, reference, person_id, slot_id, vaccine_code, dose, pool, status,
                          decision_ref, rule_version, hold_id, booked_by, created_us, updated_us)
VALUES (?, ?, ?, ?, ?, ?, ?, 'booked', ?, ?, ?, ?, ?, ?)
ON CONFLICT (reference) DO NOTHING

-- name: previous_dose
SELECT a.vaccine_code, sl.start_us FROM appointments a JOIN slots sl ON sl.id = a.slot_id
WHERE a.person_id = ? AND a.dose = ? AND a.status IN ('booked', 'completed')

-- name: cancel_appointment
-- RETURNING reads the row as this statement left it: if a reschedule
-- committed first, the seat goes back to the new slot, not the old one.
UPDATE appointments SET status = 'cancelled', updated_us = ?
WHERE id = ? AND status = 'booked'
RETURNING slot_id, pool, person_id, dose

-- name: lock_appointment
-- Takes the appointment's row lock before any slot is touched.
UPDATE appointments SET updated_us = ? WHERE id = ? AND status = 'booked'
RETURNING person_id, slot_id, pool, dose, vaccine_code, decision_ref

-- name: move_appointment
UPDATE appointments SET slot_id = ?, vaccine_code = ?, rule_version = ?, updated_us = ? WHERE id = ?

-- name: appointment
SELECT id, reference, person_id, slot_id, vaccine_code, dose, pool, status, decision_ref, rule_version,
       booked_by, created_us, updated_us
FROM appointments WHERE id = ?

-- name: appointment_by_reference
SELECT id, reference, person_id, slot_id, vaccine_code, dose, pool, status, decision_ref, rule_version,
       booked_by, created_us, updated_us
FROM appointments WHERE reference = ?

-- name: appointments_of_person
SELECT id, reference, person_id, slot_id, vaccine_code, dose, pool, status, decision_ref, rule_version,
       booked_by, created_us, updated_us
FROM appointments WHERE person_id = ? ORDER BY created_us, id

-- name: slot
SELECT id, site_id, vaccine_code, dose, start_us, end_us, capacity, remaining, walkin_capacity,
       walkin_remaining, deep_link
FROM slots WHERE id = ?

-- name: site
SELECT id, region, name, address, city, state, postal_code, lat, lng, time_zone, phone, url, source,
       external_id, book_together
FROM sites WHERE id = ?

-- name: vaccine
SELECT code, name, doses, min_interval_days, max_interval_days, min_age FROM vaccines WHERE code = ?

-- name: insert_idempotency
-- DO NOTHING rather than an error: on PostgreSQL a duplicate from another
-- node waits here for the first to finish, then inserts nothing.
INSERT INTO idempotency_keys (scope, key, request_hash, status_code, response, location, created_us, expires_us)
VALUES (?, ?, ?, 0, ?, '', ?, ?)
ON CONFLICT (scope, key) DO NOTHING

-- name: idempotency_expiry
SELECT expires_us FROM idempotency_keys WHERE scope = ? AND key = ?

-- name: complete_idempotency
UPDATE idempotency_keys SET status_code = ?, response = ?, location = ? WHERE scope = ? AND key = ?

-- name: idempotency
SELECT request_hash, status_code, response, location, expires_us FROM idempotency_keys WHERE scope = ? AND key = ?

-- name: delete_idempotency
DELETE FROM idempotency_keys WHERE scope = ? AND key = ?

-- name: delete_expired_idempotency
DELETE FROM idempotency_keys WHERE expires_us < ?

-- name: insert_region
INSERT INTO regions (code, name, jurisdiction) VALUES (?, ?, ?) ON CONFLICT (code) DO NOTHING

-- name: insert_site
INSERT INTO sites (region, name, address, city, state, postal_code, lat, lng, time_zone, phone, url,
                   source, external_id, book_together)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
RETURNING id

-- name: insert_slot
INSERT INTO slots (site_id, vaccine_code, dose, start_us, end_us, capacity, remaining, walkin_capacity,
                   walkin_remaining, source, external_key, updated_us)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (source, external_key) DO NOTHING

-- name: delete_expired_idempotency_key
DELETE FROM idempotency_keys WHERE scope = ? AND key = ? AND expires_us < ?
