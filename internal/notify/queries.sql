-- Queries of the notification outbox. River owns its own tables; these read
-- the booking tables the outbox needs to decide what to schedule.

-- name: appointment_plan
-- Read inside the booking transaction, so it sees the change the event
-- announces (the new slot of a reschedule) before it commits.
SELECT s.start_us, a.dose, v.doses, v.min_interval_days
FROM appointments a
JOIN slots s ON s.id = a.slot_id
JOIN vaccines v ON v.code = a.vaccine_code
WHERE a.id = ?

-- name: dose_booked
-- A next-dose reminder is pointless once that dose is booked or given.
SELECT COUNT(*) FROM appointments
WHERE person_id = ? AND dose = ? AND status IN ('booked', 'completed')
