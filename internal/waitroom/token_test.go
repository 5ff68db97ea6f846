package waitroom

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
)

// admitted returns a room that is open with n admitted tickets' tokens.
func admitted(t *testing.T, n int) (fixture, []string, *prometheus.Registry) {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t, store.SQLite)
	clk := clock.NewFake(opening.Add(-time.Minute))
	reg := prometheus.NewRegistry()
	room, err := New(ctx, Config{Mode: ModeFIFO, OpensAt: opening, AdmissionRatePerS: 100, TokenTTL: 5 * time.Minute},
		Deps{DB: db, Clock: clk, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = join(t, room, "c"+string(rune('a'+i))).Ticket
	}
	clk.Set(opening)
	_ = room.Tick(ctx)
	clk.Advance(time.Second)
	if err := room.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	toks := make([]string, n)
	for i, id := range ids {
		s, err := room.Status(ctx, id)
		if err != nil || s.Token == "" {
			t.Fatalf("ticket %d: %q %v, want admitted with a token", i, s.Status, err)
		}
		toks[i] = s.Token
	}
	return fixture{room: room, clk: clk, db: db}, toks, reg
}

func wantRefused(t *testing.T, err error, reason string) {
	t.Helper()
	var e *apperr.Error
	if !apperrAs(err, &e) || e.Name != "admission-required" || e.Extra["reason"] != reason {
		t.Fatalf("err = %v, want admission-required for %s", err, reason)
	}
	if e.Extra["queue_url"] != "/waiting-room" {
		t.Fatalf("queue_url = %v", e.Extra["queue_url"])
	}
}

func TestTokenBindsToOnePersonAndBooksOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f, toks, reg := admitted(t, 2)
	tok := toks[0]
	if err := f.room.Check(ctx, tok, "person-A"); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if err := f.room.Check(ctx, tok, "person-A"); err != nil {
		t.Fatalf("same person again (hold, then book): %v", err)
	}
	wantRefused(t, f.room.Check(ctx, tok, "person-B"), ReasonOtherPerson)
	if err := f.room.Spend(ctx, tok); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, f.room.Check(ctx, tok, "person-A"), ReasonAlreadyUsed)
	wantRefused(t, f.room.Check(ctx, "", "person-A"), ReasonMissing)
	if got := testutil.ToFloat64(f.room.m.failures.WithLabelValues(ReasonOtherPerson)); got != 1 {
		t.Fatalf("failures{bound-to-other-person} = %v, want 1", got)
	}
	if n := testutil.CollectAndCount(reg, "vaxbook_waitroom_admission_to_booking_seconds"); n != 1 {
		t.Fatalf("admission-to-booking histogram series = %d", n)
	}
	if s, _ := f.room.Status(ctx, ticketOf(t, tok)); s.Status != "expired" {
		t.Fatalf("a spent ticket's status is %q, want expired", s.Status)
	}
}

func ticketOf(t *testing.T, tok string) string {
	t.Helper()
	var c Claims
	if _, _, err := jwt.NewParser().ParseUnverified(tok, &c); err != nil {
		t.Fatal(err)
	}
	return c.Ticket
}

