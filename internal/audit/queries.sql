-- Queries of the audit log, its Merkle tree and its checkpoints.

-- name: latest_checkpoint
SELECT tree_size, root_hash, at_us, note, range_hashes, low_seq
FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1

-- name: checkpoint_at
SELECT tree_size, root_hash, at_us, note, range_hashes, low_seq
FROM audit_checkpoints WHERE tree_size = ?

-- The first checkpoint that contains a given leaf: the smallest one whose
-- size is past the leaf's index.
-- name: checkpoint_covering
SELECT tree_size, root_hash, at_us, note, range_hashes, low_seq
FROM audit_checkpoints WHERE tree_size > ? ORDER BY tree_size LIMIT 1

-- name: checkpoints
SELECT tree_size, root_hash, at_us, note, range_hashes, low_seq
FROM audit_checkpoints ORDER BY tree_size

-- One sealer at a time: a second one (another node) skips its round rather
-- than racing for the same leaf indexes. SQLite's single writer already
-- serializes the sealer's transaction.
-- name: try_lock postgres
-- Advisory locks are per database, not per schema: the key includes the
-- schema so that two vaxbook schemas in one database (tests, staging) each
-- have their own sealer.
SELECT pg_try_advisory_xact_lock(7400200, hashtext(current_schema()))
-- name: try_lock sqlite
SELECT 1

-- The oldest transaction still running. Every transaction older than it
-- has committed or rolled back.
-- name: horizon postgres
SELECT pg_snapshot_xmin(pg_current_snapshot())::text::BIGINT
-- name: horizon sqlite
SELECT 0

-- The highest committed seq and the first transaction id not yet started
-- when it was read, taken in one statement so both describe one moment.
-- name: committed_mark postgres
SELECT COALESCE((SELECT max(seq) FROM audit_log), 0), pg_snapshot_xmax(pg_current_snapshot())::text::BIGINT
-- name: committed_mark sqlite
SELECT COALESCE((SELECT max(seq) FROM audit_log), 0), 0

-- Committed records that are not leaves yet, oldest seq first. A record
-- committed late (a lower seq after higher ones were sealed) shows up here
-- in a later round: the scan starts at low_seq, not at the highest sealed
-- seq.
-- name: unsealed
SELECT a.seq, a.at_us, a.actor, a.action, a.subjects, a.rule_version, a.reasons, a.input_hash, a.details
FROM audit_log a
WHERE a.seq > ? AND NOT EXISTS (SELECT 1 FROM audit_leaves l WHERE l.seq = a.seq)
ORDER BY a.seq LIMIT ?

-- name: unsealed_count
SELECT count(*), COALESCE(min(a.at_us), 0)
FROM audit_log a
WHERE a.seq > ? AND NOT EXISTS (SELECT 1 FROM audit_leaves l WHERE l.seq = a.seq)

-- Records behind low_seq that are not leaves: they cannot come from the
-- service (low_seq only passes a seq once it is sealed or can never
-- commit), so verification reports them.
-- name: unsealed_behind
SELECT a.seq FROM audit_log a
WHERE a.seq <= ? AND NOT EXISTS (SELECT 1 FROM audit_leaves l WHERE l.seq = a.seq)
ORDER BY a.seq LIMIT 1

-- name: insert_leaves postgres
INSERT INTO audit_leaves (leaf_index, seq, leaf_hash)
SELECT * FROM unnest(?::BIGINT[], ?::BIGINT[], ?::BYTEA[])

-- name: insert_leaf
INSERT INTO audit_leaves (leaf_index, seq, leaf_hash) VALUES (?, ?, ?)

-- name: insert_nodes postgres
INSERT INTO audit_nodes (level, idx, hash)
SELECT * FROM unnest(?::SMALLINT[], ?::BIGINT[], ?::BYTEA[])

-- name: insert_node
INSERT INTO audit_nodes (level, idx, hash) VALUES (?, ?, ?)

-- name: insert_checkpoint
INSERT INTO audit_checkpoints (tree_size, root_hash, at_us, note, range_hashes, low_seq)
VALUES (?, ?, ?, ?, ?, ?)

-- name: ensure_partitions postgres
SELECT audit_ensure_partitions(?, ?)

-- name: leaf_by_seq
SELECT leaf_index, leaf_hash FROM audit_leaves WHERE seq = ?

-- name: leaf_hash
SELECT leaf_hash FROM audit_leaves WHERE leaf_index = ?

-- name: node_hash
SELECT hash FROM audit_nodes WHERE level = ? AND idx = ?

-- name: leaf_hashes_range
SELECT leaf_hash FROM audit_leaves WHERE leaf_index >= ? AND leaf_index < ? ORDER BY leaf_index

-- name: record_by_seq
SELECT seq, at_us, actor, action, subjects, rule_version, reasons, input_hash, details
FROM audit_log WHERE seq = ?

-- The whole tree in leaf order with the record each leaf stands for (or
-- none, if it is gone). Verification streams it.
-- name: leaves_with_records
SELECT l.leaf_index, l.seq, l.leaf_hash, a.seq, a.at_us, a.actor, a.action, a.subjects,
       a.rule_version, a.reasons, a.input_hash, a.details
FROM audit_leaves l LEFT JOIN audit_log a ON a.seq = l.seq
ORDER BY l.leaf_index, a.at_us

-- Search, newest first, keyset-paginated on seq. Empty filters match all.
-- name: search
SELECT seq, at_us, actor, action, subjects, rule_version, reasons, input_hash, details
FROM audit_log
WHERE at_us >= ? AND at_us < ? AND seq < ?
  AND (? = '' OR action = ?)
  AND (? = '' OR subjects LIKE ? ESCAPE '\')
ORDER BY seq DESC LIMIT ?

-- A month for the export bundle, with each record's leaf.
-- name: month_records
SELECT a.seq, a.at_us, a.actor, a.action, a.subjects, a.rule_version, a.reasons, a.input_hash,
       a.details, l.leaf_index
FROM audit_log a JOIN audit_leaves l ON l.seq = a.seq
WHERE a.at_us >= ? AND a.at_us < ? AND l.leaf_index < ?
ORDER BY l.leaf_index

-- name: records_between
SELECT a.seq, a.at_us, a.actor, a.action, a.subjects, a.rule_version, a.reasons, a.input_hash,
       a.details, l.leaf_index
FROM audit_leaves l JOIN audit_log a ON a.seq = l.seq
WHERE l.leaf_index >= ? AND l.leaf_index < ? ORDER BY l.leaf_index
