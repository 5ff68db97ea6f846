package web

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/eligibility"
	"github.com/vaxbook/vaxbook/internal/httpx"
)

func (s *Web) registerRules(r *httpx.Router) {
	s.page(r, "GET /staff/rules", s.rulesPage)
	s.page(r, "GET /staff/rules/diff", s.rulesDiff)
	s.page(r, "GET /staff/rules/shadow", s.rulesShadow)
	s.page(r, "GET /staff/rules/activate", s.activateAsk)
	s.page(r, "POST /staff/rules/activate", s.activate)
	s.page(r, "GET /staff/rules/rollback", s.rollbackAsk)
	s.page(r, "POST /staff/rules/rollback", s.rollback)
	s.page(r, "GET /staff/freeze", s.freezeAsk)
	s.page(r, "POST /staff/freeze", s.freeze)
	s.page(r, "GET /staff/unfreeze", s.unfreezeAsk)
	s.page(r, "POST /staff/unfreeze", s.unfreeze)
}

type versionRow struct {
	eligibility.Version
	Effective, Published string
}

type rulesView struct {
	Versions []versionRow
	Active   []jurisdictionRow
	Freezes  []freezeRow
	Done     string
}

type jurisdictionRow struct{ Jurisdiction, Version string }

type freezeRow struct {
	eligibility.Freeze
	Since, Until string
}

// rulesPage lists every version with its status, the active version of
// each jurisdiction and the freezes in force, with the forms that lead to
// the confirmation pages.
func (s *Web) rulesPage(w http.ResponseWriter, r *http.Request) {
	p, ok := s.staff(w, r, "rules")
	if !ok {
		return
	}
	ctx := r.Context()
	vs, err := s.cfg.Eligibility.Versions(ctx)
	if err != nil {
		s.staffError(w, r, p, err)
		return
	}
	active, err := s.cfg.Eligibility.Jurisdictions(ctx)
	if err != nil {
		s.staffError(w, r, p, err)
		return
	}
	fs, err := s.cfg.Eligibility.Freezes(ctx)
	if err != nil {
		s.staffError(w, r, p, err)
		return
	}
	v := rulesView{Done: r.URL.Query().Get("done")}
	for _, x := range vs {
		v.Versions = append(v.Versions, versionRow{Version: x, Effective: staffTime(x.EffectiveAt),
			Published: staffTime(x.PublishedAt)})
	}
	for j, ver := range active {
		v.Active = append(v.Active, jurisdictionRow{j, ver})
	}
	sort.Slice(v.Active, func(a, b int) bool { return v.Active[a].Jurisdiction < v.Active[b].Jurisdiction })
	for _, f := range fs {
		v.Freezes = append(v.Freezes, freezeRow{Freeze: f, Since: staffTime(f.CreatedAt), Until: staffTime(f.Until)})
	}
	s.staffRender(w, r, http.StatusOK, "staff_rules", p, "staff.rules", v)
}

type diffView struct {
	From, To string
	Versions []string
	Diff     *ruleDiff
}

// rulesDiff shows what changes from one version to another.
func (s *Web) rulesDiff(w http.ResponseWriter, r *http.Request) {
	p, ok := s.staff(w, r, "rules")
	if !ok {
		return
	}
	q := r.URL.Query()
	v := diffView{From: q.Get("from"), To: q.Get("to")}
	vs, err := s.cfg.Eligibility.Versions(r.Context())
	if err != nil {
		s.staffError(w, r, p, err)
		return
	}
	for _, x := range vs {
		v.Versions = append(v.Versions, x.Version)
	}
	if v.From != "" && v.To != "" {
		d, err := s.diffVersions(r, v.From, v.To)
		if err != nil {
			s.staffError(w, r, p, err)
			return
		}
		v.Diff = &d
	}
	s.staffRender(w, r, http.StatusOK, "staff_rules_diff", p, "staff.diff_title", v)
}

func (s *Web) diffVersions(r *http.Request, from, to string) (ruleDiff, error) {
	a, err := s.cfg.Eligibility.Ruleset(r.Context(), from)
	if err != nil {
		return ruleDiff{}, err
	}
	b, err := s.cfg.Eligibility.Ruleset(r.Context(), to)
	if err != nil {
		return ruleDiff{}, err
	}
	return diffDocuments(a.Doc, b.Doc), nil
}

type shadowView struct {
	Version              string
	Report               eligibility.ShadowReport
	Since                string
	Eligible, Ineligible []reasonCount
}

type reasonCount struct {
	Code  string
	Count int
}

