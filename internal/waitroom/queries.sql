-- name: settings_get
SELECT round, mode, opens_at_us, rate_per_s, token_ttl_s, public_value, seed, updated_us
FROM waitroom_settings WHERE id = 1

-- name: settings_insert
INSERT INTO waitroom_settings (id, round, mode, opens_at_us, rate_per_s, token_ttl_s, public_value, seed, updated_us, updated_by)
VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)

-- The row is locked first so that two admins saving at once are applied
-- one after the other, and the round bumps once per change.
-- name: settings_lock postgres
SELECT round FROM waitroom_settings WHERE id = 1 FOR UPDATE

-- name: settings_lock sqlite
SELECT round FROM waitroom_settings WHERE id = 1

-- name: settings_update
UPDATE waitroom_settings SET round = ?, mode = ?, opens_at_us = ?, rate_per_s = ?, token_ttl_s = ?,
    public_value = ?, seed = ?, updated_us = ?, updated_by = ?
WHERE id = 1

-- name: keys_list
SELECT kid, private_key, created_us, retired_us FROM waitroom_keys ORDER BY created_us, kid

-- name: keys_retire_current
UPDATE waitroom_keys SET retired_us = ? WHERE retired_us = 0

-- name: keys_insert
INSERT INTO waitroom_keys (kid, private_key, created_us, retired_us) VALUES (?, ?, ?, 0)

-- Keys retired long enough ago that no token they signed can still be
-- valid are deleted, so a leaked old key is worthless.
-- name: keys_prune
DELETE FROM waitroom_keys WHERE retired_us > 0 AND retired_us < ?

-- name: notify_insert
INSERT INTO waitroom_notify_requests (ticket_hash, round, created_us) VALUES (?, ?, ?)

-- name: notify_count
SELECT COUNT(*) FROM waitroom_notify_requests WHERE round = ?
