package eligibility

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/interpreter"
)

// DefaultCostLimit bounds the estimated worst-case cost of one expression.
// The Massachusetts rules cost at most a few hundred units; an expression
// that loops over the conditions inside another such loop does not fit.
const DefaultCostLimit = 5000

// Ruleset is a validated, compiled document, ready to evaluate. It is
// immutable and safe for concurrent use.
type Ruleset struct {
	Doc       *Document
	Canonical []byte
	Effective time.Time
	Loc       *time.Location
	rules     []compiledRule
	vocab     map[string]map[string]bool
}

type compiledRule struct {
	Rule
	prg cel.Program
}

// Outcome is the result of one evaluation.
type Outcome struct {
	Eligible bool
	// Reasons are the codes of every matching exclude rule, else of every
	// matching admit rule, else ReasonNotInGroup.
	Reasons []string
}

var (
	envOnce sync.Once
	celEnv  *cel.Env
	envErr  error
)

// inputEnv declares the typed input every expression is checked against.
func inputEnv() (*cel.Env, error) {
	envOnce.Do(func() {
		list := cel.ListType(cel.StringType)
		celEnv, envErr = cel.NewEnv(
			cel.Variable("age", cel.IntType),
			cel.Variable("postal_code", cel.StringType),
			cel.Variable("state", cel.StringType),
			cel.Variable("ties", list),
			cel.Variable("conditions", list),
			cel.Variable("occupation", cel.StringType),
			cel.Variable("residence", cel.StringType),
			cel.Variable("companion", cel.BoolType),
			cel.Variable("product", cel.StringType),
			cel.Variable("product_min_age", cel.IntType),
			cel.Variable("dose", cel.IntType),
			cel.Variable("evaluation_date", cel.StringType),
		)
	})
	return celEnv, envErr
}

// sizeEstimator tells the cost estimator how large inputs can be: the
// limits that input validation enforces.
type sizeEstimator struct{}

func (sizeEstimator) EstimateSize(n checker.AstNode) *checker.SizeEstimate {
	path := n.Path()
	if len(path) == 2 && path[1] == "@items" && (path[0] == "conditions" || path[0] == "ties") {
		return &checker.SizeEstimate{Min: 0, Max: MaxStringLen}
	}
	if len(path) != 1 {
		return nil
	}
	var max uint64
	switch path[0] {
	case "conditions":
		max = MaxConditions
	case "ties":
		max = MaxTies
	case "postal_code", "state", "occupation", "residence", "product", "evaluation_date":
		max = MaxStringLen
	default:
		return nil
	}
	return &checker.SizeEstimate{Min: 0, Max: max}
}

func (sizeEstimator) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}

// Compile validates doc and compiles its rules. A *ValidationError lists
// every problem, each naming its rule.
func Compile(doc *Document, costLimit uint64) (*Ruleset, error) {
	env, err := inputEnv()
	if err != nil {
		return nil, fmt.Errorf("rule environment: %w", err)
	}
	if costLimit == 0 {
		costLimit = DefaultCostLimit
	}
	problems := doc.checkHeader()
	rs := &Ruleset{Doc: doc}
	seen := map[string]bool{}
	for i, r := range doc.Rules {
		cr, ps := compileRule(env, doc, r, i, seen, costLimit)
		problems = append(problems, ps...)
		if cr != nil {
			rs.rules = append(rs.rules, *cr)
		}
	}
	if len(problems) > 0 {
		return nil, &ValidationError{Problems: problems}
	}
	rs.Effective, _ = doc.Effective()
	rs.Loc, _ = time.LoadLocation(doc.TimeZone)
	rs.vocab = map[string]map[string]bool{
		"conditions": set(doc.Vocabulary.Conditions),
		"occupation": set(doc.Vocabulary.Occupations),
		"residence":  set(doc.Vocabulary.Residences),
	}
	if rs.Canonical, err = doc.Canonical(); err != nil {
		return nil, fmt.Errorf("encode document: %w", err)
	}
	return rs, nil
}

func compileRule(env *cel.Env, doc *Document, r Rule, i int, seen map[string]bool, costLimit uint64) (*compiledRule, []Problem) {
	name := r.Name
	if name == "" {
		name = fmt.Sprintf("#%d", i+1)
	}
	var ps []Problem
	add := func(field, msg string) { ps = append(ps, Problem{Rule: name, Field: field, Message: msg}) }
	switch {
	case !codePattern.MatchString(r.Name):
		add("name", "a rule name is lower-case letters, digits and '-'")
	case seen[r.Name]:
		add("name", "defined twice")
	}
	seen[r.Name] = true
	if r.Kind != KindAdmit && r.Kind != KindExclude {
		add("kind", "must be admit or exclude")
	}
	if _, ok := doc.Reasons[r.Reason]; !ok {
		add("reason", fmt.Sprintf("reason code %q is not defined in reasons", r.Reason))
	}
	prg, msg := compileExpr(env, r.Expr, costLimit)
	if msg != "" {
		add("expr", msg)
	}
	if len(ps) > 0 {
		return nil, ps
	}
	return &compiledRule{Rule: r, prg: prg}, nil
}

