package waitroom

import (
	"context"
	_ "embed"
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vaxbook/vaxbook/internal/store"
)

//go:embed queries.sql
var queryText string

func queries(db *store.DB) *store.Queries {
	return store.ParseQueries(db.Dialect, "waitroom/queries.sql", queryText)
}

// Reasons a token is refused, as counted in metrics and shown in the
// problem body.
const (
	ReasonMissing       = "missing"
	ReasonMalformed     = "malformed"
	ReasonExpired       = "expired"
	ReasonBadSignature  = "bad-signature"
	ReasonUnknownKey    = "unknown-key"
	ReasonNotYetValid   = "not-yet-valid"
	ReasonWrongAudience = "wrong-audience"
	ReasonOtherPerson   = "bound-to-other-person"
	ReasonAlreadyUsed   = "already-used"
)

// Reasons lists every refusal reason.
var Reasons = []string{ReasonMissing, ReasonMalformed, ReasonExpired, ReasonBadSignature, ReasonUnknownKey,
	ReasonNotYetValid, ReasonWrongAudience, ReasonOtherPerson, ReasonAlreadyUsed}

// signingMethod is the one algorithm tokens may use; a token naming any
// other (none, HS256 with the public key...) is refused before its
// signature is looked at.
var signingMethod = jwt.SigningMethodEdDSA

// Claims are an admission token's claims. The ticket id doubles as jti:
// one ticket, one admission.
type Claims struct {
	Ticket string `json:"tid"`
	jwt.RegisteredClaims
}

// Issue signs a token for an admitted ticket. The times come from the
// admission, so asking again returns the same token (Ed25519 signatures
// are deterministic).
func (k *Keyring) Issue(t Ticket, audience string) (string, error) {
	k.mu.RLock()
	signer := k.signer
	k.mu.RUnlock()
	claims := Claims{Ticket: t.ID, RegisteredClaims: jwt.RegisteredClaims{
		ID:        t.ID,
		Audience:  jwt.ClaimStrings{audience},
		IssuedAt:  jwt.NewNumericDate(t.AdmittedAt),
		NotBefore: jwt.NewNumericDate(t.AdmittedAt),
		ExpiresAt: jwt.NewNumericDate(t.ExpiresAt),
	}}
	tok := jwt.NewWithClaims(signingMethod, claims)
	tok.Header["kid"] = signer.kid
	return tok.SignedString(signer.key)
}

// Verify checks a token's signature, key, audience and times, allowing
// skew either way. It returns the claims, or the reason for refusing.
func (k *Keyring) Verify(ctx context.Context, raw, audience string, skew time.Duration) (Claims, string) {
	if raw == "" {
		return Claims{}, ReasonMissing
	}
	var c Claims
	p := jwt.NewParser(jwt.WithValidMethods([]string{signingMethod.Alg()}), jwt.WithAudience(audience),
		jwt.WithLeeway(skew), jwt.WithTimeFunc(k.clk.Now), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
	_, err := p.ParseWithClaims(raw, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		return k.verifier(ctx, kid)
	})
	if err == nil && c.Ticket == "" {
		return Claims{}, ReasonMalformed
	}
	return c, reasonOf(err)
}

func reasonOf(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, errUnknownKey):
		return ReasonUnknownKey
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return ReasonBadSignature
	case errors.Is(err, jwt.ErrTokenExpired):
		return ReasonExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return ReasonNotYetValid
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return ReasonWrongAudience
	}
	return ReasonMalformed
}

// claimsOf reads a token whose signature is good without checking its
// times: Spend runs after a booking committed, when a token that expired
// a moment ago must still be marked used.
func (k *Keyring) claimsOf(ctx context.Context, raw string) (Claims, bool) {
	var c Claims
	p := jwt.NewParser(jwt.WithValidMethods([]string{signingMethod.Alg()}), jwt.WithoutClaimsValidation())
	_, err := p.ParseWithClaims(raw, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		return k.verifier(ctx, kid)
	})
	return c, err == nil && c.Ticket != ""
}
