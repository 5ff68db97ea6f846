-- +goose Up
-- The waiting room's configuration: one row, so that a restart (and every
-- node) keeps what the admin set. The lottery seed is revealed only after
-- the draw; it is sealed with the data key when one is configured.
CREATE TABLE waitroom_settings (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    round        BIGINT NOT NULL,           -- bumps when mode or opening changes
    mode         TEXT NOT NULL CHECK (mode IN ('off', 'fifo', 'lottery')),
    opens_at_us  BIGINT NOT NULL,
    rate_per_s   DOUBLE PRECISION NOT NULL CHECK (rate_per_s > 0),
    token_ttl_s  INTEGER NOT NULL CHECK (token_ttl_s > 0),
    public_value TEXT NOT NULL DEFAULT '',
    seed         BYTEA NOT NULL,
    updated_us   BIGINT NOT NULL,
    updated_by   TEXT NOT NULL
);

-- Admission token signing keys (Ed25519), shared by every node through the
-- database. retired_us = 0 marks the key that signs; a retired key only
-- verifies, until the tokens it signed have expired.
CREATE TABLE waitroom_keys (
    kid         TEXT PRIMARY KEY,
    private_key BYTEA NOT NULL,
    created_us  BIGINT NOT NULL,
    retired_us  BIGINT NOT NULL DEFAULT 0
);

-- "Tell me if appointments come back": tied to a ticket by its hash, with
-- no contact details; the person's session or a later visit picks it up.
CREATE TABLE waitroom_notify_requests (
    ticket_hash TEXT PRIMARY KEY,
    round       BIGINT NOT NULL,
    created_us  BIGINT NOT NULL
);

-- +goose Down
DROP TABLE waitroom_notify_requests;
DROP TABLE waitroom_keys;
DROP TABLE waitroom_settings;
