package audit

import (
	"bytes"
	"context"
	"fmt"

	"github.com/transparency-dev/merkle/compact"

	"github.com/vaxbook/vaxbook/internal/store"
)

// Problem kinds a verification can report.
const (
	ProblemRecordMissing      = "record-missing"       // a leaf's record is gone
	ProblemRecordAltered      = "record-altered"       // a record no longer hashes to its leaf
	ProblemRecordDuplicated   = "record-duplicated"    // two rows carry one sealed seq
	ProblemRecordUnsealed     = "record-unsealed"      // a record behind the sealer that is no leaf
	ProblemLeafOrder          = "leaf-order"           // leaf indexes are not 0, 1, 2, ...
	ProblemCheckpointRoot     = "checkpoint-root"      // a checkpoint's root is not the tree's
	ProblemCheckpointSig      = "checkpoint-signature" // a checkpoint's signature does not verify
	ProblemCheckpointBeyond   = "checkpoint-beyond-tree"
	ProblemCheckpointMismatch = "checkpoint-columns" // stored size or root differ from the signed text
	ProblemCheckpointRange    = "checkpoint-range"   // the sealer's resume state is not the tree's
)

// Problem is one disagreement between the records, the tree and the
// checkpoints. Seq is 0 for problems of a checkpoint as a whole.
type Problem struct {
	Kind      string `json:"kind"`
	Seq       int64  `json:"seq,omitempty"`
	LeafIndex int64  `json:"leaf_index,omitempty"`
	TreeSize  uint64 `json:"tree_size,omitempty"`
	Detail    string `json:"detail"`
}

// Report is the result of Verify. OK is true when nothing disagrees.
type Report struct {
	OK          bool      `json:"ok"`
	Leaves      uint64    `json:"leaves"`
	Checkpoints int       `json:"checkpoints"`
	TreeSize    uint64    `json:"tree_size"`
	RootHash    []byte    `json:"root_hash"`
	First       *Problem  `json:"first_problem,omitempty"`
	Problems    []Problem `json:"problems,omitempty"`
	// Truncated is true when more problems were found than Problems holds.
	Truncated bool `json:"truncated,omitempty"`
}

// maxProblems bounds the report; the first problem is what matters.
const maxProblems = 100

func (r *Report) add(p Problem) {
	if r.First == nil {
		r.First = &p
	}
	if len(r.Problems) >= maxProblems {
		r.Truncated = true
		return
	}
	r.Problems = append(r.Problems, p)
}

// Verify rebuilds the Merkle tree from the records in the database: every
// leaf must be its record's hash, leaves must be numbered without gaps,
// every checkpoint must carry a valid signature under publicKey (a note
// verifier key) and the root of the tree of its size. The error is only for
// failures to read; disagreements are in the report, first one first.
func Verify(ctx context.Context, db *store.DB, publicKey string) (*Report, error) {
	q := queries(db.Dialect)
	cps, err := loadCheckpoints(ctx, db, q)
	if err != nil {
		return nil, err
	}
	v := &verifier{rep: &Report{Checkpoints: len(cps)}, cps: cps, key: publicKey,
		rng: rangeFactory.NewEmptyRange(0)}
	if err := v.walk(ctx, db, q); err != nil {
		return nil, err
	}
	v.checkRemaining()
	if err := v.unsealedBehind(ctx, db, q); err != nil {
		return nil, err
	}
	rep := v.rep
	rep.Leaves = v.rng.End()
	if root, err := v.rng.GetRootHash(nil); err == nil {
		rep.RootHash = root
	}
	if len(cps) > 0 {
		rep.TreeSize = cps[len(cps)-1].TreeSize
	}
	rep.OK = rep.First == nil
	return rep, nil
}

type verifier struct {
	rep     *Report
	cps     []Checkpoint
	next    int // next checkpoint to check
	key     string
	rng     *compact.Range
	lastIdx int64
	lastSeq int64
	maxLow  int64
}

func loadCheckpoints(ctx context.Context, db *store.DB, q *store.Queries) ([]Checkpoint, error) {
	rows, err := db.Read.QueryContext(ctx, q.Get("checkpoints"))
	if err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	defer rows.Close()
	var out []Checkpoint
	for rows.Next() {
		cp, err := scanCheckpoint(rows)
		if err != nil {
			return nil, fmt.Errorf("read checkpoints: %w", err)
		}
		out = append(out, cp)
	}
	return out, rows.Err()
}

