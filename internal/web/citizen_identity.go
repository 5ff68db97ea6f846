package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/httpx"
	"github.com/vaxbook/vaxbook/internal/identity"
)

// identityForm is the "who you are" form as typed, so a refused form comes
// back with everything the person entered.
type identityForm struct {
	GivenName, FamilyName           string
	BirthMonth, BirthDay, BirthYear string
	PostalCode, Email, Phone        string
}

func (f identityForm) attested(lang string) identity.Attested {
	birth := ""
	m, err1 := strconv.Atoi(strings.TrimSpace(f.BirthMonth))
	d, err2 := strconv.Atoi(strings.TrimSpace(f.BirthDay))
	y, err3 := strconv.Atoi(strings.TrimSpace(f.BirthYear))
	if err1 == nil && err2 == nil && err3 == nil {
		birth = fmt.Sprintf("%04d-%02d-%02d", y, m, d)
	}
	return identity.Attested{GivenName: f.GivenName, FamilyName: f.FamilyName, BirthDate: birth,
		PostalCode: f.PostalCode, Email: strings.TrimSpace(f.Email), Phone: strings.TrimSpace(f.Phone), Lang: lang}
}

func (s *Web) identityPage(w http.ResponseWriter, r *http.Request) {
	s.views.render(w, r, http.StatusOK, "identity", &Page{Title: "identity.title", Data: identityForm{}})
}

// identitySubmit opens a session for the attested person, the same call
// POST /v1/sessions makes, and keeps its token in the session cookie.
func (s *Web) identitySubmit(w http.ResponseWriter, r *http.Request) {
	f := identityForm{
		GivenName: r.PostFormValue("given_name"), FamilyName: r.PostFormValue("family_name"),
		BirthMonth: r.PostFormValue("birth_month"), BirthDay: r.PostFormValue("birth_day"),
		BirthYear: r.PostFormValue("birth_year"), PostalCode: r.PostFormValue("postal_code"),
		Email: r.PostFormValue("email"), Phone: r.PostFormValue("phone"),
	}
	lang := requestLang(r)
	sess, err := s.cfg.Identity.CreateSession(r.Context(), f.attested(lang))
	if err != nil {
		s.formError(w, r, "identity", "identity.title", f, "identity.err.", err)
		return
	}
	http.SetCookie(w, s.sessionCookie(sess.Token, int(sess.ExpiresAt.Sub(s.cfg.Clock.Now()).Seconds())))
	j := s.readJourney(r)
	j.ZIP, _ = identity.NormalizePostalCode(f.PostalCode)
	s.writeJourney(w, j)
	http.Redirect(w, r, "/book/questions/1", http.StatusSeeOther)
}

func (s *Web) sessionCookie(token string, maxAge int) *http.Cookie {
	if maxAge <= 0 {
		maxAge = -1
	}
	return s.guard.cookie(httpx.SessionCookie, token, maxAge)
}

// formError shows a page again with its fields' errors (invalid-request)
// or a page-level message for any other refusal.
func (s *Web) formError(w http.ResponseWriter, r *http.Request, page, title string, data any, prefix string, err error) {
	var e *apperr.Error
	if !errors.As(err, &e) {
		s.fail(w, r, err)
		return
	}
	p := &Page{Title: title, Data: data}
	if len(e.Fields) > 0 {
		p.Errors = map[string]string{}
		for field := range e.Fields {
			p.Errors[field] = prefix + field
		}
	} else {
		p.Error = "problem." + e.Name
	}
	s.views.render(w, r, httpx.StatusOf(e.Name), page, p)
}
