// Package identity keeps people, their sessions and staff tokens. A person
// is created from an attested identity, sealed at rest, and found again by
// a keyed hash of the normalised name and birth date, so one person books
// one seat per dose whichever session they use.
package identity

import (
	"log/slog"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vaxbook/vaxbook/internal/httpx"
)

// Attested is what a person states about themselves when signing in.
type Attested struct {
	GivenName  string `json:"given_name"`
	FamilyName string `json:"family_name"`
	BirthDate  string `json:"birth_date"`
	PostalCode string `json:"postal_code"`
	Email      string `json:"email,omitempty"`
	Phone      string `json:"phone,omitempty"`
	Lang       string `json:"lang,omitempty"`
}

// LogValue redacts the identity: it must never reach a log.
func (a Attested) LogValue() slog.Value { return slog.StringValue("[attested identity redacted]") }

// Person is a stored person, unsealed.
type Person struct {
	ID         int64  `json:"-"`
	Ref        string `json:"person_ref"`
	GivenName  string `json:"given_name"`
	FamilyName string `json:"family_name"`
	BirthDate  string `json:"birth_date"`
	PostalCode string `json:"postal_code"`
	Email      string `json:"email,omitempty"`
	Phone      string `json:"phone,omitempty"`
	Lang       string `json:"lang"`
}

// LogValue shows only the reference.
func (p Person) LogValue() slog.Value { return slog.StringValue("person:" + p.Ref) }

// Validate checks the attested fields against now (birth dates in the
// future or more than 130 years ago are impossible) and normalises the
// postal code to five digits.
func (a *Attested) Validate(now time.Time) error {
	f := httpx.Fields{}
	a.GivenName, a.FamilyName = strings.TrimSpace(a.GivenName), strings.TrimSpace(a.FamilyName)
	f.Check(!validName(a.GivenName), "given_name", "required, up to 100 letters")
	f.Check(!validName(a.FamilyName), "family_name", "required, up to 100 letters")
	birth, err := time.Parse("2006-01-02", a.BirthDate)
	f.Check(err != nil, "birth_date", "must be a real date as YYYY-MM-DD")
	if err == nil {
		f.Check(birth.After(now), "birth_date", "must not be in the future")
		f.Check(birth.Before(now.AddDate(-130, 0, 0)), "birth_date", "must be within the last 130 years")
	}
	zip, ok := NormalizePostalCode(a.PostalCode)
	f.Check(!ok, "postal_code", "must be a US ZIP code (12345 or 12345-6789)")
	a.PostalCode = zip
	a.Email = strings.TrimSpace(a.Email)
	a.Phone = digits(a.Phone)
	f.Check(a.Email == "" && a.Phone == "", "email", "give an email address or a phone number")
	if a.Email != "" {
		addr, err := mail.ParseAddress(a.Email)
		f.Check(err != nil || addr.Address != a.Email || len(a.Email) > 254, "email", "must be a plain email address")
	}
	f.Check(a.Phone != "" && (len(a.Phone) < 7 || len(a.Phone) > 15), "phone", "must have 7 to 15 digits")
	switch a.Lang {
	case "":
		a.Lang = "en"
	case "en", "es":
	default:
		f.Check(true, "lang", "must be en or es")
	}
	return f.Err()
}

func validName(s string) bool {
	if s == "" || !utf8.ValidString(s) || len([]rune(s)) > 100 {
		return false
	}
	for _, r := range s {
		// U+FFFD is what JSON decoding leaves of bytes that were not UTF-8.
		if unicode.IsControl(r) || r == '<' || r == '>' || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// NormalizePostalCode returns the five-digit ZIP of a ZIP or ZIP+4.
func NormalizePostalCode(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '-'); i >= 0 {
		if len(s[i+1:]) != 4 || digits(s[i+1:]) != s[i+1:] {
			return "", false
		}
		s = s[:i]
	}
	if len(s) != 5 || digits(s) != s {
		return "", false
	}
	return s, true
}

func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
