package httpx

import (
	"context"
	"net/http"
	"strings"

	"github.com/vaxbook/vaxbook/internal/apperr"
)

// Staff roles (API.md). "agent" is a phone agent who books for callers.
const (
	RoleAdmin   = "admin"
	RoleClinic  = "clinic"
	RoleSupport = "support"
	RoleAuditor = "auditor"
	RoleAgent   = "agent"
)

// Principal is an authenticated caller: a citizen session or a staff token.
type Principal struct {
	// Citizen fields.
	PersonID  int64
	PersonRef string
	// Trusted is false for a session whose contact differs from the one on
	// file: it may book, but not read or change existing appointments.
	Trusted bool
	Lang    string

	// Staff fields.
	StaffID string
	Role    string
	SiteID  int64 // clinic staff only
}

// IsStaff reports whether the principal is a staff token.
func (p Principal) IsStaff() bool { return p.StaffID != "" }

// Actor names the principal in audit records: a person reference or a
// staff token id, never a name.
func (p Principal) Actor() string {
	if p.IsStaff() {
		return "staff:" + p.StaffID
	}
	return "person:" + p.PersonRef
}

// Authenticator resolves bearer tokens. Both methods return an apperr
// "unauthenticated" error for a missing, expired or unknown token.
type Authenticator interface {
	Citizen(ctx context.Context, token string) (Principal, error)
	Staff(ctx context.Context, token string) (Principal, error)
}

// BearerToken returns the token of an "Authorization: Bearer" header.
func BearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// SessionCookie is the web pages' session cookie; it holds the same token
// as the API's bearer token.
const SessionCookie = "vaxbook_session"

// Citizen authenticates a citizen from the bearer token or, for the web
// pages, the session cookie.
func Citizen(a Authenticator, r *http.Request) (Principal, error) {
	tok := BearerToken(r)
	if tok == "" {
		if c, err := r.Cookie(SessionCookie); err == nil {
			tok = c.Value
		}
	}
	if tok == "" {
		return Principal{}, apperr.New("unauthenticated", "send Authorization: Bearer <session_token>")
	}
	return a.Citizen(r.Context(), tok)
}

// Staff authenticates a staff token and checks its role is one of roles.
func Staff(a Authenticator, r *http.Request, roles ...string) (Principal, error) {
	tok := BearerToken(r)
	if tok == "" {
		return Principal{}, apperr.New("unauthenticated", "send Authorization: Bearer <staff token>")
	}
	p, err := a.Staff(r.Context(), tok)
	if err != nil {
		return Principal{}, err
	}
	for _, role := range roles {
		if p.Role == role {
			return p, nil
		}
	}
	return Principal{}, apperr.New("forbidden", "this needs one of the roles %s", strings.Join(roles, ", "))
}
