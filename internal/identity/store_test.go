package identity_test

import (
	"context"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/identity"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
)

func attested() identity.Attested {
	return identity.Attested{GivenName: "Zuleika", FamilyName: "Thornquist-Abara", BirthDate: "1950-02-28",
		PostalCode: "02114-1234", Email: "zuleika@example.org"}
}

func TestSessionsFindTheSamePerson(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
		ids := identity.New(db, pii.TestKeys(), clk)

		first, err := ids.CreateSession(ctx, attested())
		if err != nil {
			t.Fatal(err)
		}
		again := attested()
		again.GivenName, again.FamilyName = "  ZULEIKA ", "thornquist abara"
		second, err := ids.CreateSession(ctx, again)
		if err != nil {
			t.Fatal(err)
		}
		if first.PersonRef != second.PersonRef || !second.Trusted {
			t.Fatalf("same person, same contact: refs %s/%s trusted=%v", first.PersonRef, second.PersonRef, second.Trusted)
		}
		other := attested()
		other.Email = "someone.else@example.org"
		third, err := ids.CreateSession(ctx, other)
		if err != nil {
			t.Fatal(err)
		}
		if third.PersonRef != first.PersonRef || third.Trusted {
			t.Fatalf("another contact must reach the same person untrusted: %+v", third)
		}
		p, err := ids.Person(ctx, first.PersonID)
		if err != nil || p.Email != "zuleika@example.org" || p.PostalCode != "02114" {
			t.Fatalf("contact on file must be kept: %+v, %v", p, err)
		}
		pr, err := ids.Citizen(ctx, third.Token)
		if err != nil || pr.Trusted || pr.PersonRef != first.PersonRef {
			t.Fatalf("Citizen(untrusted) = %+v, %v", pr, err)
		}
		clk.Advance(identity.SessionTTL + time.Second)
		if _, err := ids.Citizen(ctx, first.Token); !apperr.Is(err, "unauthenticated") {
			t.Fatalf("expired session: err = %v", err)
		}
	})
}

func TestAttestedValidation(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	cases := map[string]func(a *identity.Attested){
		"birth_date":  func(a *identity.Attested) { a.BirthDate = "2021-02-29" },
		"postal_code": func(a *identity.Attested) { a.PostalCode = "2114" },
		"given_name":  func(a *identity.Attested) { a.GivenName = "" },
		"family_name": func(a *identity.Attested) { a.FamilyName = "Bad\xffBytes" },
		"email":       func(a *identity.Attested) { a.Email = "not an address" },
		"lang":        func(a *identity.Attested) { a.Lang = "fr" },
	}
	for field, mutate := range cases {
		a := attested()
		mutate(&a)
		err := a.Validate(now)
		var e *apperr.Error
		if !asErr(err, &e) || e.Fields[field] == "" {
			t.Errorf("%s: err = %v, want a field error", field, err)
		}
	}
	future := attested()
	future.BirthDate = "2026-03-02"
	if err := future.Validate(now); err == nil {
		t.Error("a birth date in the future was accepted")
	}
}

func asErr(err error, target **apperr.Error) bool {
	e, ok := err.(*apperr.Error)
	*target = e
	return ok
}

func TestStaffTokens(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ids := identity.New(db, pii.TestKeys(), clock.System{})
		tok, id, err := ids.CreateStaffToken(ctx, "cli", "support", 0)
		if err != nil {
			t.Fatal(err)
		}
		p, err := ids.Staff(ctx, tok)
		if err != nil || p.StaffID != id || p.Role != "support" {
			t.Fatalf("Staff = %+v, %v", p, err)
		}
		if _, err := ids.Staff(ctx, tok+"x"); !apperr.Is(err, "unauthenticated") {
			t.Fatalf("forged token: err = %v", err)
		}
		if _, _, err := ids.CreateStaffToken(ctx, "cli", "clinic", 0); !apperr.Is(err, "invalid-request") {
			t.Fatalf("clinic token without site: err = %v", err)
		}
		if _, _, err := ids.CreateStaffToken(ctx, "cli", "clinic", 999); !apperr.Is(err, "invalid-request") {
			t.Fatalf("clinic token for a missing site: err = %v", err)
		}
		var n int
		if err := db.Read.QueryRow("SELECT COUNT(*) FROM audit_log WHERE action = 'staff_token.created'").Scan(&n); err != nil || n != 1 {
			t.Fatalf("audit records = %d, %v; want 1", n, err)
		}
	})
}
