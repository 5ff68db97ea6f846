package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/transparency-dev/merkle/compact"

	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/store"
)

// Config tunes the sealer. The zero value gets the defaults.
type Config struct {
	// Interval between sealing rounds (default 1 s).
	Interval time.Duration
	// BatchSize bounds the records sealed in one round (default 5000); a
	// round that fills it runs again at once.
	BatchSize int
	// PartitionsAhead is how many months past the current one get their
	// PostgreSQL partition made in advance (default 2).
	PartitionsAhead int
	// PartitionEvery is how often partitions are checked (default 1 h).
	PartitionEvery time.Duration
	// Metrics receives the sealer's metrics; nil leaves them unregistered.
	Metrics Registerer
}

func (c Config) withDefaults() Config {
	if c.Interval <= 0 {
		c.Interval = time.Second
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 5000
	}
	if c.PartitionsAhead <= 0 {
		c.PartitionsAhead = 2
	}
	if c.PartitionEvery <= 0 {
		c.PartitionEvery = time.Hour
	}
	return c
}

// Sealer turns committed records into leaves of the Merkle tree and signs
// a checkpoint after every round that added some. It runs beside the
// service, never on the booking path: Append only inserts a row.
type Sealer struct {
	db      *store.DB
	q       *store.Queries
	key     Key
	cfg     Config
	log     *slog.Logger
	clk     clock.Clock
	metrics *sealerMetrics

	mu            sync.Mutex
	mark          *commitMark
	lowSeq        int64
	partitionedAt time.Time
}

// commitMark says: every seq up to seq was drawn by a transaction whose id
// is below xmax. Once no transaction older than xmax is running, every
// such seq has committed (and is visible) or never will.
type commitMark struct {
	seq  int64
	xmax int64
}

// Round is what one sealing round did.
type Round struct {
	Sealed   int    // records turned into leaves
	TreeSize uint64 // size of the newest checkpoint
	Lag      int64  // committed records left unsealed
}

// NewSealer returns a sealer that signs with key.
func NewSealer(db *store.DB, key Key, cfg Config, log *slog.Logger, clk clock.Clock) (*Sealer, error) {
	if key.signer == nil {
		return nil, errors.New("audit sealer: no signing key")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if clk == nil {
		clk = clock.System{}
	}
	cfg = cfg.withDefaults()
	m, err := newSealerMetrics(cfg.Metrics)
	if err != nil {
		return nil, err
	}
	return &Sealer{db: db, q: queries(db.Dialect), key: key, cfg: cfg, log: log, clk: clk, metrics: m}, nil
}

// Run seals every Interval until ctx ends. Errors are logged and the next
// round tries again: the records wait in the table meanwhile.
func (s *Sealer) Run(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		wait := s.cfg.Interval
		r, err := s.SealOnce(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.metrics.errors.Inc()
			s.log.ErrorContext(ctx, "audit seal failed", slog.String("error", err.Error()))
		case r.Sealed == s.cfg.BatchSize:
			wait = 0 // more are waiting
		}
		timer.Reset(wait)
	}
}

// SealOnce runs one round: partitions if due, then one batch.
func (s *Sealer) SealOnce(ctx context.Context) (Round, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ensurePartitions(ctx); err != nil {
		return Round{}, err
	}
	var r Round
	var st roundState
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		st, err = s.round(ctx, tx)
		return err
	})
	if err != nil {
		return Round{}, fmt.Errorf("seal: %w", err)
	}
	s.apply(st)
	r.Sealed, r.TreeSize = st.sealed, st.size
	if r.Lag, err = s.observeLag(ctx, st); err != nil {
		return r, err
	}
	if r.Sealed > 0 {
		s.log.DebugContext(ctx, "audit sealed", slog.Int("count", r.Sealed),
			slog.Uint64("tree_size", r.TreeSize))
	}
	return r, nil
}

// roundState is what a committed round changes in the sealer's memory.
type roundState struct {
	skipped   bool
	sealed    int
	size      uint64
	lowSeq    int64
	clearMark bool
	newMark   *commitMark
}

