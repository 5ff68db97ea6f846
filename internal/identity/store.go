package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/httpx"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/ref"
	"github.com/vaxbook/vaxbook/internal/store"
)

//go:embed queries.sql
var queriesSQL string

// SessionTTL is how long a citizen session lasts.
const SessionTTL = 2 * time.Hour

// sealContext binds sealed person records to their column.
const sealContext = "person"

// Store keeps people, sessions and staff tokens. It implements
// httpx.Authenticator.
type Store struct {
	db    *store.DB
	q     *store.Queries
	keys  *pii.Keys
	clock clock.Clock
}

// New returns a Store.
func New(db *store.DB, keys *pii.Keys, clk clock.Clock) *Store {
	return &Store{db: db, q: store.ParseQueries(db.Dialect, "identity/queries.sql", queriesSQL), keys: keys, clock: clk}
}

// Session is a new citizen session. Token is shown once.
type Session struct {
	Token     string    `json:"session_token"`
	PersonRef string    `json:"person_ref"`
	PersonID  int64     `json:"-"`
	Trusted   bool      `json:"-"`
	ExpiresAt time.Time `json:"expires_at"`
}

// sealed is what a person record holds under encryption.
type sealed struct {
	GivenName  string `json:"g"`
	FamilyName string `json:"f"`
	BirthDate  string `json:"b"`
	PostalCode string `json:"z"`
	Email      string `json:"e,omitempty"`
	Phone      string `json:"p,omitempty"`
}

// CreateSession finds or creates the person a validated identity names and
// opens a session for them. When the contact differs from the one on file
// the session is untrusted: it may book, but may not see or change the
// person's appointments, and the contact on file is kept.
func (s *Store) CreateSession(ctx context.Context, a Attested) (Session, error) {
	now := s.clock.Now()
	if err := a.Validate(now); err != nil {
		return Session{}, err
	}
	lookup := s.keys.Hash("person", pii.Normalize(a.GivenName), pii.Normalize(a.FamilyName), a.BirthDate)
	contact := s.keys.Hash("contact", strings.ToLower(a.Email), a.Phone)
	blob, err := json.Marshal(sealed{a.GivenName, a.FamilyName, a.BirthDate, a.PostalCode, a.Email, a.Phone})
	if err != nil {
		return Session{}, err
	}
	token, tokenHash := newToken()
	sess := Session{Token: token, ExpiresAt: now.Add(SessionTTL)}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		sealedBlob := s.keys.Seal(sealContext, blob)
		if _, err := tx.ExecContext(ctx, s.q.Get("insert_person"), newRef("P"), lookup, contact,
			sealedBlob, a.Lang, now.UnixMicro()); err != nil {
			return fmt.Errorf("insert person: %w", err)
		}
		var onFile []byte
		if err := tx.QueryRowContext(ctx, s.q.Get("person_by_lookup"), lookup).Scan(
			&sess.PersonID, &sess.PersonRef, &onFile); err != nil {
			return fmt.Errorf("find person: %w", err)
		}
		sess.Trusted = subtle.ConstantTimeCompare(onFile, contact) == 1
		if sess.Trusted {
			if _, err := tx.ExecContext(ctx, s.q.Get("update_person_details"), sealedBlob, a.Lang, sess.PersonID); err != nil {
				return fmt.Errorf("update person: %w", err)
			}
		}
		_, err := tx.ExecContext(ctx, s.q.Get("insert_session"), tokenHash, sess.PersonID, sess.Trusted,
			sess.ExpiresAt.UnixMicro(), now.UnixMicro())
		return err
	})
	if err != nil {
		return Session{}, fmt.Errorf("create session: %w", err)
	}
	return sess, nil
}

// Citizen resolves a session token (httpx.Authenticator).
func (s *Store) Citizen(ctx context.Context, token string) (httpx.Principal, error) {
	var p httpx.Principal
	var expires int64
	err := s.db.Read.QueryRowContext(ctx, s.q.Get("session"), hashToken(token)).Scan(
		&p.PersonID, &p.PersonRef, &p.Trusted, &expires, &p.Lang)
	if store.IsNoRows(err) || (err == nil && expires <= s.clock.Now().UnixMicro()) {
		return httpx.Principal{}, apperr.New("unauthenticated", "the session is unknown or has expired; sign in again")
	}
	if err != nil {
		return httpx.Principal{}, fmt.Errorf("read session: %w", err)
	}
	return p, nil
}

