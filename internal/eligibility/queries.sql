-- Rule versions. No statement updates document: published versions are
-- immutable; only the schedule column moves.

-- name: insert_version
INSERT INTO rule_versions (version, jurisdiction, effective_us, description, document, digest,
    published_by, published_us, schedule)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)

-- name: get_version
SELECT document FROM rule_versions WHERE version = ?

-- name: list_versions
SELECT v.version, v.jurisdiction, v.effective_us, v.description, v.digest, v.published_by,
    v.published_us, v.schedule, COALESCE(p.version, '')
FROM rule_versions v
LEFT JOIN rule_pointers p ON p.jurisdiction = v.jurisdiction
ORDER BY v.jurisdiction, v.effective_us, v.version

-- name: set_schedule
UPDATE rule_versions SET schedule = ? WHERE version = ?

-- Every pending version whose time has come, oldest first: the last one
-- of each jurisdiction wins, the others are marked done without firing.
-- name: due_versions
SELECT version, jurisdiction FROM rule_versions
WHERE schedule = 'pending' AND effective_us <= ?
ORDER BY jurisdiction, effective_us, version

-- name: get_pointer
SELECT version FROM rule_pointers WHERE jurisdiction = ?

-- Activation and rollback lock the pointer row, so two admins moving it
-- at once are serialized and each records the true "from" version.
-- name: lock_pointer postgres
SELECT version FROM rule_pointers WHERE jurisdiction = ? FOR UPDATE

-- name: lock_pointer sqlite
SELECT version FROM rule_pointers WHERE jurisdiction = ?

-- name: list_pointers
SELECT jurisdiction, version FROM rule_pointers ORDER BY jurisdiction

-- name: upsert_pointer
INSERT INTO rule_pointers (jurisdiction, version, moved_us) VALUES (?, ?, ?)
ON CONFLICT (jurisdiction) DO UPDATE SET version = excluded.version, moved_us = excluded.moved_us

-- name: insert_move
INSERT INTO rule_pointer_moves (jurisdiction, from_version, to_version, kind, actor, at_us)
VALUES (?, ?, ?, ?, ?, ?)

-- The latest activation that no rollback has reversed yet.
-- name: last_move
SELECT id, from_version, to_version FROM rule_pointer_moves
WHERE jurisdiction = ? AND kind <> 'rollback' AND undone = ?
ORDER BY id DESC LIMIT 1

-- name: mark_undone
UPDATE rule_pointer_moves SET undone = ? WHERE id = ?

-- name: list_moves
SELECT jurisdiction, from_version, to_version, kind, actor, at_us
FROM rule_pointer_moves ORDER BY id

-- Decisions.

-- name: insert_decision
INSERT INTO eligibility_decisions (ref, person_id, jurisdiction, rule_version, eligible, reasons,
    input_hash, sealed, product, dose, evaluated_us, valid_until_us)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)

-- name: get_decision
SELECT ref, person_id, jurisdiction, rule_version, eligible, reasons, input_hash, sealed,
    product, dose, evaluated_us, valid_until_us
FROM eligibility_decisions WHERE ref = ?

-- name: recent_decisions
SELECT ref, person_id, jurisdiction, rule_version, eligible, reasons, input_hash, sealed,
    product, dose, evaluated_us, valid_until_us
FROM eligibility_decisions
WHERE jurisdiction = ? AND evaluated_us >= ?
ORDER BY evaluated_us DESC
LIMIT ?

-- Inventory facts the rules need.

-- name: product_min_age
SELECT min_age FROM vaccines WHERE code = ?

-- name: all_min_ages
SELECT code, min_age FROM vaccines

-- Booked appointments whose slot is still ahead, with the region's
-- jurisdiction, for rules reevaluate.
-- name: future_booked
SELECT a.id, a.reference, a.person_id, a.vaccine_code, a.dose, a.decision_ref, s.start_us,
    st.region, r.jurisdiction
FROM appointments a
JOIN slots s ON s.id = a.slot_id
JOIN sites st ON st.id = s.site_id
JOIN regions r ON r.code = st.region
WHERE a.status = 'booked' AND s.start_us > ?
ORDER BY s.start_us, a.id

-- Freezes.

-- name: upsert_freeze
INSERT INTO booking_freezes (scope, reason, actor, until_us, created_us) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (scope) DO UPDATE SET reason = excluded.reason, actor = excluded.actor,
    until_us = excluded.until_us, created_us = excluded.created_us

-- name: delete_freeze
DELETE FROM booking_freezes WHERE scope = ?

-- name: list_freezes
SELECT scope, reason, actor, until_us, created_us FROM booking_freezes ORDER BY scope

-- name: region_exists
SELECT code FROM regions WHERE code = ?

-- name: region_state
-- One read for what every booking asks of its slot's region: its
-- jurisdiction, the version active there, and the freezes that cover it
-- (all, or the region) with the latest expected end.
SELECT r.jurisdiction,
       COALESCE((SELECT p.version FROM rule_pointers p WHERE p.jurisdiction = r.jurisdiction), ''),
       (SELECT COUNT(*) FROM booking_freezes f WHERE f.scope = 'all' OR f.scope = r.code),
       COALESCE((SELECT MAX(f.until_us) FROM booking_freezes f WHERE f.scope = 'all' OR f.scope = r.code), 0)
FROM regions r WHERE r.code = ?
