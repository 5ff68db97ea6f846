// Package auditapi serves the audit log to auditors and support agents:
// search, the newest signed checkpoint, and inclusion and consistency
// proofs that anyone holding the log's public key can check.
package auditapi

import (
	"context"
	_ "embed"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/httpx"
	"github.com/vaxbook/vaxbook/internal/store"
)

//go:embed openapi.json
var openapi []byte

// Module serves /v1/admin/audit.
type Module struct {
	DB   *store.DB
	Auth httpx.Authenticator
	Log  *slog.Logger
	// PublicKey is the checkpoints' verifier key, returned with them.
	PublicKey string
	Clock     clock.Clock
}

// OpenAPI returns the module's document fragment.
func (m *Module) OpenAPI() []byte { return openapi }

// Register adds the routes.
func (m *Module) Register(r *httpx.Router) {
	r.HandleFunc("GET /v1/admin/audit", m.search)
	r.HandleFunc("GET /v1/admin/audit/checkpoint", m.checkpoint)
	r.HandleFunc("GET /v1/admin/audit/proof/{seq}", m.proof)
	r.HandleFunc("GET /v1/admin/audit/consistency", m.consistency)
}

func (m *Module) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpx.Problem(w, r, m.Log, err)
}

// staff admits auditors and support agents.
func (m *Module) staff(w http.ResponseWriter, r *http.Request) (httpx.Principal, bool) {
	p, err := httpx.Staff(m.Auth, r, httpx.RoleAuditor, httpx.RoleSupport)
	if err != nil {
		m.fail(w, r, err)
		return p, false
	}
	return p, true
}

func (m *Module) search(w http.ResponseWriter, r *http.Request) {
	p, ok := m.staff(w, r)
	if !ok {
		return
	}
	q, err := parseQuery(r)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	page, err := audit.Search(r.Context(), m.DB, q)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	// Reading the log is itself on the log: who looked for what.
	if err := m.record(r.Context(), p, "audit.searched", q.Subject, map[string]any{"action": q.Action,
		"results": len(page.Records)}); err != nil {
		m.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.JSON(w, http.StatusOK, page)
}

var (
	reference  = regexp.MustCompile(`^[a-z][a-z_-]{0,31}:[A-Za-z0-9_.:-]{1,100}$`)
	actionName = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,99}$`)
)

func parseQuery(r *http.Request) (audit.Query, error) {
	v := r.URL.Query()
	f := httpx.Fields{}
	q := audit.Query{Subject: v.Get("subject"), Action: v.Get("action")}
	// Only references and action names: a name or an address typed into
	// the search box must not reach the log that records the search.
	f.Check(q.Subject != "" && !reference.MatchString(q.Subject), "subject",
		"must be a reference such as appointment:ID or person:REF")
	f.Check(q.Action != "" && !actionName.MatchString(q.Action), "action", "must be an action name such as appointment.booked")
	parseTime := func(name string, dst *time.Time) {
		if s := v.Get(name); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			f.Check(err != nil, name, "must be an RFC 3339 time")
			*dst = t
		}
	}
	parseTime("from", &q.From)
	parseTime("to", &q.To)
	parseInt := func(name string, dst *int64, maxV int64) {
		if s := v.Get(name); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			f.Check(err != nil || n <= 0 || n > maxV, name, "must be a positive integer")
			*dst = n
		}
	}
	var limit int64
	parseInt("limit", &limit, 500)
	parseInt("cursor", &q.Before, 1<<62)
	q.Limit = int(limit)
	return q, f.Err()
}

type checkpointView struct {
	audit.Checkpoint
	PublicKey string `json:"public_key"`
}

func (m *Module) checkpoint(w http.ResponseWriter, r *http.Request) {
	if _, ok := m.staff(w, r); !ok {
		return
	}
	cp, err := audit.LatestCheckpoint(r.Context(), m.DB)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, checkpointView{Checkpoint: cp, PublicKey: m.PublicKey})
}

type proofView struct {
	audit.InclusionProof
	PublicKey string `json:"public_key"`
}

func (m *Module) proof(w http.ResponseWriter, r *http.Request) {
	p, ok := m.staff(w, r)
	if !ok {
		return
	}
	seq, err := strconv.ParseInt(r.PathValue("seq"), 10, 64)
	if err != nil || seq <= 0 {
		m.fail(w, r, apperr.NotFound("audit record"))
		return
	}
	pr, err := audit.ProveRecord(r.Context(), m.DB, seq)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	if err := m.record(r.Context(), p, "audit.proof-read", "audit:"+strconv.FormatInt(seq, 10), nil); err != nil {
		m.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, proofView{InclusionProof: pr, PublicKey: m.PublicKey})
}

func (m *Module) consistency(w http.ResponseWriter, r *http.Request) {
	if _, ok := m.staff(w, r); !ok {
		return
	}
	v := r.URL.Query()
	f := httpx.Fields{}
	from, errFrom := strconv.ParseUint(v.Get("from"), 10, 64)
	to, errTo := strconv.ParseUint(v.Get("to"), 10, 64)
	f.Check(errFrom != nil, "from", "must be a checkpoint's tree size")
	f.Check(errTo != nil, "to", "must be a checkpoint's tree size")
	if err := f.Err(); err != nil {
		m.fail(w, r, err)
		return
	}
	pr, err := audit.Consistency(r.Context(), m.DB, from, to)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, pr)
}

// record appends a record of a staff member reading the log.
func (m *Module) record(ctx context.Context, p httpx.Principal, action, subject string, details map[string]any) error {
	now := time.Now()
	if m.Clock != nil {
		now = m.Clock.Now()
	}
	rec := audit.Record{At: now, Actor: p.Actor(), Action: action, Details: details}
	if subject != "" {
		rec.Subjects = []string{subject}
	}
	return m.DB.InTx(ctx, func(tx *store.Tx) error { return audit.Append(ctx, tx, rec) })
}
