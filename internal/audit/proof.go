package audit

import (
	"context"
	"fmt"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/store"
)

// InclusionProof shows that one record is leaf LeafIndex of the tree whose
// signed checkpoint is Checkpoint. Anyone holding the log's public key can
// check it without the database: rebuild Leaf from Record (docs/AUDIT.md),
// hash it as an RFC 6962 leaf, fold in Hashes and compare with the root in
// the checkpoint, whose signature they check too.
type InclusionProof struct {
	Seq        int64      `json:"seq"`
	LeafIndex  uint64     `json:"leaf_index"`
	TreeSize   uint64     `json:"tree_size"`
	Leaf       []byte     `json:"leaf"`
	LeafHash   []byte     `json:"leaf_hash"`
	Hashes     [][]byte   `json:"hashes"`
	Checkpoint Checkpoint `json:"checkpoint"`
	Record     Record     `json:"record"`
}

// ConsistencyProof shows that the tree of size To extends the tree of size
// From: nothing sealed before From was changed or removed.
type ConsistencyProof struct {
	From           uint64     `json:"from"`
	To             uint64     `json:"to"`
	Hashes         [][]byte   `json:"hashes"`
	FromCheckpoint Checkpoint `json:"from_checkpoint"`
	ToCheckpoint   Checkpoint `json:"to_checkpoint"`
}

// ProveRecord returns the inclusion proof of the record seq against the
// newest checkpoint: what a support agent hands a citizen. A record not yet
// sealed is a not-found apperr that says so; it is sealed within a second
// or two.
func ProveRecord(ctx context.Context, db *store.DB, seq int64) (InclusionProof, error) {
	cp, err := LatestCheckpoint(ctx, db)
	if err != nil {
		return InclusionProof{}, err
	}
	return Prove(ctx, db, seq, cp.TreeSize)
}

// Prove returns the inclusion proof of record seq against the checkpoint
// of the given tree size.
func Prove(ctx context.Context, db *store.DB, seq int64, size uint64) (InclusionProof, error) {
	q := queries(db.Dialect)
	cp, err := checkpointAt(ctx, db, size)
	if err != nil {
		return InclusionProof{}, err
	}
	var index int64
	var leafHash []byte
	err = db.Read.QueryRowContext(ctx, q.Get("leaf_by_seq"), seq).Scan(&index, &leafHash)
	if store.IsNoRows(err) {
		return InclusionProof{}, apperr.NotFound(fmt.Sprintf("sealed audit record %d", seq))
	}
	if err != nil {
		return InclusionProof{}, fmt.Errorf("read leaf: %w", err)
	}
	if uint64(index) >= size {
		return InclusionProof{}, apperr.New("not-found", "audit record %d is sealed after checkpoint %d", seq, size)
	}
	e, err := scanEntry(db.Read.QueryRowContext(ctx, q.Get("record_by_seq"), seq))
	if err != nil {
		return InclusionProof{}, fmt.Errorf("read record: %w", err)
	}
	rec, err := e.Record()
	if err != nil {
		return InclusionProof{}, err
	}
	nodes, err := proof.Inclusion(uint64(index), size)
	if err != nil {
		return InclusionProof{}, fmt.Errorf("inclusion proof: %w", err)
	}
	hashes, err := rehash(ctx, db, q, nodes)
	if err != nil {
		return InclusionProof{}, err
	}
	return InclusionProof{Seq: seq, LeafIndex: uint64(index), TreeSize: size, Leaf: e.Leaf(),
		LeafHash: leafHash, Hashes: hashes, Checkpoint: cp, Record: rec}, nil
}

// Consistency returns the proof that the checkpoint of size to extends the
// checkpoint of size from. Both must be signed checkpoints.
func Consistency(ctx context.Context, db *store.DB, from, to uint64) (ConsistencyProof, error) {
	if from > to {
		return ConsistencyProof{}, apperr.Invalid("from", "must not be larger than to")
	}
	fromCp, err := checkpointAt(ctx, db, from)
	if err != nil {
		return ConsistencyProof{}, err
	}
	toCp, err := checkpointAt(ctx, db, to)
	if err != nil {
		return ConsistencyProof{}, err
	}
	nodes, err := proof.Consistency(from, to)
	if err != nil {
		return ConsistencyProof{}, fmt.Errorf("consistency proof: %w", err)
	}
	hashes, err := rehash(ctx, db, queries(db.Dialect), nodes)
	if err != nil {
		return ConsistencyProof{}, err
	}
	return ConsistencyProof{From: from, To: to, Hashes: hashes, FromCheckpoint: fromCp, ToCheckpoint: toCp}, nil
}

func rehash(ctx context.Context, db *store.DB, q *store.Queries, nodes proof.Nodes) ([][]byte, error) {
	hashes, err := nodeHashes(ctx, db.Read, q, nodes.IDs)
	if err != nil {
		return nil, err
	}
	out, err := nodes.Rehash(hashes, rfc6962.DefaultHasher.HashChildren)
	if err != nil {
		return nil, fmt.Errorf("rehash proof: %w", err)
	}
	return out, nil
}

// ProveSubject returns the citizen-shareable inclusion proof of the newest
// record about subject (a reference such as "decision:REF") with the given
// action, against the newest checkpoint. The support view of a decision
// uses it with ("decision:"+ref, "eligibility.decided"). A record written
// in the last second or so may not be sealed yet: that is a not-found
// apperr saying so.
func ProveSubject(ctx context.Context, db *store.DB, subject, action string) (InclusionProof, error) {
	page, err := Search(ctx, db, Query{Subject: subject, Action: action, Limit: 1})
	if err != nil {
		return InclusionProof{}, err
	}
	if len(page.Records) == 0 {
		return InclusionProof{}, apperr.NotFound(fmt.Sprintf("audit record of %s", subject))
	}
	return ProveRecord(ctx, db, page.Records[0].Seq)
}
