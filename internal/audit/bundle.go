package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/transparency-dev/merkle/compact"

	"github.com/vaxbook/vaxbook/internal/store"
)

// BundleFormat names the export format.
const BundleFormat = "vaxbook.audit.bundle.v1"

// Bundle is one month of the log with what it takes to check it offline
// against a signed checkpoint: the month's records, the leaf hashes of other
// months' records that fall between them, and the compact ranges covering
// every leaf before and after (docs/AUDIT.md, "Export bundles").
type Bundle struct {
	Format     string        `json:"format"`
	Month      string        `json:"month"`
	PublicKey  string        `json:"public_key"`
	Checkpoint string        `json:"checkpoint"`
	TreeSize   uint64        `json:"tree_size"`
	Begin      uint64        `json:"begin"` // first leaf index covered
	End        uint64        `json:"end"`   // one past the last
	Left       [][]byte      `json:"left"`  // compact range [0, Begin)
	Right      [][]byte      `json:"right"` // compact range [End, TreeSize)
	Records    []BundleEntry `json:"records"`
	// Others are records of other months whose leaves fall in [Begin, End)
	// (committed around the month's edges). They are given whole, not as
	// hashes, so that no record of the month can hide among them.
	Others []BundleEntry `json:"others"`
}

// BundleEntry is one record of the month with its leaf index.
type BundleEntry struct {
	LeafIndex uint64 `json:"leaf_index"`
	Entry
}

// monthRange returns [start, end) of a "YYYY-MM" month in UTC.
func monthRange(month string) (time.Time, time.Time, error) {
	start, err := time.Parse("2006-01", month)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("month %q: want YYYY-MM", month)
	}
	return start, start.AddDate(0, 1, 0), nil
}

// Export builds the bundle of month ("YYYY-MM") against the newest
// checkpoint. Records of the month not sealed by then are not in it.
func Export(ctx context.Context, db *store.DB, month, publicKey string) (*Bundle, error) {
	start, end, err := monthRange(month)
	if err != nil {
		return nil, err
	}
	q := queries(db.Dialect)
	cp, err := LatestCheckpoint(ctx, db)
	if err != nil {
		return nil, err
	}
	b := &Bundle{Format: BundleFormat, Month: month, PublicKey: publicKey, Checkpoint: cp.Note,
		TreeSize: cp.TreeSize, Left: [][]byte{}, Right: [][]byte{}, Records: []BundleEntry{}, Others: []BundleEntry{}}
	if err := b.readRecords(ctx, db, q, start, end); err != nil {
		return nil, err
	}
	if len(b.Records) == 0 {
		b.Begin, b.End = cp.TreeSize, cp.TreeSize
	}
	if err := b.readOthers(ctx, db, q); err != nil {
		return nil, err
	}
	if b.Left, err = nodeHashes(ctx, db.Read, q, compact.RangeNodes(0, b.Begin, nil)); err != nil {
		return nil, err
	}
	if b.Right, err = nodeHashes(ctx, db.Read, q, compact.RangeNodes(b.End, b.TreeSize, nil)); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *Bundle) readRecords(ctx context.Context, db *store.DB, q *store.Queries, start, end time.Time) error {
	rows, err := db.Read.QueryContext(ctx, q.Get("month_records"), start.UnixMicro(), end.UnixMicro(), int64(b.TreeSize))
	if err != nil {
		return fmt.Errorf("read month: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var idx int64
		e, err := scanEntry(rows, &idx)
		if err != nil {
			return fmt.Errorf("read month: %w", err)
		}
		if len(b.Records) == 0 {
			b.Begin = uint64(idx)
		}
		b.End = uint64(idx) + 1
		b.Records = append(b.Records, BundleEntry{LeafIndex: uint64(idx), Entry: e})
	}
	return rows.Err()
}

// readOthers fills in the records of other months whose leaves lie
// between the month's first and last leaf.
func (b *Bundle) readOthers(ctx context.Context, db *store.DB, q *store.Queries) error {
	mine := make(map[uint64]bool, len(b.Records))
	for _, r := range b.Records {
		mine[r.LeafIndex] = true
	}
	rows, err := db.Read.QueryContext(ctx, q.Get("records_between"), int64(b.Begin), int64(b.End))
	if err != nil {
		return fmt.Errorf("read leaves: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var idx int64
		e, err := scanEntry(rows, &idx)
		if err != nil {
			return fmt.Errorf("read leaves: %w", err)
		}
		if !mine[uint64(idx)] {
			b.Others = append(b.Others, BundleEntry{LeafIndex: uint64(idx), Entry: e})
		}
	}
	return rows.Err()
}

// VerifyBundle checks a bundle offline: the checkpoint's signature under
// publicKey, that every record belongs to the month, and that the records,
// the other leaves and the two compact ranges rebuild the signed root.
func VerifyBundle(b *Bundle, publicKey string) error {
	if b.Format != BundleFormat {
		return fmt.Errorf("bundle format %q, want %s", b.Format, BundleFormat)
	}
	cp, err := OpenCheckpoint(b.Checkpoint, publicKey)
	if err != nil {
		return err
	}
	if cp.TreeSize != b.TreeSize || b.Begin > b.End || b.End > b.TreeSize {
		return fmt.Errorf("bundle covers [%d, %d) of %d leaves; the checkpoint signs %d", b.Begin, b.End, b.TreeSize, cp.TreeSize)
	}
	hashes, err := b.leafHashes()
	if err != nil {
		return err
	}
	rng, err := rangeFactory.NewRange(0, b.Begin, b.Left)
	if err != nil {
		return fmt.Errorf("left range: %w", err)
	}
	for _, h := range hashes {
		_ = rng.Append(h, nil)
	}
	right, err := rangeFactory.NewRange(b.End, b.TreeSize, b.Right)
	if err != nil {
		return fmt.Errorf("right range: %w", err)
	}
	if err := rng.AppendRange(right, nil); err != nil {
		return fmt.Errorf("right range: %w", err)
	}
	root, err := rng.GetRootHash(nil)
	if err != nil {
		return err
	}
	if !bytes.Equal(root, cp.RootHash) {
		return errors.New("the bundle does not rebuild the checkpoint's root: a record was changed, added or left out")
	}
	return nil
}

// leafHashes returns the hashes of leaves [Begin, End) in order, from the
// month's records and the other leaves, refusing gaps, doubles and records
// from outside the month.
func (b *Bundle) leafHashes() ([][]byte, error) {
	start, end, err := monthRange(b.Month)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, b.End-b.Begin)
	put := func(idx uint64, h []byte) error {
		if idx < b.Begin || idx >= b.End || out[idx-b.Begin] != nil {
			return fmt.Errorf("leaf %d is outside the bundle or given twice", idx)
		}
		out[idx-b.Begin] = h
		return nil
	}
	for _, r := range b.Records {
		if r.AtUS < start.UnixMicro() || r.AtUS >= end.UnixMicro() {
			return nil, fmt.Errorf("record %d is not from %s", r.Seq, b.Month)
		}
		if err := put(r.LeafIndex, r.LeafHash()); err != nil {
			return nil, err
		}
	}
	for _, o := range b.Others {
		if o.AtUS >= start.UnixMicro() && o.AtUS < end.UnixMicro() {
			return nil, fmt.Errorf("record %d is from %s but listed among other months", o.Seq, b.Month)
		}
		if err := put(o.LeafIndex, o.LeafHash()); err != nil {
			return nil, err
		}
	}
	for i, h := range out {
		if h == nil {
			return nil, fmt.Errorf("leaf %d is missing from the bundle", b.Begin+uint64(i))
		}
	}
	return out, nil
}