// walk streams leaves with their records in leaf order.
func (v *verifier) walk(ctx context.Context, db *store.DB, q *store.Queries) error {
	rows, err := db.Read.QueryContext(ctx, q.Get("leaves_with_records"))
	if err != nil {
		return fmt.Errorf("read leaves: %w", err)
	}
	defer rows.Close()
	v.lastIdx = -1
	for rows.Next() {
		var idx, seq int64
		var stored []byte
		var rec nullEntry
		if err := rows.Scan(append([]any{&idx, &seq, &stored}, rec.dest()...)...); err != nil {
			return fmt.Errorf("read leaves: %w", err)
		}
		v.leaf(idx, seq, stored, rec)
	}
	return rows.Err()
}

func (v *verifier) leaf(idx, seq int64, stored []byte, rec nullEntry) {
	if idx == v.lastIdx {
		// The outer join yields one row per record carrying this seq.
		v.rep.add(Problem{Kind: ProblemRecordDuplicated, Seq: seq, LeafIndex: idx,
			Detail: "more than one record carries this sealed seq"})
		return
	}
	if idx != v.lastIdx+1 {
		v.rep.add(Problem{Kind: ProblemLeafOrder, Seq: seq, LeafIndex: idx,
			Detail: fmt.Sprintf("leaf %d follows leaf %d", idx, v.lastIdx)})
	}
	v.lastIdx, v.lastSeq = idx, seq
	hash := stored
	if e, ok := rec.entry(); !ok {
		v.rep.add(Problem{Kind: ProblemRecordMissing, Seq: seq, LeafIndex: idx,
			Detail: "the record sealed at this leaf is not in audit_log"})
	} else if hash = e.LeafHash(); !bytes.Equal(hash, stored) {
		v.rep.add(Problem{Kind: ProblemRecordAltered, Seq: seq, LeafIndex: idx,
			Detail: "the record does not hash to the leaf sealed for it"})
	}
	// The tree is rebuilt from the records, not from the stored leaf
	// hashes, so that a record and its leaf altered together still fail
	// against the signed root.
	_ = v.rng.Append(hash, nil)
	v.checkpointsUpTo(v.rng.End())
}

// checkpointsUpTo checks every checkpoint whose size the tree has reached.
func (v *verifier) checkpointsUpTo(size uint64) {
	for v.next < len(v.cps) && v.cps[v.next].TreeSize <= size {
		cp := v.cps[v.next]
		v.next++
		v.maxLow = max(v.maxLow, cp.lowSeq)
		v.checkSignature(cp)
		if cp.TreeSize != size {
			continue // sizes are unique and ascending; only a gap skips one
		}
		root, _ := v.rng.GetRootHash(nil)
		if !bytes.Equal(root, cp.RootHash) {
			v.rep.add(Problem{Kind: ProblemCheckpointRoot, TreeSize: cp.TreeSize,
				Detail: "the records do not rebuild the root this checkpoint signed"})
		}
		// The sealer resumes from the newest checkpoint's compact range;
		// a forged one would make every later root wrong.
		if !bytes.Equal(joinHashes(v.rng.Hashes()), cp.rng) {
			v.rep.add(Problem{Kind: ProblemCheckpointRange, TreeSize: cp.TreeSize,
				Detail: "the stored compact range is not the tree's"})
		}
	}
}

func (v *verifier) checkSignature(cp Checkpoint) {
	signed, err := OpenCheckpoint(cp.Note, v.key)
	if err != nil {
		v.rep.add(Problem{Kind: ProblemCheckpointSig, TreeSize: cp.TreeSize, Detail: err.Error()})
		return
	}
	if signed.TreeSize != cp.TreeSize || !bytes.Equal(signed.RootHash, cp.RootHash) {
		v.rep.add(Problem{Kind: ProblemCheckpointMismatch, TreeSize: cp.TreeSize,
			Detail: "the stored size or root differ from the signed note"})
	}
}

// checkRemaining reports checkpoints larger than the tree: leaves they
// signed for are gone.
func (v *verifier) checkRemaining() {
	for ; v.next < len(v.cps); v.next++ {
		cp := v.cps[v.next]
		v.checkSignature(cp)
		v.rep.add(Problem{Kind: ProblemCheckpointBeyond, TreeSize: cp.TreeSize,
			Detail: fmt.Sprintf("the checkpoint signs %d leaves, the tree has %d", cp.TreeSize, v.rng.End())})
	}
}

func (v *verifier) unsealedBehind(ctx context.Context, db *store.DB, q *store.Queries) error {
	var seq int64
	err := db.Read.QueryRowContext(ctx, q.Get("unsealed_behind"), v.maxLow).Scan(&seq)
	if store.IsNoRows(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read unsealed: %w", err)
	}
	v.rep.add(Problem{Kind: ProblemRecordUnsealed, Seq: seq,
		Detail: "a record below the sealer's low-water mark that was never sealed"})
	return nil
}
