package web

import (
	"net/http"
	"time"

	"github.com/vaxbook/vaxbook/internal/eligibility"
)

type resultView struct {
	Eligible    bool
	ZIP         string
	RuleVersion string
	Reasons     []eligibility.Reason
	ValidUntil  string
	// Next is the next scheduled rule version, when one is: the date new
	// groups may open and what that version changes.
	NextDate, NextDescription string
}

// result shows the decision with its reasons in the person's language.
func (s *Web) result(w http.ResponseWriter, r *http.Request) {
	p, ok := s.citizen(w, r)
	if !ok {
		return
	}
	j := s.readJourney(r)
	if j.DecisionRef == "" {
		http.Redirect(w, r, "/book/questions/1", http.StatusSeeOther)
		return
	}
	d, err := s.cfg.Eligibility.Read(r.Context(), j.DecisionRef, eligibility.Reader{PersonID: p.PersonID, Actor: p.Actor()})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	lang := requestLang(r)
	v := resultView{Eligible: d.Eligible, RuleVersion: d.RuleVersion, ZIP: p.PostalCode,
		Reasons: s.cfg.Eligibility.Explain(r.Context(), d.RuleVersion, d.Reasons, lang)}
	if !d.ValidUntil.IsZero() {
		v.ValidUntil = longDate(lang, d.ValidUntil)
	}
	if !d.Eligible {
		s.nextVersion(r, d.Jurisdiction, lang, &v)
	}
	s.views.render(w, r, http.StatusOK, "result", &Page{Title: "result.title", Data: v})
}

// nextVersion finds the next version scheduled for the jurisdiction: the
// earliest date on which the person's answer may change.
func (s *Web) nextVersion(r *http.Request, jurisdiction, lang string, v *resultView) {
	versions, err := s.cfg.Eligibility.Versions(r.Context())
	if err != nil {
		return
	}
	now := s.cfg.Clock.Now()
	var next *eligibility.Version
	for i, ver := range versions {
		if ver.Jurisdiction == jurisdiction && ver.Status == "scheduled" && ver.EffectiveAt.After(now) &&
			(next == nil || ver.EffectiveAt.Before(next.EffectiveAt)) {
			next = &versions[i]
		}
	}
	if next != nil {
		v.NextDate = longDate(lang, next.EffectiveAt.In(time.UTC))
		v.NextDescription = next.Description
	}
}
