package check

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/vaxbook/vaxbook/internal/audit"
)

// poolKey names one seat pool of one slot.
type poolKey struct {
	slot int64
	pool string
}

type holdCount struct{ live, expired int }

// capacity checks invariant 1 per pool: active appointments never exceed
// capacity, and the seats missing from remaining are exactly the active
// appointments plus the active holds (an expired hold that no sweep has
// released yet may or may not still count, so either is accepted).
func (c *checker) capacity(ctx context.Context) error {
	appts, err := c.apptsPerPool(ctx)
	if err != nil {
		return err
	}
	holds, err := c.holdsPerPool(ctx)
	if err != nil {
		return err
	}
	rows, err := c.cfg.DB.Read.QueryContext(ctx, c.q.Get("slots"))
	if err != nil {
		return fmt.Errorf("read slots: %w", err)
	}
	defer rows.Close()
	var over, inconsistent []string
	for rows.Next() {
		var id int64
		var capOnline, remOnline, capWalk, remWalk int
		if err := rows.Scan(&id, &capOnline, &remOnline, &capWalk, &remWalk); err != nil {
			return fmt.Errorf("read slots: %w", err)
		}
		c.rep.Slots++
		for _, p := range []struct {
			name          string
			capacity, rem int
		}{{"online", capOnline, remOnline}, {"walkin", capWalk, remWalk}} {
			k := poolKey{id, p.name}
			taken, h := appts[k], holds[k]
			label := fmt.Sprintf("%d/%s", id, p.name)
			if taken > p.capacity || p.rem < 0 {
				over = append(over, label)
			}
			used := p.capacity - p.rem
			if used < taken+h.live || used > taken+h.live+h.expired {
				inconsistent = append(inconsistent, label)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read slots: %w", err)
	}
	c.rep.add(KindOverCapacity, "slot/pool with more active appointments than capacity", over)
	c.rep.add(KindRemaining, "slot/pool where capacity - remaining != active appointments + active holds", inconsistent)
	return nil
}

func (c *checker) apptsPerPool(ctx context.Context) (map[poolKey]int, error) {
	rows, err := c.cfg.DB.Read.QueryContext(ctx, c.q.Get("active_appointments_per_slot"))
	if err != nil {
		return nil, fmt.Errorf("count appointments: %w", err)
	}
	defer rows.Close()
	out := map[poolKey]int{}
	for rows.Next() {
		var k poolKey
		var n int
		if err := rows.Scan(&k.slot, &k.pool, &n); err != nil {
			return nil, fmt.Errorf("count appointments: %w", err)
		}
		out[k] = n
	}
	return out, rows.Err()
}

func (c *checker) holdsPerPool(ctx context.Context) (map[poolKey]holdCount, error) {
	now := c.cfg.Clock.Now().UnixMicro()
	rows, err := c.cfg.DB.Read.QueryContext(ctx, c.q.Get("active_holds_per_slot"), now, now)
	if err != nil {
		return nil, fmt.Errorf("count holds: %w", err)
	}
	defer rows.Close()
	out := map[poolKey]holdCount{}
	for rows.Next() {
		var k poolKey
		var h holdCount
		if err := rows.Scan(&k.slot, &k.pool, &h.live, &h.expired); err != nil {
			return nil, fmt.Errorf("count holds: %w", err)
		}
		out[k] = h
	}
	return out, rows.Err()
}

// doubleBooked checks invariant 2: at most one active appointment per
// person and dose.
func (c *checker) doubleBooked(ctx context.Context) error {
	rows, err := c.cfg.DB.Read.QueryContext(ctx, c.q.Get("double_booked"))
	if err != nil {
		return fmt.Errorf("find double bookings: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		var person int64
		var dose int
		if err := rows.Scan(&id, &person, &dose); err != nil {
			return fmt.Errorf("find double bookings: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("find double bookings: %w", err)
	}
	c.rep.add(KindDoubleBooked, "appointments of a person who holds another active one for the same dose", ids)
	return nil
}

func (c *checker) loadAppointments(ctx context.Context) error {
	rows, err := c.cfg.DB.Read.QueryContext(ctx, c.q.Get("appointments"))
	if err != nil {
		return fmt.Errorf("read appointments: %w", err)
	}
	defer rows.Close()
	c.appts = map[string]apptRow{}
	for rows.Next() {
		var id, ref string
		var created int64
		if err := rows.Scan(&id, &ref, &created); err != nil {
			return fmt.Errorf("read appointments: %w", err)
		}
		t := time.UnixMicro(created)
		c.appts[id] = apptRow{reference: ref, created: t}
		if c.inWindow(t) {
			c.rep.InWindow++
		}
	}
	c.rep.Appointments = len(c.appts)
	return rows.Err()
}

// responses checks invariant 5 from the client's side: a 201 names a
// committed appointment (with the reference it was answered with), and a
// committed appointment of the run was answered 201 to someone.
func (c *checker) responses(ctx context.Context) error {
	if c.cfg.Responses == nil {
		c.rep.Skipped = append(c.rep.Skipped, "responses (no responses file given)")
		return nil
	}
	answered := map[string]bool{}
	var missing []string
	for _, r := range c.cfg.Responses.Booked {
		if answered[r.ID] {
			continue
		}
		answered[r.ID] = true
		a, ok := c.appts[r.ID]
		if !ok || (r.Reference != "" && a.reference != r.Reference) {
			missing = append(missing, r.ID)
		}
	}
	c.rep.Responses = len(answered)
	var unanswered []string
	for _, id := range c.windowIDs() {
		if !answered[id] {
			unanswered = append(unanswered, id)
		}
	}
	c.rep.add(KindResponseUncommitted, "answered 201 but no committed appointment with that id and reference", missing)
	c.rep.add(KindUnanswered, "committed during the run but never answered 201", unanswered)
	return nil
}

// auditRecords checks invariant 7 for bookings: each appointment of the
// window has an audit record of its booking naming it as a subject.
func (c *checker) auditRecords(ctx context.Context) error {
	rows, err := c.cfg.DB.Read.QueryContext(ctx, c.q.Get("audit_subjects"), c.cfg.BookedAction)
	if err != nil {
		return fmt.Errorf("read audit records: %w", err)
	}
	defer rows.Close()
	recorded := map[string]bool{}
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return fmt.Errorf("read audit records: %w", err)
		}
		var subjects []string
		if err := json.Unmarshal([]byte(raw), &subjects); err != nil {
			return fmt.Errorf("decode audit subjects: %w", err)
		}
		for _, s := range subjects {
			recorded[s] = true
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read audit records: %w", err)
	}
	var missing []string
	for _, id := range c.windowIDs() {
		if !recorded["appointment:"+id] {
			missing = append(missing, id)
		}
	}
	c.rep.add(KindAuditMissing, fmt.Sprintf("appointments without a %q audit record", c.cfg.BookedAction), missing)
	return nil
}

// confirmations checks invariant 5's outbox: each appointment of the
// window has its confirmation job.
func (c *checker) confirmations(ctx context.Context) error {
	if c.cfg.ConfirmationKind == "" {
		c.rep.Skipped = append(c.rep.Skipped, "confirmation jobs (no job kind configured)")
		return nil
	}
	var tables int
	if err := c.cfg.DB.Read.QueryRowContext(ctx, c.q.Get("job_table_exists")).Scan(&tables); err != nil {
		return fmt.Errorf("find job table: %w", err)
	}
	queued := map[string]bool{}
	if tables > 0 {
		var err error
		if queued, err = c.jobAppointments(ctx); err != nil {
			return err
		}
	}
	var missing []string
	for _, id := range c.windowIDs() {
		if !queued[id] {
			missing = append(missing, id)
		}
	}
	detail := fmt.Sprintf("appointments without a %q job", c.cfg.ConfirmationKind)
	if tables == 0 {
		detail += " (the database has no river_job table)"
	}
	c.rep.add(KindConfirmationMissing, detail, missing)
	return nil
}

func (c *checker) jobAppointments(ctx context.Context) (map[string]bool, error) {
	rows, err := c.cfg.DB.Read.QueryContext(ctx, c.q.Get("job_args"), c.cfg.ConfirmationKind)
	if err != nil {
		return nil, fmt.Errorf("read jobs: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var raw sql.NullString
		if err := rows.Scan(&raw); err != nil {
			return nil, fmt.Errorf("read jobs: %w", err)
		}
		var args map[string]any
		if err := json.Unmarshal([]byte(raw.String), &args); err != nil {
			return nil, fmt.Errorf("decode job args: %w", err)
		}
		switch v := args[c.cfg.ConfirmationArg].(type) {
		case string:
			out[v] = true
		case float64:
			out[strconv.FormatFloat(v, 'f', -1, 64)] = true
		}
	}
	return out, rows.Err()
}

// auditLog checks the log's tamper evidence with the audit package's
// verifier: records hash to their leaves, leaves are numbered without gaps
// and every checkpoint is signed and agrees with the tree. Records not yet
// sealed are only checked to be behind the sealer, so a check right after
// a run passes once the sealer has caught up.
func (c *checker) auditLog(ctx context.Context) error {
	if c.cfg.AuditPublicKey == "" {
		c.rep.Skipped = append(c.rep.Skipped, "audit log proofs (no audit public key given)")
		return nil
	}
	rep, err := audit.Verify(ctx, c.cfg.DB, c.cfg.AuditPublicKey)
	if err != nil {
		return fmt.Errorf("verify audit log: %w", err)
	}
	c.rep.AuditLeaves = rep.Leaves
	if rep.OK {
		return nil
	}
	var ids []string
	for _, p := range rep.Problems {
		id := p.Kind
		switch {
		case p.Seq != 0:
			id = fmt.Sprintf("%s:seq=%d", p.Kind, p.Seq)
		case p.TreeSize != 0:
			id = fmt.Sprintf("%s:size=%d", p.Kind, p.TreeSize)
		}
		ids = append(ids, id)
	}
	c.rep.add(KindAuditLog, "the audit log does not verify; first: "+rep.First.Detail, ids)
	return nil
}