// compileExpr returns the program, or a message saying what is wrong.
func compileExpr(env *cel.Env, expr string, costLimit uint64) (cel.Program, string) {
	if strings.TrimSpace(expr) == "" {
		return nil, "empty expression"
	}
	if len(expr) > 4096 {
		return nil, "expression over 4096 characters"
	}
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		return nil, "does not compile: " + iss.Err().Error()
	}
	if !ast.OutputType().IsExactType(cel.BoolType) {
		return nil, fmt.Sprintf("must be a bool expression, is %s", ast.OutputType())
	}
	est, err := env.EstimateCost(ast, sizeEstimator{})
	if err != nil {
		return nil, "cost cannot be estimated: " + err.Error()
	}
	if est.Max > costLimit {
		return nil, fmt.Sprintf("estimated cost %d is over the limit of %d", est.Max, costLimit)
	}
	// No runtime cost limit: tracking cost made each evaluation 3.5 times
	// slower (measured), and the estimate above is already a bound,
	// because NewInput and CheckAnswers enforce the sizes it assumes.
	prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, "cannot build program: " + err.Error()
	}
	return prg, ""
}

func set(list []string) map[string]bool {
	if len(list) == 0 {
		return nil
	}
	m := make(map[string]bool, len(list))
	for _, v := range list {
		m[v] = true
	}
	return m
}

// CheckAnswers returns field errors for answers outside the vocabulary or
// over the input limits.
func (rs *Ruleset) CheckAnswers(a Answers) map[string]string {
	bad := map[string]string{}
	if len(a.Conditions) > MaxConditions {
		bad["answers.conditions"] = fmt.Sprintf("at most %d conditions", MaxConditions)
	}
	for _, c := range a.Conditions {
		if len(c) > MaxStringLen || (rs.vocab["conditions"] != nil && !rs.vocab["conditions"][c]) {
			bad["answers.conditions"] = fmt.Sprintf("unknown condition code %q", c)
		}
	}
	if a.Occupation != "" && (len(a.Occupation) > MaxStringLen || (rs.vocab["occupation"] != nil && !rs.vocab["occupation"][a.Occupation])) {
		bad["answers.occupation"] = "unknown occupation code"
	}
	if a.Residence != "" && (len(a.Residence) > MaxStringLen || (rs.vocab["residence"] != nil && !rs.vocab["residence"][a.Residence])) {
		bad["answers.residence"] = "unknown residence code"
	}
	if len(a.Ties) > MaxTies {
		bad["answers.ties"] = fmt.Sprintf("at most %d ties", MaxTies)
	}
	for _, t := range a.Ties {
		if t != "work" && t != "study" {
			bad["answers.ties"] = `ties are "work" or "study"`
		}
	}
	return bad
}

// Evaluate applies the rules to in. A rule whose evaluation fails counts
// as matching when it excludes and as not matching when it admits: an
// error never turns into a yes.
func (rs *Ruleset) Evaluate(in *Input) Outcome {
	act := &activation{in: in}
	var admits, excludes []string
	for i := range rs.rules {
		r := &rs.rules[i]
		out, _, err := r.prg.Eval(act)
		matched := err == nil && out == types.True
		if r.Kind == KindExclude && (matched || err != nil) {
			excludes = appendOnce(excludes, r.Reason)
		}
		if r.Kind == KindAdmit && matched {
			admits = appendOnce(admits, r.Reason)
		}
	}
	switch {
	case len(excludes) > 0:
		return Outcome{Eligible: false, Reasons: excludes}
	case len(admits) > 0:
		return Outcome{Eligible: true, Reasons: admits}
	}
	return Outcome{Eligible: false, Reasons: []string{ReasonNotInGroup}}
}

func appendOnce(list []string, code string) []string {
	if slices.Contains(list, code) {
		return list
	}
	return append(list, code)
}

// Message returns the text of a reason code in lang.
func (rs *Ruleset) Message(code, lang string) string {
	if m, ok := rs.Doc.Reasons[code]; ok {
		return m.In(lang)
	}
	return builtinMessage(code, lang)
}

// activation resolves the CEL variables straight from an Input, without
// building a map per evaluation.
type activation struct {
	in         *Input
	conditions ref.Val
	ties       ref.Val
}

func (a *activation) ResolveName(name string) (any, bool) {
	in := a.in
	switch name {
	case "age":
		return types.Int(in.Age), true
	case "postal_code":
		return types.String(in.PostalCode), true
	case "state":
		return types.String(in.State), true
	case "ties":
		if a.ties == nil {
			a.ties = types.NewStringList(types.DefaultTypeAdapter, in.Ties)
		}
		return a.ties, true
	case "conditions":
		if a.conditions == nil {
			a.conditions = types.NewStringList(types.DefaultTypeAdapter, in.Conditions)
		}
		return a.conditions, true
	case "occupation":
		return types.String(in.Occupation), true
	case "residence":
		return types.String(in.Residence), true
	case "companion":
		return types.Bool(in.Companion), true
	case "product":
		return types.String(in.Product), true
	case "product_min_age":
		return types.Int(in.ProductMinAge), true
	case "dose":
		return types.Int(in.Dose), true
	case "evaluation_date":
		return types.String(in.EvaluationDate), true
	}
	return nil, false
}

func (a *activation) Parent() interpreter.Activation { return nil }

// DateAt returns the civil date at instant t in the jurisdiction's zone.
func (rs *Ruleset) DateAt(t time.Time) Date { return DateIn(t, rs.Loc) }

// EvaluateAttributes builds the input of attrs for the civil date on and
// evaluates it, returning the input too (its hash is stored).
func (rs *Ruleset) EvaluateAttributes(attrs Attributes, on Date, productMinAge int) (Input, Outcome, error) {
	in, err := NewInput(attrs, on, productMinAge)
	if err != nil {
		return Input{}, Outcome{}, err
	}
	return in, rs.Evaluate(&in), nil
}
