package audit

import (
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/transparency-dev/merkle/rfc6962"
)

// LeafTag opens every leaf, so a leaf of this log can never be mistaken
// for data of another format or version.
const LeafTag = "vaxbook.audit.v1"

// Entry is a record as stored: the columns exactly as the database holds
// them. The leaf is built from these bytes, not from a re-encoding, so
// that verification compares what is really in the table.
type Entry struct {
	Seq         int64  `json:"seq"`
	AtUS        int64  `json:"at_us"`
	Actor       string `json:"actor"`
	Action      string `json:"action"`
	Subjects    string `json:"subjects"` // JSON array as stored
	RuleVersion string `json:"rule_version"`
	Reasons     string `json:"reasons"`    // JSON array as stored
	InputHash   string `json:"input_hash"` // hex as stored
	Details     string `json:"details"`    // JSON object as stored
}

// Leaf returns the canonical serialisation of the entry (docs/AUDIT.md):
// the tag and then each field as a 4-byte big-endian length followed by
// its bytes, in a fixed order; integers are written in decimal.
func (e Entry) Leaf() []byte {
	fields := []string{LeafTag, strconv.FormatInt(e.Seq, 10), strconv.FormatInt(e.AtUS, 10),
		e.Actor, e.Action, e.Subjects, e.RuleVersion, e.Reasons, e.InputHash, e.Details}
	n := 0
	for _, f := range fields {
		n += 4 + len(f)
	}
	out := make([]byte, 0, n)
	for _, f := range fields {
		out = binary.BigEndian.AppendUint32(out, uint32(len(f)))
		out = append(out, f...)
	}
	return out
}

// LeafHash is the RFC 6962 leaf hash of the entry: SHA-256(0x00 || leaf).
func (e Entry) LeafHash() []byte {
	return rfc6962.DefaultHasher.HashLeaf(e.Leaf())
}

// Record decodes the stored columns into a Record.
func (e Entry) Record() (Record, error) {
	rec := Record{Seq: e.Seq, At: time.UnixMicro(e.AtUS).UTC(), Actor: e.Actor, Action: e.Action,
		RuleVersion: e.RuleVersion}
	if err := json.Unmarshal([]byte(e.Subjects), &rec.Subjects); err != nil {
		return Record{}, fmt.Errorf("decode subjects of %d: %w", e.Seq, err)
	}
	if err := json.Unmarshal([]byte(e.Reasons), &rec.Reasons); err != nil {
		return Record{}, fmt.Errorf("decode reasons of %d: %w", e.Seq, err)
	}
	if err := json.Unmarshal([]byte(e.Details), &rec.Details); err != nil {
		return Record{}, fmt.Errorf("decode details of %d: %w", e.Seq, err)
	}
	h, err := hex.DecodeString(e.InputHash)
	if err != nil {
		return Record{}, fmt.Errorf("decode input hash of %d: %w", e.Seq, err)
	}
	if len(h) > 0 {
		rec.InputHash = h
	}
	return rec, nil
}

// scanEntry reads the nine record columns in table order.
func scanEntry(row interface{ Scan(...any) error }, extra ...any) (Entry, error) {
	var e Entry
	dst := append([]any{&e.Seq, &e.AtUS, &e.Actor, &e.Action, &e.Subjects, &e.RuleVersion,
		&e.Reasons, &e.InputHash, &e.Details}, extra...)
	err := row.Scan(dst...)
	return e, err
}

// nullEntry is an Entry read through an outer join.
type nullEntry struct {
	seq                                                   sql.NullInt64
	atUS                                                  sql.NullInt64
	actor, action, subjects, rule, reasons, hash, details sql.NullString
}

func (n *nullEntry) dest() []any {
	return []any{&n.seq, &n.atUS, &n.actor, &n.action, &n.subjects, &n.rule, &n.reasons, &n.hash, &n.details}
}

func (n *nullEntry) entry() (Entry, bool) {
	if !n.seq.Valid {
		return Entry{}, false
	}
	return Entry{Seq: n.seq.Int64, AtUS: n.atUS.Int64, Actor: n.actor.String, Action: n.action.String,
		Subjects: n.subjects.String, RuleVersion: n.rule.String, Reasons: n.reasons.String,
		InputHash: n.hash.String, Details: n.details.String}, true
}
