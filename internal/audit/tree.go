package audit

import (
	"context"
	"database/sql"
	_ "embed"
	"fmt"
	"sync"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/store"
)

//go:embed queries.sql
var queryText string

var parsed sync.Map // store.Dialect -> *store.Queries

// queries returns the audit queries for the engine, parsed once.
func queries(d store.Dialect) *store.Queries {
	if q, ok := parsed.Load(d); ok {
		return q.(*store.Queries)
	}
	q, _ := parsed.LoadOrStore(d, store.ParseQueries(d, "audit/queries.sql", queryText))
	return q.(*store.Queries)
}

// rangeFactory builds compact ranges with the RFC 6962 node hash.
var rangeFactory = &compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}

// querier is what reads need: a pool or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func scanCheckpoint(row interface{ Scan(...any) error }) (Checkpoint, error) {
	var cp Checkpoint
	var size, atUS int64
	err := row.Scan(&size, &cp.RootHash, &atUS, &cp.Note, &cp.rng, &cp.lowSeq)
	if err != nil {
		return Checkpoint{}, err
	}
	cp.TreeSize = uint64(size)
	if parsedCp, perr := parseCheckpointBody(noteBody(cp.Note)); perr == nil {
		cp.Origin, cp.Time = parsedCp.Origin, parsedCp.Time
	}
	return cp, nil
}

// noteBody returns the text of a note before its signatures.
func noteBody(text string) string {
	for i := 0; i+1 < len(text); i++ {
		if text[i] == '\n' && text[i+1] == '\n' {
			return text[:i+1]
		}
	}
	return text
}

// latestCheckpoint returns the newest checkpoint, or a zero one (size 0)
// when nothing is sealed yet.
func latestCheckpoint(ctx context.Context, db querier, q *store.Queries) (Checkpoint, error) {
	cp, err := scanCheckpoint(db.QueryRowContext(ctx, q.Get("latest_checkpoint")))
	if store.IsNoRows(err) {
		return Checkpoint{}, nil
	}
	if err != nil {
		return Checkpoint{}, fmt.Errorf("read checkpoint: %w", err)
	}
	return cp, nil
}

// LatestCheckpoint returns the newest signed checkpoint, or a not-found
// apperr when nothing has been sealed yet.
func LatestCheckpoint(ctx context.Context, db *store.DB) (Checkpoint, error) {
	cp, err := latestCheckpoint(ctx, db.Read, queries(db.Dialect))
	if err == nil && cp.TreeSize == 0 {
		return Checkpoint{}, apperr.NotFound("checkpoint")
	}
	return cp, err
}

// checkpointAt returns the checkpoint of exactly size leaves.
func checkpointAt(ctx context.Context, db *store.DB, size uint64) (Checkpoint, error) {
	cp, err := scanCheckpoint(db.Read.QueryRowContext(ctx, queries(db.Dialect).Get("checkpoint_at"), int64(size)))
	if store.IsNoRows(err) {
		return Checkpoint{}, apperr.NotFound(fmt.Sprintf("checkpoint of size %d", size))
	}
	if err != nil {
		return Checkpoint{}, fmt.Errorf("read checkpoint: %w", err)
	}
	return cp, nil
}

// storedLevel is the lowest tree level kept in audit_nodes. Storing every
// level would add one row per record; from level 4 up it is one per 16.
const storedLevel = 4

// nodeHashes returns the hashes of perfect subtree roots: leaves from
// audit_leaves, nodes from storedLevel up from audit_nodes, and the levels
// between rehashed from their leaves.
func nodeHashes(ctx context.Context, db querier, q *store.Queries, ids []compact.NodeID) ([][]byte, error) {
	out := make([][]byte, len(ids))
	for i, id := range ids {
		var err error
		switch {
		case id.Level == 0:
			err = db.QueryRowContext(ctx, q.Get("leaf_hash"), int64(id.Index)).Scan(&out[i])
		case id.Level < storedLevel:
			out[i], err = rehashNode(ctx, db, q, id)
		default:
			err = db.QueryRowContext(ctx, q.Get("node_hash"), int(id.Level), int64(id.Index)).Scan(&out[i])
		}
		if err != nil {
			return nil, fmt.Errorf("read node %d/%d: %w", id.Level, id.Index, err)
		}
	}
	return out, nil
}

// rehashNode computes a low node from the leaves under it.
func rehashNode(ctx context.Context, db querier, q *store.Queries, id compact.NodeID) ([]byte, error) {
	begin, end := id.Coverage()
	rows, err := db.QueryContext(ctx, q.Get("leaf_hashes_range"), int64(begin), int64(end))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	rng := rangeFactory.NewEmptyRange(begin)
	for rows.Next() {
		var h []byte
		if err := rows.Scan(&h); err != nil {
			return nil, err
		}
		if err := rng.Append(h, nil); err != nil {
			return nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if rng.End() != end || len(rng.Hashes()) != 1 {
		return nil, fmt.Errorf("leaves [%d, %d) incomplete", begin, end)
	}
	return rng.Hashes()[0], nil
}
