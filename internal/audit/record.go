// Package audit is the append-only, tamper-evident log of every decision and
// state change. Records are written in the same transaction as the action
// they describe; a sealer off the booking path turns committed records into
// leaves of an RFC 6962 Merkle tree and signs checkpoints.
package audit

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vaxbook/vaxbook/internal/store"
)

// System is the actor of records the service writes on its own (sweeps,
// expiries, scheduled activations).
const System = "system"

// Record is one audit entry. It must never hold personal data: actors and
// subjects are references (person:REF, appointment:ID, slot:ID), details
// are counts, codes and ids.
type Record struct {
	Seq         int64          `json:"seq"`
	At          time.Time      `json:"at"`
	Actor       string         `json:"actor"`
	Action      string         `json:"action"`
	Subjects    []string       `json:"subjects"`
	RuleVersion string         `json:"rule_version,omitempty"`
	Reasons     []string       `json:"reasons,omitempty"`
	InputHash   []byte         `json:"-"`
	Details     map[string]any `json:"details,omitempty"`
}

// Append writes rec inside tx. The record commits or rolls back with the
// action it describes (invariant 7).
func Append(ctx context.Context, tx *store.Tx, rec Record) error {
	subjects, reasons, details, err := encode(rec)
	if err != nil {
		return err
	}
	q := "INSERT INTO audit_log (at_us, actor, action, subjects, rule_version, reasons, input_hash, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
	_, err = tx.ExecContext(ctx, store.RebindFor(tx.Dialect, q), rec.At.UnixMicro(), rec.Actor, rec.Action,
		subjects, rec.RuleVersion, reasons, hex.EncodeToString(rec.InputHash), details)
	if err != nil {
		return fmt.Errorf("append audit record: %w", err)
	}
	return nil
}

func encode(rec Record) (subjects, reasons, details string, err error) {
	if rec.Subjects == nil {
		rec.Subjects = []string{}
	}
	if rec.Reasons == nil {
		rec.Reasons = []string{}
	}
	if rec.Details == nil {
		rec.Details = map[string]any{}
	}
	s, err1 := json.Marshal(rec.Subjects)
	r, err2 := json.Marshal(rec.Reasons)
	d, err3 := json.Marshal(rec.Details)
	if err1 != nil || err2 != nil || err3 != nil {
		return "", "", "", fmt.Errorf("encode audit record: %v %v %v", err1, err2, err3)
	}
	return string(s), string(r), string(d), nil
}