func (s *Sealer) round(ctx context.Context, tx *store.Tx) (roundState, error) {
	var locked bool
	if err := tx.QueryRowContext(ctx, s.q.Get("try_lock")).Scan(&locked); err != nil {
		return roundState{}, fmt.Errorf("lock: %w", err)
	}
	if !locked {
		return roundState{skipped: true}, nil
	}
	cp, err := latestCheckpoint(ctx, tx, s.q)
	if err != nil {
		return roundState{}, err
	}
	st := roundState{size: cp.TreeSize, lowSeq: max(cp.lowSeq, s.lowSeq)}
	safe, err := s.markSettled(ctx, tx)
	if err != nil {
		return roundState{}, err
	}
	entries, err := s.unsealed(ctx, tx, st.lowSeq)
	if err != nil {
		return roundState{}, err
	}
	if safe {
		// Every seq up to the mark is now committed or abandoned, and the
		// scan above (made after the check) saw the committed ones, up to
		// where a full batch stopped it.
		upTo := s.mark.seq
		if len(entries) == s.cfg.BatchSize {
			upTo = min(upTo, entries[len(entries)-1].Seq)
		}
		st.lowSeq, st.clearMark = max(st.lowSeq, upTo), true
	}
	if len(entries) > 0 {
		if err := s.append(ctx, tx, cp, entries, &st); err != nil {
			return roundState{}, err
		}
	}
	if s.mark == nil || st.clearMark {
		if st.newMark, err = s.commitMark(ctx, tx); err != nil {
			return roundState{}, err
		}
	}
	return st, nil
}

// markSettled reports whether every transaction that could still commit a
// seq at or below the pending mark has ended.
func (s *Sealer) markSettled(ctx context.Context, tx *store.Tx) (bool, error) {
	if s.mark == nil {
		return false, nil
	}
	if s.db.Dialect == store.SQLite {
		// One writer: when the sealer holds it, nothing else is in flight.
		return true, nil
	}
	var xmin int64
	if err := tx.QueryRowContext(ctx, s.q.Get("horizon")).Scan(&xmin); err != nil {
		return false, fmt.Errorf("read horizon: %w", err)
	}
	return xmin >= s.mark.xmax, nil
}

func (s *Sealer) commitMark(ctx context.Context, tx *store.Tx) (*commitMark, error) {
	var m commitMark
	if err := tx.QueryRowContext(ctx, s.q.Get("committed_mark")).Scan(&m.seq, &m.xmax); err != nil {
		return nil, fmt.Errorf("read commit mark: %w", err)
	}
	return &m, nil
}

