package web

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"net/http"
)

// contentSecurityPolicy allows nothing inline: every script and stylesheet
// is a file under /static, so an injected tag cannot run.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; font-src 'self'; connect-src 'self'; form-action 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'"

// CSRFCookie carries the random value the form tokens are derived from.
const CSRFCookie = "vaxbook_csrf"

// csrfField is the hidden form field that carries the token.
const csrfField = "csrf_token"

// guard applies the page headers and, to every state-changing request, the
// two CSRF defences: the browser's own word on where the request came from
// (Sec-Fetch-Site, Origin) and a token in the form that a foreign page can
// neither read nor guess.
type guard struct {
	secure bool
	mac    func(purpose string, fields ...string) []byte
	cross  *http.CrossOriginProtection
}

func newGuard(secure bool, mac func(string, ...string) []byte) *guard {
	return &guard{secure: secure, mac: mac, cross: http.NewCrossOriginProtection()}
}

// wrap protects one page handler.
func (g *guard) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("Cache-Control", "no-store")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		seed := g.seed(w, r)
		if !safeMethod(r.Method) && !g.allowed(r, seed) {
			http.Error(w, "This form has expired or came from another site. Go back, reload the page and try again.",
				http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r.WithContext(withCSRF(r.Context(), g.token(seed))))
	})
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// seed returns the browser's CSRF seed, setting a new one when it has none.
func (g *guard) seed(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(CSRFCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, g.cookie(CSRFCookie, v, 0))
	r.AddCookie(&http.Cookie{Name: CSRFCookie, Value: v})
	return v
}

func (g *guard) token(seed string) string {
	return base64.RawURLEncoding.EncodeToString(g.mac("web-csrf", seed))
}

func (g *guard) allowed(r *http.Request, seed string) bool {
	if err := g.cross.Check(r); err != nil {
		return false
	}
	got, err := base64.RawURLEncoding.DecodeString(r.PostFormValue(csrfField))
	if err != nil {
		return false
	}
	return hmac.Equal(got, g.mac("web-csrf", seed))
}

// cookie returns a cookie the pages set: never readable by scripts, sent
// on top-level navigations only, and Secure when the public address is
// https. maxAge 0 makes a browser-session cookie; -1 deletes it.
func (g *guard) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: g.secure, SameSite: http.SameSiteLaxMode,
	}
}
