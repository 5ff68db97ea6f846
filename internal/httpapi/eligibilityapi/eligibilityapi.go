// Package eligibilityapi serves eligibility over HTTP: evaluation and
// decisions for citizens and support, and the rule administration (rule
// versions, shadow runs, activation, rollback, freezes) for admins.
package eligibilityapi

import (
	"context"
	_ "embed"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/eligibility"
	"github.com/vaxbook/vaxbook/internal/httpx"
	"github.com/vaxbook/vaxbook/internal/identity"
)

//go:embed openapi.json
var openapi []byte

// People finds the identity a session belongs to; *identity.Store does.
type People interface {
	Person(ctx context.Context, personID int64) (identity.Person, error)
}

// Module is the eligibility API.
type Module struct {
	Eligibility *eligibility.Service
	Auth        httpx.Authenticator
	People      People
	Log         *slog.Logger
	// Limit wraps a handler with a rate limit of the named kind; nil means
	// no limit. Evaluation uses the kind "evaluate".
	Limit func(kind string, h http.Handler) http.Handler
}

// Register adds the routes. Routes whose action follows a colon inside a
// segment are registered on a wildcard and split in the handler.
func (m *Module) Register(r *httpx.Router) {
	evaluate := http.Handler(http.HandlerFunc(m.evaluate))
	if m.Limit != nil {
		evaluate = m.Limit("evaluate", evaluate)
	}
	r.Handle("POST /v1/eligibility:evaluate", evaluate)
	r.HandleFunc("GET /v1/eligibility/decisions/{ref}", m.getDecision)
	r.HandleFunc("POST /v1/admin/rule-versions", m.publish)
	r.HandleFunc("GET /v1/admin/rule-versions", m.listVersions)
	r.HandleFunc("POST /v1/admin/rule-versions/{version_action}", m.versionAction,
		"POST /v1/admin/rule-versions/{version}:shadow", "POST /v1/admin/rule-versions/{version}:activate",
		"POST /v1/admin/rule-versions/{version}:schedule")
	r.HandleFunc("POST /v1/admin/rule-versions:rollback", m.rollback)
	r.HandleFunc("POST /v1/admin/freeze", m.freeze)
	r.HandleFunc("GET /v1/admin/freeze", m.listFreezes)
	r.HandleFunc("DELETE /v1/admin/freeze/{scope}", m.unfreeze)
}

// OpenAPI returns the module's document fragment.
func (m *Module) OpenAPI() []byte { return openapi }

type evaluateRequest struct {
	Answers      *eligibility.Answers `json:"answers"`
	Product      string               `json:"product,omitempty"`
	Dose         int                  `json:"dose,omitempty"`
	Jurisdiction string               `json:"jurisdiction,omitempty"`
}

type decisionView struct {
	DecisionRef string               `json:"decision_ref"`
	Eligible    bool                 `json:"eligible"`
	RuleVersion string               `json:"rule_version"`
	Reasons     []eligibility.Reason `json:"reasons"`
	EvaluatedAt time.Time            `json:"evaluated_at"`
	ValidUntil  time.Time            `json:"valid_until"`
}

func (m *Module) view(ctx context.Context, d eligibility.Decision, lang string) decisionView {
	return decisionView{DecisionRef: d.Ref, Eligible: d.Eligible, RuleVersion: d.RuleVersion,
		Reasons:     m.Eligibility.Explain(ctx, d.RuleVersion, d.Reasons, lang),
		EvaluatedAt: d.EvaluatedAt, ValidUntil: d.ValidUntil}
}

