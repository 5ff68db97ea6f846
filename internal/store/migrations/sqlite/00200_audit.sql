-- +goose Up
-- The audit log. Records carry references and codes only, never names,
-- birth dates, conditions, contact details or addresses (invariant 8).
-- SQLite has one writer at a time, so records commit in seq order here.
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

CREATE TABLE audit_leaves (
    leaf_index INTEGER PRIMARY KEY,
    seq        INTEGER NOT NULL UNIQUE,
    leaf_hash  BLOB NOT NULL
);

CREATE TABLE audit_nodes (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;

CREATE TABLE audit_checkpoints (
    tree_size    INTEGER PRIMARY KEY,
    root_hash    BLOB NOT NULL,
    at_us        INTEGER NOT NULL,
    note         TEXT NOT NULL,
    range_hashes BLOB NOT NULL,
    low_seq      INTEGER NOT NULL
);

-- SQLite has no TRUNCATE: DELETE without WHERE is its truncate, and the
-- DELETE triggers refuse it too.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit: UPDATE on audit_log refused: the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit: DELETE on audit_log refused: the audit log is append-only'); END;
CREATE TRIGGER audit_leaves_no_update BEFORE UPDATE ON audit_leaves
BEGIN SELECT RAISE(ABORT, 'audit: UPDATE on audit_leaves refused: the audit log is append-only'); END;
CREATE TRIGGER audit_leaves_no_delete BEFORE DELETE ON audit_leaves
BEGIN SELECT RAISE(ABORT, 'audit: DELETE on audit_leaves refused: the audit log is append-only'); END;
CREATE TRIGGER audit_nodes_no_update BEFORE UPDATE ON audit_nodes
BEGIN SELECT RAISE(ABORT, 'audit: UPDATE on audit_nodes refused: the audit log is append-only'); END;
CREATE TRIGGER audit_nodes_no_delete BEFORE DELETE ON audit_nodes
BEGIN SELECT RAISE(ABORT, 'audit: DELETE on audit_nodes refused: the audit log is append-only'); END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit: UPDATE on audit_checkpoints refused: the audit log is append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit: DELETE on audit_checkpoints refused: the audit log is append-only'); END;

-- +goose Down
DROP TABLE audit_checkpoints;
DROP TABLE audit_nodes;
DROP TABLE audit_leaves;
DROP TABLE audit_log;
