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

-- The capacity a feed asks for never goes below the seats already taken
-- (booked or held, capacity - remaining, read inside this statement, so a
-- booking that commits first is counted). remaining moves by the same
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
