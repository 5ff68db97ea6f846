-- The read model's view of the booking tables. It only reads; bookings
-- bump slots.updated_us on every seat change, which lets a refresh fetch
-- just what changed.

-- name: vaccines
SELECT code, name FROM vaccines;

-- name: sites
SELECT id, region, name, address, city, state, postal_code, lat, lng,
       time_zone, phone, url
FROM sites;

-- name: slots_future
SELECT id, site_id, vaccine_code, dose, start_us, end_us, capacity,
       remaining, walkin_capacity, walkin_remaining, updated_us
FROM slots
WHERE end_us > ?;

-- name: slots_changed
SELECT id, site_id, vaccine_code, dose, start_us, end_us, capacity,
       remaining, walkin_capacity, walkin_remaining, updated_us
FROM slots
WHERE updated_us > ?;

-- name: site_by_id
SELECT id, region, name, address, city, state, postal_code, lat, lng,
       time_zone, phone, url
FROM sites WHERE id = ?;