// evaluate decides for the signed-in person. Birth date and postal code
// come from the identity on file, never from the body.
func (m *Module) evaluate(w http.ResponseWriter, r *http.Request) {
	p, err := httpx.Citizen(m.Auth, r)
	if err != nil {
		httpx.Problem(w, r, m.Log, err)
		return
	}
	var req evaluateRequest
	if err := httpx.Decode(w, r, &req); err != nil {
		httpx.Problem(w, r, m.Log, err)
		return
	}
	if req.Answers == nil {
		httpx.Problem(w, r, m.Log, apperr.Invalid("answers", "required: the answers to the eligibility questions"))
		return
	}
	person, err := m.People.Person(r.Context(), p.PersonID)
	if err != nil {
		httpx.Problem(w, r, m.Log, err)
		return
	}
	d, err := m.Eligibility.Evaluate(r.Context(), eligibility.EvalRequest{
		PersonID: p.PersonID, Actor: p.Actor(), Jurisdiction: req.Jurisdiction,
		Attributes: eligibility.Attributes{BirthDate: person.BirthDate, PostalCode: person.PostalCode,
			Answers: *req.Answers, Product: req.Product, Dose: req.Dose},
	})
	if err != nil {
		httpx.Problem(w, r, m.Log, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.JSON(w, http.StatusOK, m.view(r.Context(), d, p.Lang))
}

// getDecision answers the owner (a trusted session) or a support agent,
// whose read is audited.
func (m *Module) getDecision(w http.ResponseWriter, r *http.Request) {
	reader, lang, err := m.reader(r)
	if err != nil {
		httpx.Problem(w, r, m.Log, err)
		return
	}
	d, err := m.Eligibility.Read(r.Context(), r.PathValue("ref"), reader)
	if err != nil {
		httpx.Problem(w, r, m.Log, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.JSON(w, http.StatusOK, m.view(r.Context(), d, lang))
}

func (m *Module) reader(r *http.Request) (eligibility.Reader, string, error) {
	p, err := httpx.Citizen(m.Auth, r)
	if err == nil {
		if !p.Trusted {
			return eligibility.Reader{}, "", apperr.New("forbidden",
				"this session's contact differs from the one on file; sign in with it to read decisions")
		}
		return eligibility.Reader{PersonID: p.PersonID, Actor: p.Actor()}, p.Lang, nil
	}
	if !apperr.Is(err, "unauthenticated") {
		return eligibility.Reader{}, "", err
	}
	p, err = httpx.Staff(m.Auth, r, httpx.RoleSupport)
	if err != nil {
		return eligibility.Reader{}, "", err
	}
	return eligibility.Reader{Support: true, Actor: p.Actor()}, r.URL.Query().Get("lang"), nil
}

func (m *Module) admin(w http.ResponseWriter, r *http.Request) (httpx.Principal, bool) {
	p, err := httpx.Staff(m.Auth, r, httpx.RoleAdmin)
	if err != nil {
		httpx.Problem(w, r, m.Log, err)
		return p, false
	}
	return p, true
}

// publish stores a rule document sent as YAML or JSON.
func (m *Module) publish(w http.ResponseWriter, r *http.Request) {
	p, ok := m.admin(w, r)
	if !ok {
		return
	}
	data, err := readDocument(w, r)
	if err != nil {
		httpx.Problem(w, r, m.Log, err)
		return
	}
	rs, err := m.Eligibility.Publish(r.Context(), data, p.Actor())
	if err != nil {
		httpx.Problem(w, r, m.Log, documentProblem(err))
		return
	}
	w.Header().Set("Location", "/v1/admin/rule-versions/"+rs.Doc.ID)
	httpx.JSON(w, http.StatusCreated, map[string]string{"version": rs.Doc.ID, "status": "draft",
		"digest": eligibility.Digest(rs.Canonical)})
}

func readDocument(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		ok := err == nil && (mt == "application/json" || strings.HasSuffix(mt, "yaml") || mt == "text/plain")
		if !ok {
			return nil, apperr.New("unsupported-media-type", "send the document as application/yaml or application/json")
		}
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, eligibility.MaxDocument))
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return nil, apperr.New("payload-too-large", "a rule document is at most %d bytes", eligibility.MaxDocument)
	}
	if err != nil {
		return nil, apperr.New("invalid-request", "the body could not be read")
	}
	return data, nil
}

// documentProblem turns a validation error into a 400 that lists every
// problem, each naming its rule.
func documentProblem(err error) error {
	var ve *eligibility.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	fields := map[string]string{}
	for _, p := range ve.Problems {
		key := p.Field
		if p.Rule != "" {
			key = "rules[" + p.Rule + "]." + p.Field
		}
		fields[key] = p.Message
	}
	return (&apperr.Error{Name: "invalid-request", Detail: ve.Error(), Fields: fields}).
		With("problems", ve.Problems)
}

func (m *Module) listVersions(w http.ResponseWriter, r *http.Request) {
	if _, ok := m.admin(w, r); !ok {
		return
	}
	versions, err := m.Eligibility.Versions(r.Context())
	if err != nil {
		httpx.Problem(w, r, m.Log, err)
		return
	}
	moves, err := m.Eligibility.Moves(r.Context())
	if err != nil {
		httpx.Problem(w, r, m.Log, err)
		return
	}
	if versions == nil {
		versions = []eligibility.Version{}
	}
	if moves == nil {
		moves = []eligibility.Move{}
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"versions": versions, "moves": moves})
}