// rulesShadow runs a version against recent decisions; it writes nothing,
// so it is a GET.
func (s *Web) rulesShadow(w http.ResponseWriter, r *http.Request) {
	p, ok := s.staff(w, r, "rules")
	if !ok {
		return
	}
	version := r.URL.Query().Get("version")
	rep, err := s.cfg.Eligibility.Shadow(r.Context(), version)
	if err != nil {
		s.staffError(w, r, p, err)
		return
	}
	v := shadowView{Version: version, Report: rep, Since: staffTime(rep.Since),
		Eligible: counts(rep.NewlyEligibleByReason), Ineligible: counts(rep.NewlyIneligibleByReason)}
	s.staffRender(w, r, http.StatusOK, "staff_rules_shadow", p, "staff.shadow_title", v)
}

func counts(m map[string]int) []reasonCount {
	out := make([]reasonCount, 0, len(m))
	for k, n := range m {
		out = append(out, reasonCount{k, n})
	}
	sort.Slice(out, func(a, b int) bool {
		return out[a].Count > out[b].Count || (out[a].Count == out[b].Count && out[a].Code < out[b].Code)
	})
	return out
}

// confirmView is a confirmation page: what will change, then one POST.
type confirmView struct {
	Action  string // the form's action
	Heading string
	Changes []string
	Fields  map[string]string // hidden fields the POST carries
	Button  string
	Diff    *ruleDiff
	Danger  bool
}

// activateAsk says which version is active now and what the activation
// changes, rule by rule, before the POST that does it.
func (s *Web) activateAsk(w http.ResponseWriter, r *http.Request) {
	p, ok := s.staff(w, r, "rules")
	if !ok {
		return
	}
	version := r.URL.Query().Get("version")
	rs, err := s.cfg.Eligibility.Ruleset(r.Context(), version)
	if err != nil {
		s.staffError(w, r, p, err)
		return
	}
	jur := rs.Doc.Jurisdiction
	current, err := s.cfg.Eligibility.Active(r.Context(), jur)
	if err != nil {
		s.staffError(w, r, p, err)
		return
	}
	v := confirmView{Action: "/staff/rules/activate", Heading: "Activate " + version + "?",
		Fields: map[string]string{"version": version}, Button: "Activate " + version, Danger: true}
	if current == "" {
		v.Changes = append(v.Changes, jur+" has no active version; "+version+" becomes the first.")
	} else {
		v.Changes = append(v.Changes, "The active version of "+jur+" moves from "+current+" to "+version+".")
		d, err := s.diffVersions(r, current, version)
		if err != nil {
			s.staffError(w, r, p, err)
			return
		}
		v.Diff = &d
	}
	v.Changes = append(v.Changes, "New decisions use "+version+" at once; bookings made with an older decision "+
		"are checked again under "+version+" when they are confirmed.")
	s.staffRender(w, r, http.StatusOK, "staff_confirm", p, "staff.confirm_title", v)
}

func (s *Web) activate(w http.ResponseWriter, r *http.Request) {
	p, ok := s.staff(w, r, "rules")
	if !ok {
		return
	}
	m, err := s.cfg.Eligibility.Activate(r.Context(), r.PostFormValue("version"), p.Actor())
	if err != nil {
		s.staffError(w, r, p, err)
		return
	}
	done("/staff/rules", m.Jurisdiction+": "+m.To+" is active (was "+m.From+")", w, r)
}

// done returns to a console page with a one-line note of what happened.
func done(path, note string, w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, path+"?done="+url.QueryEscape(note), http.StatusSeeOther)
}

// rollbackTarget replays the pointer history of jurisdiction: every
// activation pushes the version it replaced, every rollback pops one.
func rollbackTarget(moves []eligibility.Move, jurisdiction string) string {
	var stack []string
	for _, m := range moves {
		if m.Jurisdiction != jurisdiction {
			continue
		}
		if m.Kind == eligibility.MoveRollback {
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			continue
		}
		stack = append(stack, m.From)
	}
	if len(stack) == 0 {
		return ""
	}
	return stack[len(stack)-1]
}

func (s *Web) rollbackAsk(w http.ResponseWriter, r *http.Request) {
	p, ok := s.staff(w, r, "rules")
	if !ok {
		return
	}
	jur := r.URL.Query().Get("jurisdiction")
	current, err := s.cfg.Eligibility.Active(r.Context(), jur)
	if err != nil {
		s.staffError(w, r, p, err)
		return
	}
	moves, err := s.cfg.Eligibility.Moves(r.Context())
	if err != nil {
		s.staffError(w, r, p, err)
		return
	}
	target := rollbackTarget(moves, jur)
	if current == "" || target == "" {
		s.staffError(w, r, p, apperr.New("conflict", "%s has no earlier active version to roll back to", jur))
		return
	}
	v := confirmView{Action: "/staff/rules/rollback", Heading: "Roll back " + jur + "?",
		Fields: map[string]string{"jurisdiction": jur}, Button: "Roll back to " + target, Danger: true,
		Changes: []string{"The active version of " + jur + " moves back from " + current + " to " + target + "."}}
	if d, err := s.diffVersions(r, current, target); err == nil {
		v.Diff = &d
	}
	s.staffRender(w, r, http.StatusOK, "staff_confirm", p, "staff.confirm_title", v)
}

