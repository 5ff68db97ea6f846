package eligibility

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"
)

// ShadowReport says how recent decisions would change under a version.
type ShadowReport struct {
	Version      string    `json:"version"`
	Jurisdiction string    `json:"jurisdiction"`
	Since        time.Time `json:"since"`
	Total        int       `json:"total"`
	Unchanged    int       `json:"unchanged"`
	// NewlyEligible were "no" and would be "yes"; NewlyIneligible the
	// reverse. The maps count them by the candidate version's reasons.
	NewlyEligible           int            `json:"newly_eligible"`
	NewlyIneligible         int            `json:"newly_ineligible"`
	NewlyEligibleByReason   map[string]int `json:"newly_eligible_by_reason"`
	NewlyIneligibleByReason map[string]int `json:"newly_ineligible_by_reason"`
	// Failed counts decisions whose attributes could not be evaluated.
	Failed int `json:"failed"`
}

// Shadow evaluates version against the stored inputs of the jurisdiction's
// recent decisions (ShadowWindow, at most ShadowLimit) and compares the
// outcomes. Each decision is evaluated on its own evaluation date, so the
// report shows what the rules change, not what time changed. It writes
// nothing.
func (s *Service) Shadow(ctx context.Context, version string) (ShadowReport, error) {
	rs, err := s.Ruleset(ctx, version)
	if err != nil {
		return ShadowReport{}, err
	}
	since := s.cfg.Clock.Now().Add(-s.cfg.ShadowWindow)
	decisions, err := s.recent(ctx, rs.Doc.Jurisdiction, since)
	if err != nil {
		return ShadowReport{}, err
	}
	minAges, err := s.minAges(ctx)
	if err != nil {
		return ShadowReport{}, err
	}
	report := ShadowReport{Version: version, Jurisdiction: rs.Doc.Jurisdiction, Since: since,
		NewlyEligibleByReason: map[string]int{}, NewlyIneligibleByReason: map[string]int{}}
	workers := runtime.GOMAXPROCS(0)
	parts := make([]ShadowReport, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			part := ShadowReport{NewlyEligibleByReason: map[string]int{}, NewlyIneligibleByReason: map[string]int{}}
			for i := w; i < len(decisions); i += workers {
				s.shadowOne(rs, decisions[i], minAges, &part)
			}
			parts[w] = part
		}()
	}
	wg.Wait()
	for _, p := range parts {
		report.add(p)
	}
	return report, nil
}

func (s *Service) shadowOne(rs *Ruleset, d Decision, minAges map[string]int, r *ShadowReport) {
	r.Total++
	attrs, err := s.attributes(d)
	if err != nil {
		r.Failed++
		return
	}
	_, out, err := rs.EvaluateAttributes(attrs, rs.DateAt(d.EvaluatedAt), minAges[d.Product])
	switch {
	case err != nil:
		r.Failed++
	case out.Eligible == d.Eligible:
		r.Unchanged++
	case out.Eligible:
		r.NewlyEligible++
		for _, c := range out.Reasons {
			r.NewlyEligibleByReason[c]++
		}
	default:
		r.NewlyIneligible++
		for _, c := range out.Reasons {
			r.NewlyIneligibleByReason[c]++
		}
	}
}

func (r *ShadowReport) add(p ShadowReport) {
	r.Total += p.Total
	r.Unchanged += p.Unchanged
	r.NewlyEligible += p.NewlyEligible
	r.NewlyIneligible += p.NewlyIneligible
	r.Failed += p.Failed
	for c, n := range p.NewlyEligibleByReason {
		r.NewlyEligibleByReason[c] += n
	}
	for c, n := range p.NewlyIneligibleByReason {
		r.NewlyIneligibleByReason[c] += n
	}
}

func (s *Service) recent(ctx context.Context, jurisdiction string, since time.Time) ([]Decision, error) {
	rows, err := s.db.Read.QueryContext(ctx, s.q.Get("recent_decisions"), jurisdiction, since.UnixMicro(), s.cfg.ShadowLimit)
	if err != nil {
		return nil, fmt.Errorf("read recent decisions: %w", err)
	}
	defer rows.Close()
	var out []Decision
	for rows.Next() {
		d, err := scanDecision(rows)
		if err != nil {
			return nil, fmt.Errorf("read recent decisions: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

func (s *Service) minAges(ctx context.Context) (map[string]int, error) {
	rows, err := s.db.Read.QueryContext(ctx, s.q.Get("all_min_ages"))
	if err != nil {
		return nil, fmt.Errorf("read products: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var code string
		var age int
		if err := rows.Scan(&code, &age); err != nil {
			return nil, err
		}
		out[code] = age
	}
	return out, rows.Err()
}

// Finding is a booked future appointment the active rules no longer admit.
type Finding struct {
	AppointmentID string    `json:"appointment_id"`
	Reference     string    `json:"reference"`
	SlotStart     time.Time `json:"slot_start"`
	Region        string    `json:"region"`
	RuleVersion   string    `json:"rule_version"`
	Reasons       []string  `json:"reasons"`
}

type booked struct {
	id, reference, product, decisionRef, region, jurisdiction string
	personID                                                  int64
	dose                                                      int
	start                                                     int64
}

// Reevaluate lists the booked appointments with a slot still ahead that
// the active version of their region's jurisdiction no longer admits,
// evaluating each person's stored attributes for the booked product and
// dose today. It is a report: nothing is cancelled.
func (s *Service) Reevaluate(ctx context.Context) ([]Finding, error) {
	now := s.cfg.Clock.Now()
	list, err := s.futureBooked(ctx, now)
	if err != nil {
		return nil, err
	}
	minAges, err := s.minAges(ctx)
	if err != nil {
		return nil, err
	}
	findings := []Finding{}
	for _, b := range list {
		f, err := s.reevaluateOne(ctx, b, minAges, now)
		if err != nil {
			return nil, err
		}
		if f != nil {
			findings = append(findings, *f)
		}
	}
	return findings, nil
}

func (s *Service) reevaluateOne(ctx context.Context, b booked, minAges map[string]int, now time.Time) (*Finding, error) {
	f := &Finding{AppointmentID: b.id, Reference: b.reference, SlotStart: micros(b.start), Region: b.region}
	version, err := s.Active(ctx, b.jurisdiction)
	if err != nil || version == "" {
		f.Reasons = []string{"no-active-rules"}
		return f, err
	}
	f.RuleVersion = version
	rs, err := s.Ruleset(ctx, version)
	if err != nil {
		return nil, err
	}
	d, err := s.decision(ctx, s.db.Read, b.decisionRef)
	if err != nil || d.PersonID != b.personID {
		f.Reasons = []string{ReasonDecisionMissing}
		return f, nil
	}
	attrs, err := s.attributes(d)
	if err != nil {
		return nil, err
	}
	attrs.Product, attrs.Dose = b.product, b.dose
	_, out, err := rs.EvaluateAttributes(attrs, rs.DateAt(now), minAges[b.product])
	if err != nil {
		return nil, err
	}
	if out.Eligible {
		return nil, nil
	}
	f.Reasons = out.Reasons
	return f, nil
}

func (s *Service) futureBooked(ctx context.Context, now time.Time) ([]booked, error) {
	rows, err := s.db.Read.QueryContext(ctx, s.q.Get("future_booked"), now.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("read booked appointments: %w", err)
	}
	defer rows.Close()
	var out []booked
	for rows.Next() {
		var b booked
		if err := rows.Scan(&b.id, &b.reference, &b.personID, &b.product, &b.dose, &b.decisionRef,
			&b.start, &b.region, &b.jurisdiction); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}
