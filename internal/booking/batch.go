package booking

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/eligibility/gate"
	"github.com/vaxbook/vaxbook/internal/store"
)

// maxBatch bounds how many bookings for one slot share a transaction.
const maxBatch = 32

// A single slot row takes one commit at a time, so on opening day the
// bookings for a popular slot queue behind each other's commits. The
// batcher lets the bookings that are waiting for the same slot share one
// transaction: each runs in its own savepoint, exactly as it would alone
// (its own checks, its own seat, its own audit record, idempotency key and
// outbox job), and a refused one is rolled back to its savepoint without
// touching the others. They all commit together, so each caller still
// gets its answer only after its row is committed.
type batcher struct {
	mu      sync.Mutex
	pending map[int64][]*batchItem
	running map[int64]bool
}

type batchItem struct {
	ctx    context.Context
	req    BookRequest
	detail Detail
	replay *Replay
	err    error
	done   chan struct{}
}

// bookBatched queues req behind the other bookings for its slot and waits
// for the transaction that carries it.
func (s *Service) bookBatched(ctx context.Context, req BookRequest) (Detail, *Replay, error) {
	var release func()
	if req.Idempotency != nil {
		var r *Replay
		var err error
		if release, r, err = s.beginIdempotent(ctx, req.Idempotency); r != nil || err != nil {
			return Detail{}, r, err
		}
		defer release()
	}
	it := &batchItem{ctx: ctx, req: req, done: make(chan struct{})}
	b := &s.batches
	b.mu.Lock()
	if b.pending == nil {
		b.pending, b.running = map[int64][]*batchItem{}, map[int64]bool{}
	}
	b.pending[req.SlotID] = append(b.pending[req.SlotID], it)
	lead := !b.running[req.SlotID]
	b.running[req.SlotID] = true
	b.mu.Unlock()
	if lead {
		go s.leadBatches(req.SlotID)
	}
	<-it.done
	if req.Idempotency == nil {
		return it.detail, nil, it.err
	}
	r, err := s.finishIdempotent(ctx, req.Idempotency, it.replay, it.err)
	return it.detail, r, err
}

// leadBatches runs transactions for the slot until no booking waits.
func (s *Service) leadBatches(slotID int64) {
	b := &s.batches
	for {
		b.mu.Lock()
		batch := b.pending[slotID]
		if len(batch) == 0 {
			delete(b.pending, slotID)
			delete(b.running, slotID)
			b.mu.Unlock()
			return
		}
		if len(batch) > maxBatch {
			b.pending[slotID] = batch[maxBatch:]
			batch = batch[:maxBatch]
		} else {
			delete(b.pending, slotID)
		}
		b.mu.Unlock()
		s.runBatch(batch)
	}
}

func (s *Service) runBatch(batch []*batchItem) {
	// The transaction serves several callers, so no one caller's
	// disconnect may cancel it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(batch[0].ctx), 30*time.Second)
	defer cancel()
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		memo := &gate.Memo{}
		for i, it := range batch {
			it.detail, it.replay, it.err = Detail{}, nil, nil // a retried transaction starts over
			var err error
			if len(batch) == 1 {
				// Alone in its transaction, a refusal rolls the whole
				// transaction back; no savepoint is needed.
				if err = s.bookItem(ctx, tx, it, memo); err != nil {
					return err
				}
				continue
			}
			err = tx.Savepoint(ctx, fmt.Sprintf("booking_%d", i), func() error {
				return s.bookItem(ctx, tx, it, memo)
			})
			if err != nil && !isRefusal(err) {
				return err
			}
			it.err = err
		}
		return nil
	})
	for _, it := range batch {
		if err != nil {
			it.detail, it.replay, it.err = Detail{}, nil, err
		}
		close(it.done)
	}
}

func (s *Service) bookItem(ctx context.Context, tx *store.Tx, it *batchItem, memo *gate.Memo) error {
	if it.req.Idempotency == nil {
		var err error
		it.detail, err = s.bookTx(ctx, tx, it.req, memo)
		return err
	}
	var err error
	it.replay, err = s.runIdempotent(ctx, tx, it.req.Idempotency, func(tx *store.Tx) (any, error) {
		d, err := s.bookTx(ctx, tx, it.req, memo)
		it.detail = d
		return d, err
	})
	return err
}

// isRefusal reports whether err refuses one booking (rolled back to its
// savepoint) rather than failing the transaction for everyone.
func isRefusal(err error) bool {
	var e *apperr.Error
	return errors.As(err, &e) || errors.Is(err, errKeyTaken)
}
