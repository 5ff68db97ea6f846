package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/eligibility"
	"github.com/vaxbook/vaxbook/internal/httpx"
	"github.com/vaxbook/vaxbook/internal/identity"
)

// person is the signed-in citizen of a page.
type person struct {
	httpx.Principal
	identity.Person
}

// citizen authenticates the session cookie; without a valid session the
// person is sent to the identity page.
func (s *Web) citizen(w http.ResponseWriter, r *http.Request) (person, bool) {
	p, err := httpx.Citizen(s.cfg.Identity, r)
	if err != nil {
		http.Redirect(w, r, "/book/identity", http.StatusSeeOther)
		return person{}, false
	}
	who, err := s.cfg.Identity.Person(r.Context(), p.PersonID)
	if err != nil {
		s.fail(w, r, err)
		return person{}, false
	}
	return person{Principal: p, Person: who}, true
}

// rules returns the active rule version for a person's ZIP code: their
// state's when it has active rules, else the only active jurisdiction.
func (s *Web) rules(ctx context.Context, zip string) (*eligibility.Ruleset, string, error) {
	all, err := s.cfg.Eligibility.Jurisdictions(ctx)
	if err != nil {
		return nil, "", err
	}
	jur := eligibility.StateOf(zip)
	version, ok := all[jur]
	if !ok {
		jur = ""
		for j, v := range all {
			if jur == "" || j < jur {
				jur, version = j, v
			}
		}
	}
	if version == "" {
		return nil, "", apperr.New("unavailable", "no rule version is active")
	}
	rs, err := s.cfg.Eligibility.Ruleset(ctx, version)
	return rs, jur, err
}

func (s *Web) vocabulary(r *http.Request, zip string) (eligibility.Vocabulary, error) {
	rs, _, err := s.rules(r.Context(), zip)
	if err != nil {
		return eligibility.Vocabulary{}, err
	}
	return rs.Doc.Vocabulary, nil
}

// evaluate asks the eligibility service for a decision, the same call as
// POST /v1/eligibility:evaluate, and shows the result page.
func (s *Web) evaluate(w http.ResponseWriter, r *http.Request, p person, j journey) {
	_, jur, err := s.rules(r.Context(), p.PostalCode)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d, err := s.cfg.Eligibility.Evaluate(r.Context(), eligibility.EvalRequest{PersonID: p.PersonID,
		Actor: p.Actor(), Jurisdiction: jur, Attributes: eligibility.Attributes{BirthDate: p.BirthDate,
			PostalCode: p.PostalCode, Answers: j.answers()}})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	j.DecisionRef, j.Eligible = d.Ref, d.Eligible
	s.writeJourney(w, j)
	http.Redirect(w, r, "/book/result", http.StatusSeeOther)
}

// fail shows a refusal as a page: an apperr with its plain-language
// message, anything else as a logged 500.
func (s *Web) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *apperr.Error
	if errors.As(err, &e) {
		key := "problem." + e.Name
		if _, known := s.views.cat[languages[0]][key]; !known {
			key = "problem.conflict"
		}
		s.views.render(w, r, httpx.StatusOf(e.Name), "error", &Page{Title: key + ".title", Data: key})
		return
	}
	if !errors.Is(err, context.Canceled) {
		s.cfg.Log.ErrorContext(r.Context(), "page failed", slog.String("route", r.Pattern),
			slog.String("error", err.Error()))
	}
	s.views.render(w, r, http.StatusInternalServerError, "error", &Page{Title: "problem.internal.title",
		Data: "problem.internal"})
}

func (s *Web) notFound(w http.ResponseWriter, r *http.Request) {
	s.fail(w, r, apperr.NotFound("page"))
}
