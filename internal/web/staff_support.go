package web

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/eligibility"
)

type supportView struct {
	Ref      string
	Decision *eligibility.Decision
	Reasons  []eligibility.Reason
	At       string
	Until    string
	Proof    *audit.InclusionProof
	// ProofNote says why no proof is shown yet (a record not sealed).
	ProofNote string
	NotFound  bool
}

// decisionRef keeps the lookup box to reference characters, so nothing
// else typed there reaches a query or the log.
var decisionRef = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// supportPage looks a decision up by reference for a support agent: the
// outcome, its reasons in plain language, the rule version, and the
// audit proof the person can be handed. The read is audited by the
// eligibility service.
func (s *Web) supportPage(w http.ResponseWriter, r *http.Request) {
	p, ok := s.staff(w, r, "support")
	if !ok {
		return
	}
	v := supportView{Ref: strings.TrimSpace(r.URL.Query().Get("ref"))}
	if v.Ref == "" {
		s.staffRender(w, r, http.StatusOK, "staff_support", p, "staff.support", v)
		return
	}
	if !decisionRef.MatchString(v.Ref) {
		v.NotFound = true
		s.staffRender(w, r, http.StatusNotFound, "staff_support", p, "staff.support", v)
		return
	}
	d, err := s.cfg.Eligibility.Read(r.Context(), v.Ref, eligibility.Reader{Support: true, Actor: p.Actor()})
	if apperr.Is(err, "not-found") {
		v.NotFound = true
		s.staffRender(w, r, http.StatusNotFound, "staff_support", p, "staff.support", v)
		return
	}
	if err != nil {
		s.staffError(w, r, p, err)
		return
	}
	v.Decision, v.At, v.Until = &d, staffTime(d.EvaluatedAt), staffTime(d.ValidUntil)
	v.Reasons = s.cfg.Eligibility.Explain(r.Context(), d.RuleVersion, d.Reasons, "en")
	proof, err := audit.ProveSubject(r.Context(), s.cfg.Booking.DB(), "decision:"+d.Ref, "eligibility.decided")
	switch {
	case err == nil:
		v.Proof = &proof
	case apperr.Is(err, "not-found"):
		v.ProofNote = "The decision's audit record is not sealed into a checkpoint yet; reload in a few seconds."
	default:
		s.staffError(w, r, p, err)
		return
	}
	s.staffRender(w, r, http.StatusOK, "staff_support", p, "staff.support", v)
}

// supportProof downloads the decision's inclusion proof as JSON, the file
// a person can be given to check their decision against the signed log.
func (s *Web) supportProof(w http.ResponseWriter, r *http.Request) {
	p, ok := s.staff(w, r, "support")
	if !ok {
		return
	}
	ref := r.URL.Query().Get("ref")
	if !decisionRef.MatchString(ref) {
		s.staffError(w, r, p, apperr.NotFound("decision"))
		return
	}
	proof, err := audit.ProveSubject(r.Context(), s.cfg.Booking.DB(), "decision:"+ref, "eligibility.decided")
	if err != nil {
		s.staffError(w, r, p, err)
		return
	}
	b, err := json.MarshalIndent(proof, "", "  ")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="decision-`+ref+`-proof.json"`)
	_, _ = w.Write(b)
}

// The audit filters accept references and action names only (as the
// audit API does): a name typed into the box never reaches the log that
// records the search.
var (
	auditSubject = regexp.MustCompile(`^[a-z][a-z_-]{0,31}:[A-Za-z0-9_.:-]{1,100}$`)
	auditAction  = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,99}$`)
)

type auditRow struct {
	audit.Record
	When    string
	Details string
}

type auditView struct {
	Subject, Action, From, To string
	Rows                      []auditRow
	Next                      string // address of the next page
}

const auditPageSize = 25

// auditPage searches the log, newest first, a page at a time. The search
// is itself recorded.
func (s *Web) auditPage(w http.ResponseWriter, r *http.Request) {
	p, ok := s.staff(w, r, "audit")
	if !ok {
		return
	}
	q := r.URL.Query()
	v := auditView{Subject: strings.TrimSpace(q.Get("subject")), Action: strings.TrimSpace(q.Get("action")),
		From: q.Get("from"), To: q.Get("to")}
	query, errs := auditQuery(v, q.Get("cursor"))
	if len(errs) > 0 {
		pg := &Page{Title: "staff.audit", Lang: "en", Staff: true, StaffRole: p.Role, Errors: errs, Data: v}
		s.views.render(w, r, http.StatusBadRequest, "staff_audit", pg)
		return
	}
	page, err := audit.Search(r.Context(), s.cfg.Booking.DB(), query)
	if err != nil {
		s.staffError(w, r, p, err)
		return
	}
	if err := s.record(r.Context(), p, "audit.searched", query.Subject, map[string]any{"action": query.Action,
		"results": len(page.Records)}); err != nil {
		s.staffError(w, r, p, err)
		return
	}
	for _, rec := range page.Records {
		det, _ := json.Marshal(rec.Details)
		row := auditRow{Record: rec, When: staffTime(rec.At)}
		if len(rec.Details) > 0 {
			row.Details = string(det)
		}
		v.Rows = append(v.Rows, row)
	}
	if page.Next != 0 {
		next := q
		next.Set("cursor", strconv.FormatInt(page.Next, 10))
		v.Next = "/staff/audit?" + next.Encode()
	}
	s.staffRender(w, r, http.StatusOK, "staff_audit", p, "staff.audit", v)
}

// auditQuery reads the filters; times are UTC dates or date-times from
// the form's datetime-local inputs.
func auditQuery(v auditView, cursor string) (audit.Query, map[string]string) {
	errs := map[string]string{}
	q := audit.Query{Subject: v.Subject, Action: v.Action, Limit: auditPageSize}
	if q.Subject != "" && !auditSubject.MatchString(q.Subject) {
		errs["subject"] = "staff.audit_subject_invalid"
	}
	if q.Action != "" && !auditAction.MatchString(q.Action) {
		errs["action"] = "staff.audit_action_invalid"
	}
	for _, f := range []struct {
		name, val string
		dst       *time.Time
	}{{"from", v.From, &q.From}, {"to", v.To, &q.To}} {
		if f.val == "" {
			continue
		}
		t, err := parseFormTime(f.val)
		if err != nil {
			errs[f.name] = "staff.audit_time_invalid"
		}
		*f.dst = t
	}
	if cursor != "" {
		n, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil || n <= 0 {
			errs["cursor"] = "staff.audit_time_invalid"
		}
		q.Before = n
	}
	return q, errs
}

func parseFormTime(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02", time.RFC3339} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, apperr.Invalid("time", "not a time")
}