func (s *Sealer) unsealed(ctx context.Context, tx *store.Tx, lowSeq int64) ([]Entry, error) {
	rows, err := tx.QueryContext(ctx, s.q.Get("unsealed"), lowSeq, s.cfg.BatchSize)
	if err != nil {
		return nil, fmt.Errorf("read unsealed: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, fmt.Errorf("read unsealed: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// append adds entries as leaves after cp, stores the new nodes and signs a
// checkpoint, all in tx: leaves and their checkpoint commit together, so
// the newest checkpoint always covers every leaf.
func (s *Sealer) append(ctx context.Context, tx *store.Tx, cp Checkpoint, entries []Entry, st *roundState) error {
	hashes, err := splitHashes(cp.rng)
	if err != nil {
		return fmt.Errorf("checkpoint %d range: %w", cp.TreeSize, err)
	}
	rng, err := rangeFactory.NewRange(0, cp.TreeSize, hashes)
	if err != nil {
		return fmt.Errorf("checkpoint %d range: %w", cp.TreeSize, err)
	}
	b := newTreeBatch(len(entries))
	for _, e := range entries {
		b.leaf(int64(rng.End()), e.Seq, e.LeafHash())
		if err := rng.Append(b.leafHashes[len(b.leafHashes)-1], b.visit); err != nil {
			return fmt.Errorf("append leaf: %w", err)
		}
	}
	if err := b.write(ctx, tx, s.q); err != nil {
		return err
	}
	root, err := rng.GetRootHash(nil)
	if err != nil {
		return fmt.Errorf("root: %w", err)
	}
	now := s.clk.Now()
	text, err := s.key.sign(rng.End(), root, now)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, s.q.Get("insert_checkpoint"), int64(rng.End()), root, now.UnixMicro(),
		text, joinHashes(rng.Hashes()), st.lowSeq)
	if err != nil {
		return fmt.Errorf("insert checkpoint: %w", err)
	}
	st.sealed, st.size = len(entries), rng.End()
	return nil
}

// apply moves the sealer's memory forward after a committed round.
func (s *Sealer) apply(st roundState) {
	if st.skipped {
		return
	}
	s.lowSeq = max(s.lowSeq, st.lowSeq)
	if st.clearMark {
		s.mark = nil
	}
	if st.newMark != nil {
		s.mark = st.newMark
	}
	s.metrics.sealed.Add(float64(st.sealed))
	s.metrics.size.Set(float64(st.size))
}

func (s *Sealer) observeLag(ctx context.Context, st roundState) (int64, error) {
	var n, oldestUS int64
	err := s.db.Read.QueryRowContext(ctx, s.q.Get("unsealed_count"), s.lowSeq).Scan(&n, &oldestUS)
	if err != nil {
		return 0, fmt.Errorf("count unsealed: %w", err)
	}
	s.metrics.lag.Set(float64(n))
	age := 0.0
	if n > 0 {
		age = s.clk.Now().Sub(time.UnixMicro(oldestUS)).Seconds()
	}
	s.metrics.lagSeconds.Set(max(age, 0))
	return n, nil
}

// ensurePartitions makes next months' partitions on PostgreSQL, at most
// once per PartitionEvery.
func (s *Sealer) ensurePartitions(ctx context.Context) error {
	now := s.clk.Now()
	if s.db.Dialect != store.Postgres || (!s.partitionedAt.IsZero() && now.Sub(s.partitionedAt) < s.cfg.PartitionEvery) {
		return nil
	}
	var made int
	err := s.db.Write.QueryRowContext(ctx, s.q.Get("ensure_partitions"), now.UnixMicro(),
		s.cfg.PartitionsAhead).Scan(&made)
	if err != nil {
		return fmt.Errorf("ensure partitions: %w", err)
	}
	s.partitionedAt = now
	if made > 0 {
		s.log.InfoContext(ctx, "audit partitions created", slog.Int("count", made))
	}
	return nil
}

// treeBatch collects one round's leaves and nodes for a bulk insert.
type treeBatch struct {
	leafIndexes, seqs []int64
	leafHashes        [][]byte
	levels            []int16
	nodeIndexes       []int64
	nodeHashes        [][]byte
}

func newTreeBatch(n int) *treeBatch {
	return &treeBatch{leafIndexes: make([]int64, 0, n), seqs: make([]int64, 0, n),
		leafHashes: make([][]byte, 0, n), levels: make([]int16, 0, n),
		nodeIndexes: make([]int64, 0, n), nodeHashes: make([][]byte, 0, n)}
}

func (b *treeBatch) leaf(index, seq int64, hash []byte) {
	b.leafIndexes = append(b.leafIndexes, index)
	b.seqs = append(b.seqs, seq)
	b.leafHashes = append(b.leafHashes, hash)
}

// visit keeps the new perfect subtree roots from level storedLevel up;
// lower ones are cheaper to rehash from at most 2^storedLevel-1 leaves when
// a proof needs them than to store for every record.
func (b *treeBatch) visit(id compact.NodeID, hash []byte) {
	if id.Level < storedLevel {
		return
	}
	b.levels = append(b.levels, int16(id.Level))
	b.nodeIndexes = append(b.nodeIndexes, int64(id.Index))
	b.nodeHashes = append(b.nodeHashes, hash)
}

func (b *treeBatch) write(ctx context.Context, tx *store.Tx, q *store.Queries) error {
	if tx.Dialect == store.Postgres {
		// One statement per table: a round of thousands of leaves is two
		// round trips, not thousands.
		if _, err := tx.ExecContext(ctx, q.Get("insert_leaves"), b.leafIndexes, b.seqs, b.leafHashes); err != nil {
			return fmt.Errorf("insert leaves: %w", err)
		}
		if len(b.levels) == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, q.Get("insert_nodes"), b.levels, b.nodeIndexes, b.nodeHashes); err != nil {
			return fmt.Errorf("insert nodes: %w", err)
		}
		return nil
	}
	for i := range b.leafIndexes {
		if _, err := tx.ExecContext(ctx, q.Get("insert_leaf"), b.leafIndexes[i], b.seqs[i], b.leafHashes[i]); err != nil {
			return fmt.Errorf("insert leaf: %w", err)
		}
	}
	for i := range b.levels {
		if _, err := tx.ExecContext(ctx, q.Get("insert_node"), b.levels[i], b.nodeIndexes[i], b.nodeHashes[i]); err != nil {
			return fmt.Errorf("insert node: %w", err)
		}
	}
	return nil
}