func TestTokenTimesAndSkew(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f, toks, _ := admitted(t, 2)
	// TTL 5 minutes from admission at opening+1s; skew 30 s.
	f.clk.Set(opening.Add(time.Second + 5*time.Minute + 20*time.Second))
	if err := f.room.Check(ctx, toks[0], "p0"); err != nil {
		t.Fatalf("20 s after expiry, inside the skew: %v", err)
	}
	f.clk.Set(opening.Add(time.Second + 5*time.Minute + 31*time.Second))
	wantRefused(t, f.room.Check(ctx, toks[1], "p1"), ReasonExpired)

	now := f.clk.Now()
	early := func(d time.Duration) string {
		tok, err := f.room.keys.Issue(Ticket{ID: newTicketID(), AdmittedAt: now.Add(d), ExpiresAt: now.Add(d + time.Minute)}, "vaxbook-booking")
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	if err := f.room.Check(ctx, early(20*time.Second), "p2"); err != nil {
		t.Fatalf("a node 20 s ahead, inside the skew: %v", err)
	}
	wantRefused(t, f.room.Check(ctx, early(45*time.Second), "p3"), ReasonNotYetValid)
}

func TestForgedAndForeignTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f, toks, _ := admitted(t, 1)
	parts := strings.Split(toks[0], ".")
	// Change the payload (another ticket id) and keep the signature.
	var c Claims
	_, _, _ = jwt.NewParser().ParseUnverified(toks[0], &c)
	c.Ticket, c.ID = newTicketID(), ""
	kid, _ := f.room.keys.Current()
	resigned := signWith(t, c, kid, nil)
	tampered := strings.Join([]string{parts[0], strings.Split(resigned, ".")[1], parts[2]}, ".")
	wantRefused(t, f.room.Check(ctx, tampered, "p"), ReasonBadSignature)
	// A key of the attacker's own, claiming our kid.
	wantRefused(t, f.room.Check(ctx, resigned, "p"), ReasonBadSignature)
	// Another algorithm: none, and HMAC keyed with anything.
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, c).SignedString(jwt.UnsafeAllowNoneSignatureType)
	wantRefused(t, f.room.Check(ctx, none, "p"), ReasonBadSignature)
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	hs.Header["kid"] = kid
	hsTok, _ := hs.SignedString([]byte("guess"))
	wantRefused(t, f.room.Check(ctx, hsTok, "p"), ReasonBadSignature)
	wantRefused(t, f.room.Check(ctx, signWith(t, c, "no-such-kid", nil), "p"), ReasonUnknownKey)
	wantRefused(t, f.room.Check(ctx, "not.a.jwt", "p"), ReasonMalformed)
	other, _ := f.room.keys.Issue(Ticket{ID: newTicketID(), AdmittedAt: f.clk.Now(), ExpiresAt: f.clk.Now().Add(time.Minute)}, "someone-else")
	wantRefused(t, f.room.Check(ctx, other, "p"), ReasonWrongAudience)
}

func signWith(t *testing.T, c Claims, kid string, key ed25519.PrivateKey) string {
	t.Helper()
	if key == nil {
		_, key, _ = ed25519.GenerateKey(rand.Reader)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestKeyRotationWithoutRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f, toks, _ := admitted(t, 1)
	oldKid, _ := f.room.keys.Current()
	// Another node rotates through the shared database.
	other, err := NewKeyring(ctx, f.db, nil, f.clk, 24*time.Hour+30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	newKid, _ := other.Current()
	if newKid == oldKid {
		t.Fatal("rotation kept the same key id")
	}
	fresh, _ := other.Issue(Ticket{ID: newTicketID(), AdmittedAt: f.clk.Now(), ExpiresAt: f.clk.Now().Add(time.Minute)}, "vaxbook-booking")
	f.clk.Advance(2 * time.Second) // past the once-a-second reload guard
	if err := f.room.Check(ctx, fresh, "p-new"); err != nil {
		t.Fatalf("token from the key another node rotated in: %v", err)
	}
	if err := f.room.Check(ctx, toks[0], "p-old"); err != nil {
		t.Fatalf("token from the retired key, still within its lifetime: %v", err)
	}
	// Long after: the retired key is forgotten, and its token refused even
	// with its lifetime ignored.
	f.clk.Advance(25 * time.Hour)
	if err := f.room.keys.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, reason := f.room.keys.Verify(ctx, toks[0], "vaxbook-booking", 1000*time.Hour); reason != ReasonUnknownKey {
		t.Fatalf("retired key after expiry: reason %q, want %s", reason, ReasonUnknownKey)
	}
	wantRefused(t, f.room.Check(ctx, toks[0], "p-old"), ReasonUnknownKey)
}
