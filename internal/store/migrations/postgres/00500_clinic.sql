-- +goose Up
-- Clinic operations: the waitlist, its offers and who booked for whom.
-- No-shows need no table of their own: an appointment the sweep marks is
-- status 'no_show', and the counts per person and per site are a query.

CREATE TABLE waitlist_entries (
    id           TEXT PRIMARY KEY,
    person_id    BIGINT NOT NULL REFERENCES people (id),
    -- The area is the centroid of the ZIP the person gave plus a radius;
    -- the ZIP itself is personal data and is not kept here.
    lat          DOUBLE PRECISION NOT NULL,
    lng          DOUBLE PRECISION NOT NULL,
    radius_km    DOUBLE PRECISION NOT NULL CHECK (radius_km > 0),
    from_us      BIGINT NOT NULL,
    to_us        BIGINT NOT NULL,
    vaccine_code TEXT NOT NULL REFERENCES vaccines (code),
    dose         INTEGER NOT NULL CHECK (dose >= 1),
    decision_ref TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('waiting', 'offered', 'booked', 'left', 'lapsed')),
    created_us   BIGINT NOT NULL,
    updated_us   BIGINT NOT NULL,
    CHECK (to_us > from_us)
);
-- One live entry per person: "never two offers to one person at once"
-- starts here, and the offers index below backs it up.
CREATE UNIQUE INDEX waitlist_one_live ON waitlist_entries (person_id) WHERE status IN ('waiting', 'offered');
CREATE INDEX waitlist_waiting ON waitlist_entries (vaccine_code, dose, created_us) WHERE status = 'waiting';

CREATE TABLE waitlist_offers (
    id             TEXT PRIMARY KEY,
    entry_id       TEXT NOT NULL REFERENCES waitlist_entries (id),
    person_id      BIGINT NOT NULL REFERENCES people (id),
    slot_id        BIGINT NOT NULL REFERENCES slots (id),
    -- The hold that keeps the offered seat; booking with it uses the offer.
    hold_id        TEXT NOT NULL UNIQUE REFERENCES holds (id),
    state          TEXT NOT NULL CHECK (state IN ('active', 'used', 'expired', 'declined')),
    appointment_id TEXT,
    expires_us     BIGINT NOT NULL,
    created_us     BIGINT NOT NULL,
    updated_us     BIGINT NOT NULL
);
CREATE UNIQUE INDEX waitlist_offers_one_active ON waitlist_offers (person_id) WHERE state = 'active';
CREATE INDEX waitlist_offers_expiry ON waitlist_offers (expires_us) WHERE state = 'active';

-- A proxy booking: proxy_id booked appointment_id for another person.
CREATE TABLE proxy_bookings (
    appointment_id TEXT PRIMARY KEY REFERENCES appointments (id),
    proxy_id       BIGINT NOT NULL REFERENCES people (id),
    person_id      BIGINT NOT NULL REFERENCES people (id),
    created_us     BIGINT NOT NULL
);
CREATE INDEX proxy_bookings_proxy ON proxy_bookings (proxy_id);

CREATE INDEX appointments_status_slot ON appointments (status, slot_id);

-- +goose Down
DROP INDEX appointments_status_slot;
DROP TABLE proxy_bookings, waitlist_offers, waitlist_entries;
