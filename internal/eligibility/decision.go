package eligibility

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/store"
)

// sealContext binds sealed attributes to this column.
const sealContext = "eligibility.decision.attributes"

// Decision is a stored evaluation. It holds no personal data in the clear:
// the attributes are sealed and only the service opens them.
type Decision struct {
	Ref          string
	PersonID     int64
	Jurisdiction string
	RuleVersion  string
	Eligible     bool
	Reasons      []string
	InputHash    []byte
	Product      string
	Dose         int
	EvaluatedAt  time.Time
	ValidUntil   time.Time
	sealed       []byte
}

// Reason is a reason code with its message in the reader's language.
type Reason struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// EvalRequest asks for a decision about one person.
type EvalRequest struct {
	PersonID int64
	// Actor names the caller in the audit record ("person:REF").
	Actor string
	// Jurisdiction may be empty when one jurisdiction has active rules.
	Jurisdiction string
	Attributes   Attributes
}

// Evaluate decides under the active version, stores the decision with its
// audit record, and returns it. A "no" is a decision, not an error; bad
// answers are invalid-request errors.
func (s *Service) Evaluate(ctx context.Context, req EvalRequest) (Decision, error) {
	jurisdiction, err := s.resolveJurisdiction(ctx, req.Jurisdiction)
	if err != nil {
		return Decision{}, err
	}
	version, err := s.Active(ctx, jurisdiction)
	if err != nil {
		return Decision{}, err
	}
	if version == "" {
		return Decision{}, apperr.New("outside-jurisdiction", "no rules are active for %s", jurisdiction)
	}
	rs, err := s.Ruleset(ctx, version)
	if err != nil {
		return Decision{}, err
	}
	if bad := rs.CheckAnswers(req.Attributes.Answers); len(bad) > 0 {
		return Decision{}, &apperr.Error{Name: "invalid-request", Detail: "the answers are not valid", Fields: bad}
	}
	minAge, err := s.minAge(ctx, s.db.Read, req.Attributes.Product, req.Attributes.Dose)
	if err != nil {
		return Decision{}, err
	}
	now := s.cfg.Clock.Now()
	in, out, err := rs.EvaluateAttributes(req.Attributes, rs.DateAt(now), minAge)
	if err != nil {
		return Decision{}, apperr.Invalid("birth_date", err.Error())
	}
	d, err := s.newDecision(req, rs, in, out, now)
	if err != nil {
		return Decision{}, err
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := s.insertDecision(ctx, tx, d); err != nil {
			return err
		}
		return audit.Append(ctx, tx, audit.Record{At: now, Actor: req.Actor, Action: "eligibility.decided",
			Subjects: []string{"decision:" + d.Ref}, RuleVersion: d.RuleVersion, Reasons: d.Reasons,
			InputHash: d.InputHash, Details: map[string]any{"eligible": d.Eligible, "jurisdiction": jurisdiction}})
	})
	return d, err
}

// minAge returns the product's minimum age, checking product and dose.
func (s *Service) minAge(ctx context.Context, q querier, product string, dose int) (int, error) {
	if product == "" {
		if dose != 0 {
			return 0, apperr.Invalid("dose", "a dose needs a product")
		}
		return 0, nil
	}
	if dose < 0 || dose > 10 {
		return 0, apperr.Invalid("dose", "must be between 1 and 10")
	}
	var age int
	err := q.QueryRowContext(ctx, s.q.Get("product_min_age"), product).Scan(&age)
	if store.IsNoRows(err) {
		return 0, apperr.Invalid("product", "unknown product (a CVX code such as 208)")
	}
	if err != nil {
		return 0, fmt.Errorf("read product: %w", err)
	}
	return age, nil
}

func (s *Service) newDecision(req EvalRequest, rs *Ruleset, in Input, out Outcome, now time.Time) (Decision, error) {
	attrs, err := json.Marshal(req.Attributes)
	if err != nil {
		return Decision{}, fmt.Errorf("encode attributes: %w", err)
	}
	return Decision{
		Ref:          newRef("d_"),
		PersonID:     req.PersonID,
		Jurisdiction: rs.Doc.Jurisdiction,
		RuleVersion:  rs.Doc.ID,
		Eligible:     out.Eligible,
		Reasons:      out.Reasons,
		InputHash:    s.inputHash(rs.Doc.ID, in),
		Product:      req.Attributes.Product,
		Dose:         req.Attributes.Dose,
		EvaluatedAt:  now,
		ValidUntil:   now.Add(s.cfg.DecisionTTL),
		sealed:       s.cfg.Keys.Seal(sealContext, attrs),
	}, nil
}

