-- name: insert_person
INSERT INTO people (ref, lookup_hash, contact_hash, sealed, lang, created_us)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (lookup_hash) DO NOTHING

-- name: person_by_lookup
SELECT id, ref, contact_hash FROM people WHERE lookup_hash = ?

-- name: update_person_details
-- Only a session whose contact matches the one on file may update the
-- postal code and language kept for the person.
UPDATE people SET sealed = ?, lang = ? WHERE id = ?

-- name: person_by_id
SELECT id, ref, sealed, lang FROM people WHERE id = ?

-- name: person_by_ref
SELECT id, ref, sealed, lang FROM people WHERE ref = ?

-- name: insert_session
INSERT INTO sessions (token_hash, person_id, trusted, expires_us, created_us) VALUES (?, ?, ?, ?, ?)

-- name: session
SELECT s.person_id, p.ref, s.trusted, s.expires_us, p.lang
FROM sessions s JOIN people p ON p.id = s.person_id
WHERE s.token_hash = ?

-- name: delete_expired_sessions
DELETE FROM sessions WHERE expires_us < ?

-- name: insert_staff
INSERT INTO staff_tokens (id, token_hash, role, site_id, created_us) VALUES (?, ?, ?, ?, ?)

-- name: staff
SELECT id, role, COALESCE(site_id, 0) FROM staff_tokens WHERE token_hash = ? AND revoked_us IS NULL

-- name: site_exists
SELECT 1 FROM sites WHERE id = ?
