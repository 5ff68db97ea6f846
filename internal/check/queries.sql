-- Queries of the invariant checker. They only read; each one is a plain
-- aggregate so that the comparison logic stays in Go and reads the same on
-- both engines.

-- name: slots
SELECT id, capacity, remaining, walkin_capacity, walkin_remaining FROM slots ORDER BY id;

-- Appointments that occupy a seat: booked, or completed (the person came).
-- Cancelled and no-show appointments gave their seat back.
-- name: active_appointments_per_slot
SELECT slot_id, pool, COUNT(*) FROM appointments
WHERE status IN ('booked', 'completed')
GROUP BY slot_id, pool;

-- Active holds, split by whether they have passed their expiry. An expired
-- hold that no sweep has released yet may still keep its seat, so the
-- checker accepts either count for those.
-- name: active_holds_per_slot
SELECT slot_id, pool,
       SUM(CASE WHEN expires_us > ? THEN 1 ELSE 0 END),
       SUM(CASE WHEN expires_us <= ? THEN 1 ELSE 0 END)
FROM holds
WHERE state = 'active'
GROUP BY slot_id, pool;

-- name: double_booked
SELECT a.id, a.person_id, a.dose FROM appointments a
JOIN (SELECT person_id, dose FROM appointments
      WHERE status IN ('booked', 'completed')
      GROUP BY person_id, dose HAVING COUNT(*) > 1) d
  ON d.person_id = a.person_id AND d.dose = a.dose
WHERE a.status IN ('booked', 'completed')
ORDER BY a.person_id, a.dose, a.id;

-- name: appointments
SELECT id, reference, created_us FROM appointments;

-- name: audit_subjects
SELECT subjects FROM audit_log WHERE action = ?;

-- name: job_table_exists sqlite
SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'river_job';

-- name: job_table_exists postgres
SELECT COUNT(*) FROM information_schema.tables
WHERE table_name = 'river_job' AND table_schema = ANY (current_schemas(false));

-- River stores job arguments as jsonb on both engines (SQLite's binary
-- JSONB since river's migration 7); json() turns either form into text,
-- which the checker decodes in Go.
-- name: job_args sqlite
SELECT json(args) FROM river_job WHERE kind = ?;

-- name: job_args postgres
SELECT args::text FROM river_job WHERE kind = ?;
