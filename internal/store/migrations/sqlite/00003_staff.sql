-- +goose Up
-- Staff tokens are shown once at creation; only their hash is kept.
CREATE TABLE staff_tokens (
    id          TEXT PRIMARY KEY,
    token_hash  BLOB NOT NULL UNIQUE,
    role        TEXT NOT NULL CHECK (role IN ('admin', 'clinic', 'support', 'auditor', 'agent')),
    site_id     BIGINT REFERENCES sites (id),
    created_us  BIGINT NOT NULL,
    revoked_us  BIGINT
);

-- +goose Down
DROP TABLE staff_tokens;
