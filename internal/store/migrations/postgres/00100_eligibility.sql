-- +goose Up
-- Published rule versions. The document column holds the canonical JSON of
-- the document as published; no statement ever updates it (a published
-- version is immutable). Only the scheduling columns change afterwards.
CREATE TABLE rule_versions (
    version       TEXT PRIMARY KEY,
    jurisdiction  TEXT NOT NULL,
    effective_us  BIGINT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    document      TEXT NOT NULL,
    digest        TEXT NOT NULL,            -- hex SHA-256 of document
    published_by  TEXT NOT NULL,
    published_us  BIGINT NOT NULL,
    -- '' not scheduled, 'pending' activates at effective_us, 'done' fired.
    schedule      TEXT NOT NULL DEFAULT '' CHECK (schedule IN ('', 'pending', 'done'))
);
CREATE INDEX rule_versions_schedule ON rule_versions (schedule, effective_us);

-- The one active version per jurisdiction.
CREATE TABLE rule_pointers (
    jurisdiction TEXT PRIMARY KEY,
    version      TEXT NOT NULL REFERENCES rule_versions (version),
    moved_us     BIGINT NOT NULL
);

-- Every move of a pointer: who, when, from which version to which. undone
-- marks an activation that a rollback reversed, so that successive
-- rollbacks walk further back instead of toggling.
CREATE TABLE rule_pointer_moves (
    id           BIGSERIAL PRIMARY KEY,
    jurisdiction TEXT NOT NULL,
    from_version TEXT NOT NULL DEFAULT '',
    to_version   TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('activate', 'scheduled', 'rollback')),
    actor        TEXT NOT NULL,
    at_us        BIGINT NOT NULL,
    undone       BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX rule_pointer_moves_jurisdiction ON rule_pointer_moves (jurisdiction, id);

-- Decisions. sealed holds the AES-GCM sealed attributes needed to evaluate
-- the person again; input_hash is the keyed hash of the evaluated input.
CREATE TABLE eligibility_decisions (
    ref            TEXT PRIMARY KEY,
    person_id      BIGINT NOT NULL REFERENCES people (id),
    jurisdiction   TEXT NOT NULL,
    rule_version   TEXT NOT NULL,
    eligible       BOOLEAN NOT NULL,
    reasons        TEXT NOT NULL DEFAULT '[]',   -- JSON array of reason codes
    input_hash     BYTEA NOT NULL,
    sealed         BYTEA NOT NULL,
    product        TEXT NOT NULL DEFAULT '',
    dose           INTEGER NOT NULL DEFAULT 0,
    evaluated_us   BIGINT NOT NULL,
    valid_until_us BIGINT NOT NULL
);
CREATE INDEX eligibility_decisions_recent ON eligibility_decisions (jurisdiction, evaluated_us);
CREATE INDEX eligibility_decisions_person ON eligibility_decisions (person_id);

-- Booking freezes: scope is 'all' or a region code.
CREATE TABLE booking_freezes (
    scope      TEXT PRIMARY KEY,
    reason     TEXT NOT NULL,
    actor      TEXT NOT NULL,
    until_us   BIGINT NOT NULL DEFAULT 0,   -- expected end, 0 when unknown
    created_us BIGINT NOT NULL
);

-- +goose Down
DROP TABLE booking_freezes, eligibility_decisions, rule_pointer_moves, rule_pointers, rule_versions;
