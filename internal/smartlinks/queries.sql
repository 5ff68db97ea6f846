-- Import writes sites and slots keyed by the feed they came from, so that
-- importing a feed again updates rows instead of adding them.

-- name: vaccine_codes
SELECT code, doses FROM vaccines;

-- name: region_ensure
INSERT INTO regions (code, name, jurisdiction) VALUES (?, ?, ?)
ON CONFLICT (code) DO NOTHING;

-- name: sites_of_source
SELECT id, external_id, region, name, address, city, state, postal_code, lat, lng,
       time_zone, phone, url, identifiers
FROM sites WHERE source = ?;

-- name: site_insert
INSERT INTO sites (region, name, address, city, state, postal_code, lat, lng,
                   time_zone, phone, url, identifiers, source, external_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
RETURNING id;

-- name: site_update
UPDATE sites SET region = ?, name = ?, address = ?, city = ?, state = ?,
       postal_code = ?, lat = ?, lng = ?, time_zone = ?, phone = ?, url = ?,
       identifiers = ?
WHERE id = ?;

-- name: slots_of_source
SELECT id, external_key, site_id, vaccine_code, dose, start_us, end_us, capacity, remaining,
       deep_link
FROM slots WHERE source = ?;

-- name: slot_insert
INSERT INTO slots (site_id, vaccine_code, dose, start_us, end_us, capacity, remaining,
                   source, external_key, deep_link, updated_us)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- An existing slot is locked before it is checked for seats taken, so a
-- booking or hold cannot commit between the check and the update (on
-- SQLite the transaction already holds the single writer).
-- name: slot_lock postgres
SELECT id FROM slots WHERE id = ? FOR UPDATE;

-- name: slot_lock sqlite
SELECT id FROM slots WHERE id = ?;

-- The online seats taken, and whether anyone uses the slot: seats taken
-- in either pool (booked, held, completed or missed), booked appointments
-- and active holds. Read in its own statement after slot_lock, so on
-- PostgreSQL it sees what committed while we waited for the lock.
-- name: slot_in_use
SELECT capacity - remaining,
       (capacity - remaining) + (walkin_capacity - walkin_remaining)
     + (SELECT COUNT(*) FROM appointments a WHERE a.slot_id = s.id AND a.status = 'booked')
     + (SELECT COUNT(*) FROM holds h WHERE h.slot_id = s.id AND h.state = 'active')
FROM slots s WHERE s.id = ?;

-- The capacity a feed asks for never goes below the seats already taken
-- (booked or held, capacity - remaining). remaining moves by the same
-- amount as capacity. SET expressions all see the row's old values.
-- name: slot_update postgres
UPDATE slots SET site_id = ?, vaccine_code = ?, dose = ?, start_us = ?, end_us = ?,
       deep_link = ?, updated_us = ?,
       capacity = GREATEST(?::integer, capacity - remaining),
       remaining = GREATEST(?::integer, capacity - remaining) - (capacity - remaining)
WHERE id = ?
RETURNING capacity;

-- name: slot_update sqlite
UPDATE slots SET site_id = ?, vaccine_code = ?, dose = ?, start_us = ?, end_us = ?,
       deep_link = ?, updated_us = ?,
       capacity = MAX(?, capacity - remaining),
       remaining = MAX(?, capacity - remaining) - (capacity - remaining)
WHERE id = ?
RETURNING capacity;
