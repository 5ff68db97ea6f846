// Package eligibility decides who may book, from versioned rule documents.
//
// A rule document is data: named CEL expressions over a declared, typed
// input, each admitting or excluding with a reason code. Documents are
// validated when published (every expression parses, type-checks to bool
// and stays under a cost limit; every reason code is defined) and are
// immutable afterwards. One version per jurisdiction is active; decisions
// are stored with their version, reason codes, a keyed hash of the input
// and the sealed attributes needed to evaluate the person again, and the
// booking transaction asks Admit before it takes a seat.
package eligibility

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Rule kinds.
const (
	KindAdmit   = "admit"
	KindExclude = "exclude"
)

// ReasonNotInGroup is the reason of a "no" when no admitting rule matched.
// Every document defines its messages.
const ReasonNotInGroup = "not-in-eligible-group"

// Document is one rule version as an author writes it (YAML or JSON).
type Document struct {
	// ID names the version ("phase2-g4"); it is the rule_version of every
	// decision made under it.
	ID string `yaml:"id" json:"id"`
	// Jurisdiction is the code in regions.jurisdiction ("MA").
	Jurisdiction string `yaml:"jurisdiction" json:"jurisdiction"`
	// TimeZone is the jurisdiction's IANA zone: ages are counted on the
	// civil date there, never in the server's zone.
	TimeZone string `yaml:"time_zone" json:"time_zone"`
	// EffectiveAt is when the version takes effect, RFC 3339 with offset.
	EffectiveAt string `yaml:"effective_at" json:"effective_at"`
	// Description says what the version changes, in plain language.
	Description string `yaml:"description" json:"description"`
	// Vocabulary lists the answers a person may give; empty lists accept
	// any value.
	Vocabulary Vocabulary `yaml:"vocabulary" json:"vocabulary"`
	// Reasons maps each reason code to its messages.
	Reasons map[string]Message `yaml:"reasons" json:"reasons"`
	// Rules are evaluated as described in docs/ELIGIBILITY.md.
	Rules []Rule `yaml:"rules" json:"rules"`
}

// Vocabulary is the set of stable codes a person's answers may use.
type Vocabulary struct {
	Conditions  []string `yaml:"conditions" json:"conditions"`
	Occupations []string `yaml:"occupations" json:"occupations"`
	Residences  []string `yaml:"residences" json:"residences"`
}

// Message is a reason's plain-language text in English and Spanish.
type Message struct {
	EN string `yaml:"en" json:"en"`
	ES string `yaml:"es" json:"es"`
}

// In returns the message in lang ("es" or anything else for English).
func (m Message) In(lang string) string {
	if strings.HasPrefix(strings.ToLower(lang), "es") && m.ES != "" {
		return m.ES
	}
	return m.EN
}

// Rule is one named expression.
type Rule struct {
	Name   string `yaml:"name" json:"name"`
	Kind   string `yaml:"kind" json:"kind"`
	Reason string `yaml:"reason" json:"reason"`
	Expr   string `yaml:"expr" json:"expr"`
}

// Problem is one thing wrong with a document. Rule is empty for problems
// of the document as a whole.
type Problem struct {
	Rule    string `json:"rule,omitempty"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	if p.Rule != "" {
		return fmt.Sprintf("rule %q: %s: %s", p.Rule, p.Field, p.Message)
	}
	return fmt.Sprintf("%s: %s", p.Field, p.Message)
}

// ValidationError lists every problem found in a document.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return "invalid rule document: " + strings.Join(parts, "; ")
}

// MaxDocument bounds the size of a rule document.
const MaxDocument = 256 << 10

// ParseDocument reads a YAML or JSON document strictly: unknown fields are
// problems, so a misspelt key never silently drops a rule.
func ParseDocument(data []byte) (*Document, error) {
	if len(data) > MaxDocument {
		return nil, &ValidationError{[]Problem{{Field: "document", Message: "over 256 KiB"}}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var doc Document
	if err := dec.Decode(&doc); err != nil {
		msg := "empty document"
		if !errors.Is(err, io.EOF) {
			msg = strings.TrimPrefix(err.Error(), "yaml: ")
		}
		return nil, &ValidationError{[]Problem{{Field: "document", Message: msg}}}
	}
	return &doc, nil
}

// Effective returns the parsed effective time.
func (d *Document) Effective() (time.Time, error) {
	return time.Parse(time.RFC3339, d.EffectiveAt)
}

// Canonical returns the JSON form that is stored and hashed.
func (d *Document) Canonical() ([]byte, error) {
	return json.Marshal(d)
}

// Digest returns the hex SHA-256 of the canonical form.
func Digest(canonical []byte) string {
	sum := sha256.Sum256(canonical)
	return hex.EncodeToString(sum[:])
}

var (
	idPattern           = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	jurisdictionPattern = regexp.MustCompile(`^[A-Z][A-Z0-9-]{1,15}$`)
	codePattern         = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)
)

// checkHeader returns the problems of the document's own fields.
func (d *Document) checkHeader() []Problem {
	var ps []Problem
	add := func(field, msg string) { ps = append(ps, Problem{Field: field, Message: msg}) }
	if !idPattern.MatchString(d.ID) {
		add("id", "must be 1-64 lower-case letters, digits, '.', '_' or '-'")
	}
	if !jurisdictionPattern.MatchString(d.Jurisdiction) {
		add("jurisdiction", "must be an upper-case code such as MA")
	}
	if _, err := time.LoadLocation(d.TimeZone); err != nil || d.TimeZone == "" || d.TimeZone == "Local" {
		add("time_zone", "must be an IANA time zone such as America/New_York")
	}
	if _, err := d.Effective(); err != nil {
		add("effective_at", "must be RFC 3339 with an offset, e.g. 2021-02-18T00:00:00-05:00")
	}
	for _, code := range sortedKeys(d.Reasons) {
		m := d.Reasons[code]
		if !codePattern.MatchString(code) {
			add("reasons."+code, "a reason code is lower-case letters, digits and '-'")
		}
		if strings.TrimSpace(m.EN) == "" || strings.TrimSpace(m.ES) == "" {
			add("reasons."+code, "needs both an en and an es message")
		}
	}
	if _, ok := d.Reasons[ReasonNotInGroup]; !ok {
		add("reasons", "must define "+ReasonNotInGroup+", the reason of a no when no rule admits")
	}
	if len(d.Rules) == 0 {
		add("rules", "a document needs at least one rule")
	}
	return ps
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
