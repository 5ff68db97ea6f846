-- Read-only queries of the staff console. Every write goes through the
-- domain services (booking, eligibility), which audit it.

-- name: staff_sites
SELECT id, region, name, city, state, time_zone
FROM sites ORDER BY name, id LIMIT 1000

-- name: day_list
SELECT a.id, a.reference, a.person_id, a.status, a.dose, a.vaccine_code, s.start_us
FROM appointments a JOIN slots s ON s.id = a.slot_id
WHERE s.site_id = ? AND s.start_us >= ? AND s.start_us < ? AND a.status <> 'cancelled'
ORDER BY s.start_us, a.reference
LIMIT 2000
