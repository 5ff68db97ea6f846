package web

import (
	"slices"
	"sort"

	"github.com/vaxbook/vaxbook/internal/eligibility"
)

// ruleDiff is what changes from one rule document to another, rule by
// rule and reason by reason, so a reviewer reads meaning rather than
// JSON.
type ruleDiff struct {
	From, To string
	// Header lists changed document fields (description, effective time,
	// time zone, jurisdiction).
	Header []fieldChange
	Rules  []ruleChange
	// Reasons lists added, removed and reworded reason codes.
	Reasons    []reasonChange
	Vocabulary []vocabChange
	Unchanged  int // rules that are the same in both
}

type fieldChange struct{ Field, Old, New string }

// ruleChange is one rule that was added, removed or changed. For a
// change, Old and New hold both sides; fields that did not change are
// equal.
type ruleChange struct {
	Name       string
	Change     string // added, removed, changed
	Old, New   eligibility.Rule
	ExprMoved  bool // the expression changed
	OtherMoved bool // the kind or reason code changed
}

type reasonChange struct {
	Code     string
	Change   string
	Old, New eligibility.Message
}

type vocabChange struct {
	List           string
	Added, Removed []string
}

func diffDocuments(a, b *eligibility.Document) ruleDiff {
	d := ruleDiff{From: a.ID, To: b.ID}
	for _, f := range []fieldChange{{"description", a.Description, b.Description},
		{"effective_at", a.EffectiveAt, b.EffectiveAt}, {"time_zone", a.TimeZone, b.TimeZone},
		{"jurisdiction", a.Jurisdiction, b.Jurisdiction}} {
		if f.Old != f.New {
			d.Header = append(d.Header, f)
		}
	}
	d.Rules, d.Unchanged = diffRules(a.Rules, b.Rules)
	d.Reasons = diffReasons(a.Reasons, b.Reasons)
	for _, l := range []struct {
		name string
		a, b []string
	}{{"conditions", a.Vocabulary.Conditions, b.Vocabulary.Conditions},
		{"occupations", a.Vocabulary.Occupations, b.Vocabulary.Occupations},
		{"residences", a.Vocabulary.Residences, b.Vocabulary.Residences}} {
		add, rem := setDiff(l.a, l.b)
		if len(add)+len(rem) > 0 {
			d.Vocabulary = append(d.Vocabulary, vocabChange{List: l.name, Added: add, Removed: rem})
		}
	}
	return d
}

// diffRules pairs rules by name, in the new document's order, with
// removed rules after.
func diffRules(a, b []eligibility.Rule) ([]ruleChange, int) {
	old := map[string]eligibility.Rule{}
	for _, r := range a {
		old[r.Name] = r
	}
	var out []ruleChange
	same := 0
	seen := map[string]bool{}
	for _, r := range b {
		seen[r.Name] = true
		o, ok := old[r.Name]
		switch {
		case !ok:
			out = append(out, ruleChange{Name: r.Name, Change: "added", New: r})
		case o == r:
			same++
		default:
			out = append(out, ruleChange{Name: r.Name, Change: "changed", Old: o, New: r,
				ExprMoved: o.Expr != r.Expr, OtherMoved: o.Kind != r.Kind || o.Reason != r.Reason})
		}
	}
	for _, r := range a {
		if !seen[r.Name] {
			out = append(out, ruleChange{Name: r.Name, Change: "removed", Old: r})
		}
	}
	return out, same
}

func diffReasons(a, b map[string]eligibility.Message) []reasonChange {
	codes := map[string]bool{}
	for c := range a {
		codes[c] = true
	}
	for c := range b {
		codes[c] = true
	}
	keys := make([]string, 0, len(codes))
	for c := range codes {
		keys = append(keys, c)
	}
	sort.Strings(keys)
	var out []reasonChange
	for _, c := range keys {
		o, inA := a[c]
		n, inB := b[c]
		switch {
		case !inA:
			out = append(out, reasonChange{Code: c, Change: "added", New: n})
		case !inB:
			out = append(out, reasonChange{Code: c, Change: "removed", Old: o})
		case o != n:
			out = append(out, reasonChange{Code: c, Change: "changed", Old: o, New: n})
		}
	}
	return out
}

// setDiff returns the members of b not in a, and of a not in b.
func setDiff(a, b []string) (added, removed []string) {
	for _, x := range b {
		if !slices.Contains(a, x) {
			added = append(added, x)
		}
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			removed = append(removed, x)
		}
	}
	return added, removed
}