func (s *Web) rollback(w http.ResponseWriter, r *http.Request) {
	p, ok := s.staff(w, r, "rules")
	if !ok {
		return
	}
	m, err := s.cfg.Eligibility.Rollback(r.Context(), r.PostFormValue("jurisdiction"), p.Actor())
	if err != nil {
		s.staffError(w, r, p, err)
		return
	}
	done("/staff/rules", m.Jurisdiction+": rolled back to "+m.To+" (was "+m.From+")", w, r)
}

// freezeForm reads the freeze form; scope is "all" or a region code.
func freezeForm(get func(string) string) (scope, reason string, hours float64, errs map[string]string) {
	scope, reason = get("scope"), get("reason")
	errs = map[string]string{}
	if scope == "" {
		errs["scope"] = "required"
	}
	if reason == "" {
		errs["reason"] = "required"
	}
	if h := get("hours"); h != "" {
		var err error
		if hours, err = strconv.ParseFloat(h, 64); err != nil || hours < 0 || hours > 24*30 {
			errs["hours"] = "a number of hours, 0 to 720"
		}
	}
	return scope, reason, hours, errs
}

func (s *Web) freezeAsk(w http.ResponseWriter, r *http.Request) {
	p, ok := s.staff(w, r, "rules")
	if !ok {
		return
	}
	scope, reason, hours, errs := freezeForm(r.URL.Query().Get)
	if len(errs) > 0 {
		s.staffError(w, r, p, &apperr.Error{Name: "invalid-request", Detail: "the freeze needs a scope and a reason", Fields: errs})
		return
	}
	where := "everywhere"
	if scope != eligibility.FreezeAll {
		where = "in region " + scope
	}
	v := confirmView{Action: "/staff/freeze", Heading: "Freeze booking " + where + "?", Danger: true,
		Fields: map[string]string{"scope": scope, "reason": reason, "hours": r.URL.Query().Get("hours")},
		Button: "Freeze booking " + where,
		Changes: []string{"Every new hold and booking " + where + " is refused with bookings-frozen until it is lifted.",
			"Existing appointments are kept. Reason recorded: " + reason}}
	if hours > 0 {
		v.Changes = append(v.Changes, "People are told to try again in about "+strconv.FormatFloat(hours, 'f', -1, 64)+" hours.")
	}
	s.staffRender(w, r, http.StatusOK, "staff_confirm", p, "staff.confirm_title", v)
}

func (s *Web) freeze(w http.ResponseWriter, r *http.Request) {
	p, ok := s.staff(w, r, "rules")
	if !ok {
		return
	}
	scope, reason, hours, errs := freezeForm(r.PostFormValue)
	if len(errs) > 0 {
		s.staffError(w, r, p, &apperr.Error{Name: "invalid-request", Detail: "the freeze needs a scope and a reason", Fields: errs})
		return
	}
	f, err := s.cfg.Eligibility.Freeze(r.Context(), scope, reason, time.Duration(hours*float64(time.Hour)), p.Actor())
	if err != nil {
		s.staffError(w, r, p, err)
		return
	}
	done("/staff/rules", "booking frozen: "+f.Scope, w, r)
}

func (s *Web) unfreezeAsk(w http.ResponseWriter, r *http.Request) {
	p, ok := s.staff(w, r, "rules")
	if !ok {
		return
	}
	scope := r.URL.Query().Get("scope")
	v := confirmView{Action: "/staff/unfreeze", Heading: "Lift the freeze of " + scope + "?",
		Fields: map[string]string{"scope": scope}, Button: "Lift the freeze",
		Changes: []string{"Holds and bookings in " + scope + " are accepted again at once."}}
	s.staffRender(w, r, http.StatusOK, "staff_confirm", p, "staff.confirm_title", v)
}

func (s *Web) unfreeze(w http.ResponseWriter, r *http.Request) {
	p, ok := s.staff(w, r, "rules")
	if !ok {
		return
	}
	scope := r.PostFormValue("scope")
	if err := s.cfg.Eligibility.Unfreeze(r.Context(), scope, p.Actor()); err != nil {
		s.staffError(w, r, p, err)
		return
	}
	done("/staff/rules", "freeze lifted: "+scope, w, r)
}
