-- +goose Up
-- Times are microseconds since the Unix epoch (UTC) in BIGINT columns on both
-- engines, so the two stores share their arithmetic and never depend on a
-- session time zone.
CREATE TABLE regions (
    code         TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    jurisdiction TEXT NOT NULL
);

CREATE TABLE vaccines (
    code              TEXT PRIMARY KEY,          -- CVX code
    name              TEXT NOT NULL,
    doses             INTEGER NOT NULL CHECK (doses >= 1),
    min_interval_days INTEGER NOT NULL DEFAULT 0,
    max_interval_days INTEGER NOT NULL DEFAULT 0,
    min_age           INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE sites (
    id            BIGSERIAL PRIMARY KEY,
    region        TEXT NOT NULL REFERENCES regions (code),
    name          TEXT NOT NULL,
    address       TEXT NOT NULL DEFAULT '',
    city          TEXT NOT NULL DEFAULT '',
    state         TEXT NOT NULL DEFAULT '',
    postal_code   TEXT NOT NULL DEFAULT '',
    lat           DOUBLE PRECISION NOT NULL,
    lng           DOUBLE PRECISION NOT NULL,
    time_zone     TEXT NOT NULL,
    phone         TEXT NOT NULL DEFAULT '',
    url           TEXT NOT NULL DEFAULT '',
    source        TEXT NOT NULL DEFAULT 'local',
    external_id   TEXT NOT NULL,
    identifiers   TEXT NOT NULL DEFAULT '[]',    -- JSON [{system, value}]
    book_together BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (source, external_id)
);

CREATE TABLE slots (
    id               BIGSERIAL PRIMARY KEY,
    site_id          BIGINT NOT NULL REFERENCES sites (id),
    vaccine_code     TEXT NOT NULL REFERENCES vaccines (code),
    dose             INTEGER NOT NULL CHECK (dose >= 1),
    start_us         BIGINT NOT NULL,
    end_us           BIGINT NOT NULL,
    capacity         INTEGER NOT NULL CHECK (capacity >= 0),
    remaining        INTEGER NOT NULL,
    walkin_capacity  INTEGER NOT NULL DEFAULT 0 CHECK (walkin_capacity >= 0),
    walkin_remaining INTEGER NOT NULL DEFAULT 0,
    source           TEXT NOT NULL DEFAULT 'local',
    external_key     TEXT NOT NULL,
    deep_link        TEXT NOT NULL DEFAULT '',
    updated_us       BIGINT NOT NULL DEFAULT 0,
    UNIQUE (source, external_key),
    -- The last line of defence for invariant 1: whatever the code does, the
    -- database refuses a pool below zero or above its capacity.
    CONSTRAINT slots_remaining_range CHECK (remaining >= 0 AND remaining <= capacity),
    CONSTRAINT slots_walkin_range CHECK (walkin_remaining >= 0 AND walkin_remaining <= walkin_capacity),
    CHECK (end_us > start_us)
);
CREATE INDEX slots_site_start ON slots (site_id, start_us);
CREATE INDEX slots_updated ON slots (updated_us);

CREATE TABLE people (
    id          BIGSERIAL PRIMARY KEY,
    ref         TEXT NOT NULL UNIQUE,
    lookup_hash BYTEA NOT NULL UNIQUE,   -- keyed hash of normalised name + birth date
    contact_hash BYTEA NOT NULL,         -- keyed hash of the contact on file
    sealed      BYTEA NOT NULL,          -- AES-GCM sealed identity and contact
    lang        TEXT NOT NULL DEFAULT 'en',
    created_us  BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash BYTEA PRIMARY KEY,
    person_id  BIGINT NOT NULL REFERENCES people (id),
    -- A session whose contact differs from the one on file may book but may
    -- not read or change existing appointments: knowing someone's name and
    -- birth date must not hand over their bookings.
    trusted    BOOLEAN NOT NULL,
    expires_us BIGINT NOT NULL,
    created_us BIGINT NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_us);

CREATE TABLE holds (
    id         TEXT PRIMARY KEY,
    slot_id    BIGINT NOT NULL REFERENCES slots (id),
    person_id  BIGINT NOT NULL REFERENCES people (id),
    pool       TEXT NOT NULL DEFAULT 'online' CHECK (pool IN ('online', 'walkin')),
    state      TEXT NOT NULL CHECK (state IN ('active', 'confirmed', 'released', 'expired')),
    expires_us BIGINT NOT NULL,
    created_us BIGINT NOT NULL
);
CREATE INDEX holds_active_slot ON holds (slot_id, expires_us) WHERE state = 'active';
CREATE INDEX holds_active_expiry ON holds (expires_us) WHERE state = 'active';

CREATE TABLE appointments (
    id           TEXT PRIMARY KEY,
    reference    TEXT NOT NULL UNIQUE,
    person_id    BIGINT NOT NULL REFERENCES people (id),
    slot_id      BIGINT NOT NULL REFERENCES slots (id),
    vaccine_code TEXT NOT NULL,
    dose         INTEGER NOT NULL,
    pool         TEXT NOT NULL DEFAULT 'online' CHECK (pool IN ('online', 'walkin')),
    status       TEXT NOT NULL CHECK (status IN ('booked', 'cancelled', 'completed', 'no_show')),
    decision_ref TEXT NOT NULL DEFAULT '',
    rule_version TEXT NOT NULL DEFAULT '',
    hold_id      TEXT,
    booked_by    TEXT NOT NULL DEFAULT '',   -- actor: person ref or staff token id
    created_us   BIGINT NOT NULL,
    updated_us   BIGINT NOT NULL
);
-- Invariant 2: one active appointment per person and dose.
CREATE UNIQUE INDEX appointments_one_per_dose ON appointments (person_id, dose)
    WHERE status IN ('booked', 'completed');
CREATE INDEX appointments_slot ON appointments (slot_id, status);
CREATE INDEX appointments_person ON appointments (person_id);

CREATE TABLE idempotency_keys (
    scope         TEXT NOT NULL,   -- caller and route
    key           TEXT NOT NULL,
    request_hash  BYTEA NOT NULL,
    status_code   INTEGER NOT NULL,
    response      BYTEA NOT NULL,
    location      TEXT NOT NULL DEFAULT '',
    created_us    BIGINT NOT NULL,
    expires_us    BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_expiry ON idempotency_keys (expires_us);

-- +goose Down
DROP TABLE idempotency_keys, appointments, holds, sessions, people, slots, sites, vaccines, regions;