// inputHash is the keyed hash of the evaluated input: equal inputs under
// one version hash alike, and nobody without the key can test guesses.
func (s *Service) inputHash(version string, in Input) []byte {
	b, _ := json.Marshal(in)
	return s.cfg.Keys.Hash("eligibility.input", version, string(b))
}

func (s *Service) insertDecision(ctx context.Context, tx *store.Tx, d Decision) error {
	reasons, _ := json.Marshal(d.Reasons)
	_, err := tx.ExecContext(ctx, s.q.Get("insert_decision"), d.Ref, d.PersonID, d.Jurisdiction,
		d.RuleVersion, d.Eligible, string(reasons), d.InputHash, d.sealed, d.Product, d.Dose,
		d.EvaluatedAt.UnixMicro(), d.ValidUntil.UnixMicro())
	if err != nil {
		return fmt.Errorf("insert decision: %w", err)
	}
	return nil
}

type scanner interface{ Scan(dest ...any) error }

func scanDecision(row scanner) (Decision, error) {
	var d Decision
	var reasons string
	var evaluated, until int64
	err := row.Scan(&d.Ref, &d.PersonID, &d.Jurisdiction, &d.RuleVersion, &d.Eligible, &reasons,
		&d.InputHash, &d.sealed, &d.Product, &d.Dose, &evaluated, &until)
	if err != nil {
		return Decision{}, err
	}
	if err := json.Unmarshal([]byte(reasons), &d.Reasons); err != nil {
		return Decision{}, fmt.Errorf("decode reasons: %w", err)
	}
	d.EvaluatedAt, d.ValidUntil = micros(evaluated), micros(until)
	return d, nil
}

func (s *Service) decision(ctx context.Context, q querier, ref string) (Decision, error) {
	d, err := scanDecision(q.QueryRowContext(ctx, s.q.Get("get_decision"), ref))
	if store.IsNoRows(err) {
		return Decision{}, apperr.NotFound("decision")
	}
	if err != nil {
		return Decision{}, fmt.Errorf("read decision: %w", err)
	}
	return d, nil
}

// attributes opens the sealed attributes of d.
func (s *Service) attributes(d Decision) (Attributes, error) {
	plain, err := s.cfg.Keys.Open(sealContext, d.sealed)
	if err != nil {
		return Attributes{}, fmt.Errorf("open decision %s: %w", d.Ref, err)
	}
	var a Attributes
	if err := json.Unmarshal(plain, &a); err != nil {
		return Attributes{}, fmt.Errorf("decode decision attributes: %w", err)
	}
	return a, nil
}

// Reader is who asks to read a decision.
type Reader struct {
	// PersonID is set for a citizen; a citizen reads only their own.
	PersonID int64
	// Support is true for a support agent, whose reads are audited.
	Support bool
	// Actor names the reader in audit records.
	Actor string
}

// Read returns a decision for its owner or a support agent. Anyone else
// gets not-found, so a reference's existence is not revealed.
func (s *Service) Read(ctx context.Context, ref string, r Reader) (Decision, error) {
	d, err := s.decision(ctx, s.db.Read, ref)
	if err != nil {
		return Decision{}, err
	}
	switch {
	case r.Support:
		err = s.db.InTx(ctx, func(tx *store.Tx) error {
			return audit.Append(ctx, tx, audit.Record{At: s.cfg.Clock.Now(), Actor: r.Actor,
				Action: "eligibility.decision_read", Subjects: []string{"decision:" + d.Ref},
				RuleVersion: d.RuleVersion, Reasons: d.Reasons})
		})
		return d, err
	case r.PersonID != 0 && r.PersonID == d.PersonID:
		return d, nil
	}
	return Decision{}, apperr.NotFound("decision")
}

// Explain returns the decision's reasons with messages in lang, from the
// version that made it.
func (s *Service) Explain(ctx context.Context, version string, codes []string, lang string) []Reason {
	rs, err := s.Ruleset(ctx, version)
	out := make([]Reason, len(codes))
	for i, c := range codes {
		msg := builtinMessage(c, lang)
		if err == nil {
			msg = rs.Message(c, lang)
		}
		out[i] = Reason{Code: c, Message: msg}
	}
	return out
}