// Staff resolves a staff token (httpx.Authenticator).
func (s *Store) Staff(ctx context.Context, token string) (httpx.Principal, error) {
	var p httpx.Principal
	err := s.db.Read.QueryRowContext(ctx, s.q.Get("staff"), hashToken(token)).Scan(&p.StaffID, &p.Role, &p.SiteID)
	if store.IsNoRows(err) {
		return httpx.Principal{}, apperr.New("unauthenticated", "the staff token is unknown or revoked")
	}
	if err != nil {
		return httpx.Principal{}, fmt.Errorf("read staff token: %w", err)
	}
	return p, nil
}

// Person returns the unsealed person.
func (s *Store) Person(ctx context.Context, id int64) (Person, error) {
	return s.scanPerson(s.db.Read.QueryRowContext(ctx, s.q.Get("person_by_id"), id))
}

// PersonByRef returns the unsealed person with the public reference.
func (s *Store) PersonByRef(ctx context.Context, ref string) (Person, error) {
	return s.scanPerson(s.db.Read.QueryRowContext(ctx, s.q.Get("person_by_ref"), ref))
}

func (s *Store) scanPerson(row *sql.Row) (Person, error) {
	var p Person
	var blob []byte
	if err := row.Scan(&p.ID, &p.Ref, &blob, &p.Lang); err != nil {
		if store.IsNoRows(err) {
			return Person{}, apperr.NotFound("person")
		}
		return Person{}, fmt.Errorf("read person: %w", err)
	}
	plain, err := s.keys.Open(sealContext, blob)
	if err != nil {
		return Person{}, fmt.Errorf("unseal person %s: %w", p.Ref, err)
	}
	var sd sealed
	if err := json.Unmarshal(plain, &sd); err != nil {
		return Person{}, fmt.Errorf("decode person %s: %w", p.Ref, err)
	}
	p.GivenName, p.FamilyName, p.BirthDate = sd.GivenName, sd.FamilyName, sd.BirthDate
	p.PostalCode, p.Email, p.Phone = sd.PostalCode, sd.Email, sd.Phone
	return p, nil
}

// Roles a staff token may carry.
var Roles = []string{httpx.RoleAdmin, httpx.RoleClinic, httpx.RoleSupport, httpx.RoleAuditor, httpx.RoleAgent}

// CreateStaffToken makes a staff token, stores its hash and audits the
// creation. The token is returned once and never stored.
func (s *Store) CreateStaffToken(ctx context.Context, actor, role string, siteID int64) (token, id string, err error) {
	if !validRole(role) {
		return "", "", apperr.Invalid("role", "must be one of "+strings.Join(Roles, ", "))
	}
	if (role == httpx.RoleClinic) != (siteID != 0) {
		return "", "", apperr.Invalid("site", "clinic tokens need a site; other roles take none")
	}
	token, hash := newToken()
	id = newRef("st_")
	now := s.clock.Now()
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		var site sql.NullInt64
		if siteID != 0 {
			var one int
			if err := tx.QueryRowContext(ctx, s.q.Get("site_exists"), siteID).Scan(&one); err != nil {
				if store.IsNoRows(err) {
					return apperr.Invalid("site", "no site with that id")
				}
				return err
			}
			site = sql.NullInt64{Int64: siteID, Valid: true}
		}
		if _, err := tx.ExecContext(ctx, s.q.Get("insert_staff"), id, hash, role, site, now.UnixMicro()); err != nil {
			return fmt.Errorf("insert staff token: %w", err)
		}
		return audit.Append(ctx, tx, audit.Record{At: now, Actor: actor, Action: "staff_token.created",
			Subjects: []string{"staff:" + id}, Details: map[string]any{"role": role, "site_id": siteID}})
	})
	if err != nil {
		return "", "", err
	}
	return token, id, nil
}

func validRole(role string) bool {
	for _, r := range Roles {
		if r == role {
			return true
		}
	}
	return false
}

// newToken returns a random bearer token and the hash that is stored.
func newToken() (token string, hash []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token)
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// newRef returns an unguessable reference with a prefix (16 characters,
// about 79 bits).
func newRef(prefix string) string { return ref.New(prefix, 16) }
