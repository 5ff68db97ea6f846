package web

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vaxbook/vaxbook/internal/apperr"

	"github.com/vaxbook/vaxbook/internal/eligibility"
)

func TestDiffDocuments(t *testing.T) {
	t.Parallel()
	a := &eligibility.Document{ID: "v1", Description: "one", Jurisdiction: "MA",
		Vocabulary: eligibility.Vocabulary{Conditions: []string{"asthma", "cancer"}},
		Reasons:    map[string]eligibility.Message{"age": {EN: "Aged 75 or older"}, "gone": {EN: "Removed"}},
		Rules: []eligibility.Rule{{Name: "keep", Kind: "admit", Reason: "age", Expr: "input.age >= 75"},
			{Name: "tighten", Kind: "admit", Reason: "age", Expr: "input.age >= 65"},
			{Name: "recode", Kind: "admit", Reason: "age", Expr: "true"},
			{Name: "drop", Kind: "exclude", Reason: "gone", Expr: "false"}}}
	b := &eligibility.Document{ID: "v2", Description: "two", Jurisdiction: "MA",
		Vocabulary: eligibility.Vocabulary{Conditions: []string{"cancer", "diabetes"}},
		Reasons:    map[string]eligibility.Message{"age": {EN: "Aged 65 or older"}, "new": {EN: "New"}},
		Rules: []eligibility.Rule{{Name: "keep", Kind: "admit", Reason: "age", Expr: "input.age >= 75"},
			{Name: "tighten", Kind: "admit", Reason: "age", Expr: "input.age >= 70"},
			{Name: "recode", Kind: "admit", Reason: "new", Expr: "true"},
			{Name: "fresh", Kind: "admit", Reason: "new", Expr: "input.companion"}}}
	d := diffDocuments(a, b)
	got := map[string]string{}
	for _, r := range d.Rules {
		got[r.Name] = r.Change
		if r.Name == "tighten" && (!r.ExprMoved || r.OtherMoved) {
			t.Errorf("tighten: expression moved %v, kind/reason moved %v", r.ExprMoved, r.OtherMoved)
		}
		if r.Name == "recode" && (r.ExprMoved || !r.OtherMoved) {
			t.Errorf("recode: expression moved %v, kind/reason moved %v", r.ExprMoved, r.OtherMoved)
		}
	}
	want := map[string]string{"tighten": "changed", "recode": "changed", "fresh": "added", "drop": "removed"}
	if len(got) != len(want) || d.Unchanged != 1 {
		t.Fatalf("rules %v, unchanged %d", got, d.Unchanged)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("rule %s: %q, want %q", k, got[k], v)
		}
	}
	reasons := map[string]string{}
	for _, r := range d.Reasons {
		reasons[r.Code] = r.Change
	}
	if reasons["age"] != "changed" || reasons["gone"] != "removed" || reasons["new"] != "added" || len(reasons) != 3 {
		t.Errorf("reasons %v", reasons)
	}
	if len(d.Vocabulary) != 1 || strings.Join(d.Vocabulary[0].Added, ",") != "diabetes" ||
		strings.Join(d.Vocabulary[0].Removed, ",") != "asthma" {
		t.Errorf("vocabulary %+v", d.Vocabulary)
	}
	if len(d.Header) != 1 || d.Header[0].Field != "description" {
		t.Errorf("header %+v", d.Header)
	}
}

func TestRollbackTarget(t *testing.T) {
	t.Parallel()
	moves := []eligibility.Move{{Jurisdiction: "MA", From: "", To: "a", Kind: "activate"},
		{Jurisdiction: "MA", From: "a", To: "b", Kind: "scheduled"},
		{Jurisdiction: "NH", From: "x", To: "y", Kind: "activate"},
		{Jurisdiction: "MA", From: "b", To: "c", Kind: "activate"}}
	if got := rollbackTarget(moves, "MA"); got != "b" {
		t.Errorf("after a, b, c: %q", got)
	}
	moves = append(moves, eligibility.Move{Jurisdiction: "MA", From: "c", To: "b", Kind: "rollback"})
	if got := rollbackTarget(moves, "MA"); got != "a" {
		t.Errorf("after one rollback: %q", got)
	}
	if got := rollbackTarget(moves[:1], "MA"); got != "" {
		t.Errorf("with one activation: %q", got)
	}
}

func TestLineChart(t *testing.T) {
	t.Parallel()
	c := lineChart("x", "X", "/s", []float64{0, 2, 1})
	pts := strings.Fields(c.Points)
	if len(pts) != 3 || c.Max != "2.00" || c.Now != "1.00" {
		t.Fatalf("chart %+v", c)
	}
	// Newest on the right edge, the maximum near the top, zero on the axis.
	if pts[2] != "300.0,52.0" || pts[1] != "297.5,4.0" || pts[0] != "295.0,100.0" {
		t.Errorf("points %v", pts)
	}
	if e := lineChart("y", "Y", "s", nil); !e.Empty || e.Points != "" {
		t.Errorf("empty chart %+v", e)
	}
}

func TestPageRefusalsCounted(t *testing.T) {
	t.Parallel()
	m, err := newMetrics(nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	m.Refused(ctx, 0, apperr.New("slot-full", "full"))
	m.Refused(ctx, 0, apperr.New("already-booked", "booked"))
	m.Refused(ctx, 0, apperr.New("ineligible", "no"))
	m.Refused(ctx, 0, nil)
	if got := testutil.ToFloat64(m.conflicts.WithLabelValues("unknown")); got != 2 {
		t.Errorf("409s counted: %v, want 2", got)
	}
}
