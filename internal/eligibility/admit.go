package eligibility

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/eligibility/gate"
	"github.com/vaxbook/vaxbook/internal/store"
)

// Admit is the check the booking transaction runs before it takes a seat
// (booking.Gate). In order: a freeze refuses with bookings-frozen; a slot
// whose region has no active rules, or whose jurisdiction is not the
// decision's, refuses with outside-jurisdiction; a decision that is not
// the caller's, has expired or said no refuses with ineligible. A decision
// made under another version, or for another product or dose, is evaluated
// again from its sealed attributes under the active version; it admits only
// if the person still passes. It returns the version that admitted.
func (s *Service) Admit(ctx context.Context, tx *store.Tx, c gate.Check) (string, error) {
	now := c.Now
	if now.IsZero() {
		now = s.cfg.Clock.Now()
	}
	jurisdiction, rs, err := s.regionRules(ctx, tx, c, now)
	if err != nil {
		return "", err
	}
	d, err := s.decision(ctx, tx, c.DecisionRef)
	if apperr.Is(err, "not-found") || (err == nil && d.PersonID != c.PersonID) {
		return "", s.ineligible(ctx, rs.Doc.ID, []string{ReasonDecisionMissing}, c.Lang)
	}
	if err != nil {
		return "", err
	}
	if d.Jurisdiction != jurisdiction {
		return "", apperr.New("outside-jurisdiction", "this site is in %s; your eligibility was decided for %s",
			jurisdiction, d.Jurisdiction)
	}
	if !now.Before(d.ValidUntil) {
		return "", s.ineligible(ctx, rs.Doc.ID, []string{ReasonDecisionExpired}, c.Lang)
	}
	if !d.Eligible {
		return "", s.ineligible(ctx, d.RuleVersion, d.Reasons, c.Lang)
	}
	if d.RuleVersion == rs.Doc.ID && d.Product == c.VaccineCode && d.Dose == c.Dose {
		return rs.Doc.ID, nil
	}
	return s.recheck(ctx, tx, rs, d, c, now)
}

// recheck evaluates a decision's stored attributes again, for the product
// and dose being booked, under the active version rs.
func (s *Service) recheck(ctx context.Context, tx *store.Tx, rs *Ruleset, d Decision, c gate.Check, now time.Time) (string, error) {
	attrs, err := s.attributes(d)
	if err != nil {
		return "", err
	}
	attrs.Product, attrs.Dose = c.VaccineCode, c.Dose
	minAge := 0
	if c.ProductMinAge != nil {
		minAge = *c.ProductMinAge
	} else if minAge, err = s.memoMinAge(ctx, tx, c.Memo, attrs.Product, attrs.Dose); err != nil {
		return "", err
	}
	in, out, err := rs.EvaluateAttributes(attrs, rs.DateAt(now), minAge)
	if err != nil {
		return "", fmt.Errorf("recheck decision: %w", err)
	}
	// A re-check under another version is a new decision and is audited. One
	// under the same version only adds the product's minimum age; the
	// booking's own audit record names the version, and one insert less
	// on the booking path matters on opening day.
	if d.RuleVersion != rs.Doc.ID {
		err = audit.Append(ctx, tx, audit.Record{At: now, Actor: audit.System, Action: "eligibility.rechecked",
			Subjects: []string{"decision:" + d.Ref}, RuleVersion: rs.Doc.ID, Reasons: out.Reasons,
			InputHash: s.inputHash(rs.Doc.ID, in),
			Details:   map[string]any{"eligible": out.Eligible, "decided_under": d.RuleVersion}})
		if err != nil {
			return "", err
		}
	}
	if !out.Eligible {
		return "", s.ineligible(ctx, rs.Doc.ID, out.Reasons, c.Lang)
	}
	return rs.Doc.ID, nil
}

// ineligible builds the 403 with the version and its reasons.
func (s *Service) ineligible(ctx context.Context, version string, codes []string, lang string) error {
	return apperr.New("ineligible", "the rules in effect (%s) do not admit this booking", version).
		With("rule_version", version).
		With("reasons", s.Explain(ctx, version, slices.Clone(codes), lang))
}

// regionState is what Admit reads about a slot's region: its freeze, its
// jurisdiction and the rules active there.
type regionState struct {
	jurisdiction string
	rules        *Ruleset
	err          error
}

// regionRules checks the freeze and finds the active rules of the slot's
// region, once per transaction when the check carries a Memo. Only answers
// (a refusal or the rules) are kept, never a database error.
func (s *Service) regionRules(ctx context.Context, tx *store.Tx, c gate.Check, now time.Time) (string, *Ruleset, error) {
	key := "eligibility.region:" + c.Region
	if v, ok := c.Memo.Get(key); ok {
		st := v.(regionState)
		return st.jurisdiction, st.rules, st.err
	}
	st := s.readRegionState(ctx, tx, c.Region, now)
	if st.err == nil || apperr.NameOf(st.err) != "" {
		c.Memo.Put(key, st)
	}
	return st.jurisdiction, st.rules, st.err
}

// memoMinAge is minAge, read once per transaction and product.
func (s *Service) memoMinAge(ctx context.Context, tx *store.Tx, memo *gate.Memo, product string, dose int) (int, error) {
	key := fmt.Sprintf("eligibility.min_age:%s:%d", product, dose)
	if v, ok := memo.Get(key); ok {
		return v.(int), nil
	}
	age, err := s.minAge(ctx, tx, product, dose)
	if err == nil {
		memo.Put(key, age)
	}
	return age, err
}

// readRegionState reads the region's freezes, jurisdiction and active rules
// in one statement. A freeze refuses first, then a region without rules.
func (s *Service) readRegionState(ctx context.Context, tx *store.Tx, region string, now time.Time) regionState {
	var st regionState
	var version string
	var freezes, until int64
	err := tx.QueryRowContext(ctx, s.q.Get("region_state"), region).Scan(&st.jurisdiction, &version, &freezes, &until)
	switch {
	case store.IsNoRows(err):
		st.err = apperr.New("outside-jurisdiction", "no rules cover this site's region")
		return st
	case err != nil:
		st.err = fmt.Errorf("read region: %w", err)
		return st
	case freezes > 0:
		e := apperr.New("bookings-frozen", "booking is paused; searching and eligibility still work")
		if wait := until - now.UnixMicro(); until > 0 && wait > 0 {
			e = e.With("retry_after_s", (wait+999_999)/1_000_000)
		}
		st.err = e
		return st
	case version == "":
		st.err = apperr.New("outside-jurisdiction", "no rules are active for %s", st.jurisdiction)
		return st
	}
	st.rules, st.err = s.ruleset(ctx, tx, version)
	return st
}
