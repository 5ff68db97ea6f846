package waitroomapi

import (
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/httpx"
	"github.com/vaxbook/vaxbook/internal/waitroom"
)

const (
	ticketCookie = "vaxbook_wr_ticket"
	autoCookie   = "vaxbook_wr_auto"
)

var pageTmpl = template.Must(template.ParseFS(assets, "page.html"))

type pageData struct {
	Phase     string
	Mode      string
	OpensAt   time.Time
	Has       bool
	S         waitroom.Status
	Auto      bool
	Refresh   int
	Updated   time.Time
	WaitText  string
	Notified  bool
	ErrorText string
}

// page renders the waiting room for the ticket in the cookie. It works
// without JavaScript: a button to check again, and a refresh the person
// can turn on.
func (m *Module) page(w http.ResponseWriter, r *http.Request) {
	s := m.Room.Settings()
	now := m.Room.Now()
	d := pageData{Phase: s.Phase(now), Mode: s.Mode, OpensAt: s.OpensAt, Updated: now,
		Auto: hasCookie(r, autoCookie), Notified: r.URL.Query().Get("notified") == "1"}
	if c, err := r.Cookie(ticketCookie); err == nil {
		st, err := m.Room.Status(r.Context(), c.Value)
		switch {
		case err == nil:
			d.Has, d.S = true, st
			d.WaitText = waitText(st.EstimatedWait)
			if d.Auto {
				d.Refresh = st.PollAfter
			}
		case apperr.Is(err, "not-found"):
			m.clearCookie(w, ticketCookie)
		default:
			httpx.Problem(w, r, m.Log, err)
			return
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'")
	if err := pageTmpl.Execute(w, d); err != nil {
		m.Log.ErrorContext(r.Context(), "render waiting room page", "error", err.Error())
	}
}

func waitText(s int) string {
	switch {
	case s < 60:
		return "less than a minute"
	case s < 120:
		return "about a minute"
	case s < 3600:
		return "about " + itoa((s+59)/60) + " minutes"
	}
	return "about " + itoa(s/3600) + " h " + itoa((s%3600)/60) + " min"
}

func itoa(n int) string { return strconv.Itoa(n) }

// pagePost handles the page's forms: join, check, leave, auto refresh on
// or off, and "tell me when appointments come back". Cookies are
// SameSite=Lax, so another site cannot post these for a visitor.
func (m *Module) pagePost(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		httpx.WriteProblem(w, apperr.New("invalid-request", "the form could not be read"))
		return
	}
	ticket := ""
	if c, err := r.Cookie(ticketCookie); err == nil {
		ticket = c.Value
	}
	next := "/waiting-room"
	var err error
	switch r.PostForm.Get("action") {
	case "join":
		err = m.pageJoin(w, r)
	case "leave":
		if ticket != "" {
			err = m.Room.Leave(r.Context(), ticket)
		}
		m.clearCookie(w, ticketCookie)
	case "auto-on":
		m.setCookie(w, autoCookie, "1")
	case "auto-off":
		m.clearCookie(w, autoCookie)
	case "notify":
		if err = m.Room.Notify(r.Context(), ticket); err == nil {
			next += "?notified=1"
		}
	}
	if err != nil && !apperr.Is(err, "not-found") {
		httpx.Problem(w, r, m.Log, err)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (m *Module) pageJoin(w http.ResponseWriter, r *http.Request) error {
	client, err := m.client(w, r)
	if err != nil {
		return err
	}
	s, _, err := m.Room.Join(r.Context(), client)
	if err != nil {
		return err
	}
	m.setCookie(w, ticketCookie, s.Ticket)
	return nil
}

func (m *Module) setCookie(w http.ResponseWriter, name, value string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true,
		Secure: m.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: 86400})
}

func (m *Module) clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", HttpOnly: true,
		Secure: m.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

func (m *Module) script(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "max-age=300")
	http.ServeFileFS(w, r, assets, "static/waitroom.js")
}
