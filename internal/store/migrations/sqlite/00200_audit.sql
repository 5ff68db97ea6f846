-- +goose Up
-- The audit log. Records carry references and codes only, never names,
-- birth dates, conditions, contact details or addresses (invariant 8).
CREATE TABLE audit_log (
    seq          INTEGER PRIMARY KEY,
    at_us        BIGINT NOT NULL,
    actor        TEXT NOT NULL,            -- person:REF, staff:ID or system
    action       TEXT NOT NULL,            -- booking.created, eligibility.decided, ...
    subjects     TEXT NOT NULL DEFAULT '[]',  -- JSON array of references
    rule_version TEXT NOT NULL DEFAULT '',
    reasons      TEXT NOT NULL DEFAULT '[]',  -- JSON array of reason codes
    input_hash   TEXT NOT NULL DEFAULT '',    -- hex keyed hash of decision inputs
    details      TEXT NOT NULL DEFAULT '{}'   -- JSON of non-personal facts
);
CREATE INDEX audit_log_action ON audit_log (action, at_us);

-- +goose Down
DROP TABLE audit_log;
