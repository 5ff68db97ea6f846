-- +goose Up
-- The audit log. Records carry references and codes only, never names,
-- birth dates, conditions, contact details or addresses (invariant 8).
--
-- txid comes before seq on purpose: PostgreSQL evaluates column defaults in
-- column order, so the inserting transaction has its id before it draws a
-- sequence number. The sealer relies on that to tell a gap left by a
-- rolled-back transaction from one a slow transaction may still fill
-- (docs/AUDIT.md, "Sealing order").
--
-- Partitioned by month on at_us; a DEFAULT partition catches any month the
-- maintenance function has not created yet, so an insert never fails for
-- want of a partition.
CREATE TABLE audit_log (
    txid         xid8 NOT NULL DEFAULT pg_current_xact_id(),
    seq          BIGSERIAL,
    at_us        BIGINT NOT NULL,
    actor        TEXT NOT NULL,            -- person:REF, staff:ID or system
    action       TEXT NOT NULL,            -- booking.created, eligibility.decided, ...
    subjects     TEXT NOT NULL DEFAULT '[]',  -- JSON array of references
    rule_version TEXT NOT NULL DEFAULT '',
    reasons      TEXT NOT NULL DEFAULT '[]',  -- JSON array of reason codes
    input_hash   TEXT NOT NULL DEFAULT '',    -- hex keyed hash of decision inputs
    details      TEXT NOT NULL DEFAULT '{}',  -- JSON of non-personal facts
    PRIMARY KEY (seq, at_us)
) PARTITION BY RANGE (at_us);
CREATE INDEX audit_log_action ON audit_log (action, at_us);
CREATE TABLE audit_log_default PARTITION OF audit_log DEFAULT;

-- Leaves of the Merkle tree, in the order the sealer appended them. seq is
-- UNIQUE: a record is sealed once; leaf_index is dense from 0.
CREATE TABLE audit_leaves (
    leaf_index BIGINT PRIMARY KEY,
    seq        BIGINT NOT NULL UNIQUE,
    leaf_hash  BYTEA NOT NULL
);

-- Perfect subtree roots from level 4 up (one row per 16 records), so that a
-- proof reads O(log n) rows instead of rehashing the tree; the three levels
-- below are rehashed from at most 15 leaves when a proof needs them.
CREATE TABLE audit_nodes (
    level SMALLINT NOT NULL,
    idx   BIGINT NOT NULL,
    hash  BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);

-- Signed checkpoints. range_hashes is the compact range of [0, tree_size)
-- (32-byte hashes, concatenated) the sealer resumes from; low_seq is the
-- sequence number at or below which every record is sealed or can never
-- commit.
CREATE TABLE audit_checkpoints (
    tree_size    BIGINT PRIMARY KEY,
    root_hash    BYTEA NOT NULL,
    at_us        BIGINT NOT NULL,
    note         TEXT NOT NULL,
    range_hashes BYTEA NOT NULL,
    low_seq      BIGINT NOT NULL
);

-- +goose StatementBegin
CREATE FUNCTION audit_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit: % on % refused: the audit log is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd

-- Row triggers on a partitioned table are cloned onto every partition;
-- TRUNCATE triggers are not, so each partition gets its own.
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_reject_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_reject_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_log_default
    FOR EACH STATEMENT EXECUTE FUNCTION audit_reject_change();
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit_leaves
    FOR EACH ROW EXECUTE FUNCTION audit_reject_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_leaves
    FOR EACH STATEMENT EXECUTE FUNCTION audit_reject_change();
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit_nodes
    FOR EACH ROW EXECUTE FUNCTION audit_reject_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION audit_reject_change();
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_reject_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_reject_change();

-- audit_ensure_partitions creates the monthly partitions from the month of
-- now_us through months_ahead months later. A month whose rows already sit
-- in the DEFAULT partition is left there: moving them would mean deleting
-- from the log. SECURITY DEFINER so that the service role, which may not
-- create tables, can still have partitions made ahead.
-- +goose StatementBegin
CREATE FUNCTION audit_ensure_partitions(now_us BIGINT, months_ahead INT) RETURNS INT
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    first_month TIMESTAMP := date_trunc('month', to_timestamp(now_us / 1000000.0) AT TIME ZONE 'UTC');
    m    TIMESTAMP;
    lo   BIGINT;
    hi   BIGINT;
    part TEXT;
    made INT := 0;
BEGIN
    FOR i IN 0..months_ahead LOOP
        m := first_month + make_interval(months => i);
        lo := (extract(epoch FROM m AT TIME ZONE 'UTC') * 1000000)::BIGINT;
        hi := (extract(epoch FROM (m + interval '1 month') AT TIME ZONE 'UTC') * 1000000)::BIGINT;
        part := 'audit_log_' || to_char(m, 'YYYY_MM');
        CONTINUE WHEN to_regclass(part) IS NOT NULL;
        CONTINUE WHEN EXISTS (SELECT 1 FROM audit_log_default WHERE at_us >= lo AND at_us < hi);
        EXECUTE format('CREATE TABLE %I PARTITION OF audit_log FOR VALUES FROM (%s) TO (%s)', part, lo, hi);
        EXECUTE format('CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON %I '
            'FOR EACH STATEMENT EXECUTE FUNCTION audit_reject_change()', part);
        made := made + 1;
    END LOOP;
    RETURN made;
END
$$;
-- +goose StatementEnd

-- Pin the definer function to this schema so a caller's search_path cannot
-- redirect it.
-- +goose StatementBegin
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION audit_ensure_partitions(BIGINT, INT) SET search_path = %I, pg_temp',
        current_schema());
END
$$;
-- +goose StatementEnd

SELECT audit_ensure_partitions((extract(epoch FROM now()) * 1000000)::BIGINT, 2);

-- +goose Down
DROP TABLE audit_checkpoints;
DROP TABLE audit_nodes;
DROP TABLE audit_leaves;
DROP TABLE audit_log;
DROP FUNCTION audit_ensure_partitions(BIGINT, INT);
DROP FUNCTION audit_reject_change();