func (m *Module) versionAction(w http.ResponseWriter, r *http.Request) {
	p, ok := m.admin(w, r)
	if !ok {
		return
	}
	seg := r.PathValue("version_action")
	i := strings.LastIndexByte(seg, ':')
	if i < 0 {
		httpx.Problem(w, r, m.Log, apperr.NotFound("route"))
		return
	}
	version, action := seg[:i], seg[i+1:]
	ctx := r.Context()
	switch action {
	case "shadow":
		report, err := m.Eligibility.Shadow(ctx, version)
		m.reply(w, r, report, err)
	case "activate":
		move, err := m.Eligibility.Activate(ctx, version, p.Actor())
		m.reply(w, r, move, err)
	case "schedule":
		err := m.Eligibility.Schedule(ctx, version, p.Actor())
		m.reply(w, r, map[string]string{"version": version, "status": "scheduled"}, err)
	default:
		httpx.Problem(w, r, m.Log, apperr.NotFound("action "+action))
	}
}

func (m *Module) reply(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		httpx.Problem(w, r, m.Log, err)
		return
	}
	httpx.JSON(w, http.StatusOK, v)
}

type rollbackRequest struct {
	Jurisdiction string `json:"jurisdiction"`
}

func (m *Module) rollback(w http.ResponseWriter, r *http.Request) {
	p, ok := m.admin(w, r)
	if !ok {
		return
	}
	var req rollbackRequest
	if r.ContentLength != 0 {
		if err := httpx.Decode(w, r, &req); err != nil {
			httpx.Problem(w, r, m.Log, err)
			return
		}
	}
	move, err := m.Eligibility.RollbackIn(r.Context(), req.Jurisdiction, p.Actor())
	m.reply(w, r, move, err)
}

type freezeRequest struct {
	Scope  string `json:"scope"`
	Reason string `json:"reason"`
	// ExpectedMinutes, when known, becomes the refusals' Retry-After.
	ExpectedMinutes int `json:"expected_minutes,omitempty"`
}

func (m *Module) freeze(w http.ResponseWriter, r *http.Request) {
	p, ok := m.admin(w, r)
	if !ok {
		return
	}
	var req freezeRequest
	if err := httpx.Decode(w, r, &req); err != nil {
		httpx.Problem(w, r, m.Log, err)
		return
	}
	f := httpx.Fields{}
	f.Check(req.Scope == "", "scope", `"all" or a region code`)
	f.Check(req.ExpectedMinutes < 0 || req.ExpectedMinutes > 7*24*60, "expected_minutes", "between 0 and 10080")
	if err := f.Err(); err != nil {
		httpx.Problem(w, r, m.Log, err)
		return
	}
	fr, err := m.Eligibility.Freeze(r.Context(), req.Scope, req.Reason,
		time.Duration(req.ExpectedMinutes)*time.Minute, p.Actor())
	if err != nil {
		httpx.Problem(w, r, m.Log, err)
		return
	}
	httpx.JSON(w, http.StatusCreated, fr)
}

func (m *Module) listFreezes(w http.ResponseWriter, r *http.Request) {
	if _, ok := m.admin(w, r); !ok {
		return
	}
	list, err := m.Eligibility.Freezes(r.Context())
	m.reply(w, r, map[string]any{"freezes": list}, err)
}

func (m *Module) unfreeze(w http.ResponseWriter, r *http.Request) {
	p, ok := m.admin(w, r)
	if !ok {
		return
	}
	scope := r.PathValue("scope")
	err := m.Eligibility.Unfreeze(r.Context(), scope, p.Actor())
	m.reply(w, r, map[string]string{"scope": scope, "status": "unfrozen"}, err)
}
