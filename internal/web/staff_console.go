package web

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/httpx"
	"github.com/vaxbook/vaxbook/internal/store"
)

// StaffCookie holds a staff token for the console. It is separate from
// the citizen session, scoped to /staff and SameSite=Strict: a link from
// another site never arrives signed in, so no console action can be
// triggered from outside.
const StaffCookie = "vaxbook_staff"

// staffAccess lists the roles each console area admits (API.md).
var staffAccess = map[string][]string{
	"rules":     {httpx.RoleAdmin},
	"sites":     {httpx.RoleAdmin},
	"dashboard": {httpx.RoleAdmin},
	"day":       {httpx.RoleClinic, httpx.RoleAdmin},
	"support":   {httpx.RoleSupport},
	"audit":     {httpx.RoleAuditor, httpx.RoleSupport},
}

// staffAreas is the order of the console's navigation.
var staffAreas = []string{"rules", "sites", "day", "support", "audit", "dashboard"}

// allows reports whether role may use a console area.
func allows(area, role string) bool { return slices.Contains(staffAccess[area], role) }

// registerStaff adds the console's routes.
func (s *Web) registerStaff(r *httpx.Router) {
	s.page(r, "GET /staff", s.staffHome)
	s.page(r, "GET /staff/sign-in", s.staffSignInPage)
	s.page(r, "POST /staff/sign-in", s.staffSignIn)
	s.page(r, "POST /staff/sign-out", s.staffSignOut)
	s.registerRules(r)
	s.registerSites(r)
	s.registerDay(r)
	s.page(r, "GET /staff/support", s.supportPage)
	s.page(r, "GET /staff/support/proof", s.supportProof)
	s.page(r, "GET /staff/audit", s.auditPage)
	s.page(r, "GET /staff/dashboard", s.dashboardPage)
	s.page(r, "GET /staff/dashboard/charts", s.dashboardCharts)
}

// staffCookie is the console's cookie: HttpOnly, Strict, /staff only.
func (s *Web) staffCookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: StaffCookie, Value: value, Path: "/staff", MaxAge: maxAge,
		HttpOnly: true, Secure: s.guard.secure, SameSite: http.SameSiteStrictMode}
}

// staffPrincipal resolves the console cookie's token.
func (s *Web) staffPrincipal(r *http.Request) (httpx.Principal, error) {
	c, err := r.Cookie(StaffCookie)
	if err != nil || c.Value == "" {
		return httpx.Principal{}, apperr.New("unauthenticated", "sign in with a staff token")
	}
	return s.cfg.Identity.Staff(r.Context(), c.Value)
}

// staff admits a signed-in member of staff whose role may use area; the
// others go to the sign-in form or get a forbidden page.
func (s *Web) staff(w http.ResponseWriter, r *http.Request, area string) (httpx.Principal, bool) {
	p, err := s.staffPrincipal(r)
	if err != nil {
		http.Redirect(w, r, "/staff/sign-in", http.StatusSeeOther)
		return p, false
	}
	if !allows(area, p.Role) {
		s.staffRender(w, r, http.StatusForbidden, "staff_forbidden", p, "staff.forbidden_title", area)
		return p, false
	}
	return p, true
}

// staffRender renders a console page. The console is in English: its
// users are the service's own staff, and every page names codes that are
// English anyway.
func (s *Web) staffRender(w http.ResponseWriter, r *http.Request, status int, name string, p httpx.Principal,
	title string, data any) {
	pg := &Page{Title: title, Lang: "en", Staff: true, Data: data, StaffRole: p.Role}
	s.views.render(w, r, status, name, pg)
}

// staffError shows a refusal inside the console, keeping its detail:
// staff need to know why an action was refused.
func (s *Web) staffError(w http.ResponseWriter, r *http.Request, p httpx.Principal, err error) {
	var e *apperr.Error
	if !errors.As(err, &e) {
		s.fail(w, r, err)
		return
	}
	s.staffRender(w, r, httpx.StatusOf(e.Name), "staff_error", p, "staff.error_title",
		staffProblem{Name: e.Name, Detail: e.Detail, Fields: e.Fields})
}

type staffProblem struct {
	Name, Detail string
	Fields       map[string]string
}

type staffHomeView struct {
	Role   string
	SiteID int64
	Areas  []string
}

func (s *Web) staffHome(w http.ResponseWriter, r *http.Request) {
	p, err := s.staffPrincipal(r)
	if err != nil {
		http.Redirect(w, r, "/staff/sign-in", http.StatusSeeOther)
		return
	}
	v := staffHomeView{Role: p.Role, SiteID: p.SiteID}
	for _, a := range staffAreas {
		if allows(a, p.Role) {
			v.Areas = append(v.Areas, a)
		}
	}
	s.staffRender(w, r, http.StatusOK, "staff_home", p, "staff.console", v)
}

func (s *Web) staffSignInPage(w http.ResponseWriter, r *http.Request) {
	s.staffRender(w, r, http.StatusOK, "staff_sign_in", httpx.Principal{}, "staff.sign_in_title", nil)
}

// staffSignIn checks the token before keeping it, so a mistyped token is
// told at once rather than on the next page.
func (s *Web) staffSignIn(w http.ResponseWriter, r *http.Request) {
	token := strings.TrimSpace(r.PostFormValue("token"))
	if token == "" {
		s.staffSignInFailed(w, r)
		return
	}
	if _, err := s.cfg.Identity.Staff(r.Context(), token); err != nil {
		if apperr.Is(err, "unauthenticated") || apperr.Is(err, "not-found") {
			s.staffSignInFailed(w, r)
			return
		}
		s.fail(w, r, err)
		return
	}
	http.SetCookie(w, s.staffCookie(token, 12*3600))
	http.Redirect(w, r, "/staff", http.StatusSeeOther)
}

func (s *Web) staffSignInFailed(w http.ResponseWriter, r *http.Request) {
	pg := &Page{Title: "staff.sign_in_title", Lang: "en", Staff: false,
		Errors: map[string]string{"token": "staff.token_invalid"}}
	s.views.render(w, r, http.StatusUnauthorized, "staff_sign_in", pg)
}

func (s *Web) staffSignOut(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, s.staffCookie("", -1))
	http.Redirect(w, r, "/staff/sign-in", http.StatusSeeOther)
}

// record appends a console read to the audit log (searches, decision
// lookups): reading is itself on the log, with references only.
func (s *Web) record(ctx context.Context, p httpx.Principal, action, subject string, details map[string]any) error {
	rec := audit.Record{At: s.cfg.Clock.Now(), Actor: p.Actor(), Action: action, Details: details}
	if subject != "" {
		rec.Subjects = []string{subject}
	}
	return s.cfg.Booking.DB().InTx(ctx, func(tx *store.Tx) error { return audit.Append(ctx, tx, rec) })
}

// staffTime formats an instant for the console, in UTC with its zone.
func staffTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func asAppErr(err error, e **apperr.Error) bool { return errors.As(err, e) }
