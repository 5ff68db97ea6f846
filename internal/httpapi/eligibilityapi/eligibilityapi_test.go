package eligibilityapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/eligibility"
	"github.com/vaxbook/vaxbook/internal/httpapi"
	"github.com/vaxbook/vaxbook/internal/httpapi/eligibilityapi"
	"github.com/vaxbook/vaxbook/internal/identity"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
	"github.com/vaxbook/vaxbook/rules"
)

type fixture struct {
	t      *testing.T
	db     *store.DB
	srv    *httpapi.Server
	ids    *identity.Store
	tokens map[string]string // role or person name -> bearer token
}

func setup(t *testing.T, db *store.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2021, 2, 19, 20, 0, 0, 0, time.UTC)) // phase2-g2
	keys := pii.TestKeys()
	ids := identity.New(db, keys, clk)
	svc, err := eligibility.New(eligibility.Config{DB: db, Keys: keys, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	err = db.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, store.RebindFor(db.Dialect,
			"INSERT INTO regions (code, name, jurisdiction) VALUES (?, ?, ?)"), "MA-E", "Eastern Massachusetts", "MA")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PublishAndActivate(ctx, rules.Massachusetts2021, rules.Massachusetts2021Dir, clk.Now(), "system"); err != nil {
		t.Fatal(err)
	}
	srv, err := httpapi.New(httpapi.Config{DB: db}, &eligibilityapi.Module{Eligibility: svc, Auth: ids, People: ids})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, db: db, srv: srv, ids: ids, tokens: map[string]string{}}
	for _, role := range []string{"admin", "support", "auditor"} {
		tok, _, err := ids.CreateStaffToken(ctx, "system", role, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.tokens[role] = tok
	}
	people := []identity.Attested{
		{GivenName: "Rosa", FamilyName: "Diaz", BirthDate: "1953-03-01", PostalCode: "02114", Email: "rosa@example.org", Lang: "es"},
		{GivenName: "Tom", FamilyName: "Lee", BirthDate: "1990-03-01", PostalCode: "02139", Email: "tom@example.org"},
	}
	for _, a := range people {
		s, err := ids.CreateSession(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		f.tokens[a.GivenName] = s.Token
	}
	return f
}

type response struct {
	status int
	body   map[string]any
	raw    string
	header http.Header
}

func (f *fixture) do(method, path, who, contentType, body string) response {
	f.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if who != "" {
		req.Header.Set("Authorization", "Bearer "+f.tokens[who])
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	raw, _ := io.ReadAll(rec.Body)
	r := response{status: rec.Code, raw: string(raw), header: rec.Header()}
	_ = json.Unmarshal(raw, &r.body)
	if r.status >= 500 {
		f.t.Errorf("%s %s answered %d: %s", method, path, r.status, raw)
	}
	return r
}

func (f *fixture) want(r response, status int, problem string) {
	f.t.Helper()
	if r.status != status {
		f.t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	if problem != "" && !strings.HasSuffix(r.body["type"].(string), "/"+problem) {
		f.t.Fatalf("problem %v, want %s", r.body["type"], problem)
	}
}

func TestEvaluateAndRead(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		r := f.do("POST", "/v1/eligibility:evaluate", "Rosa", "application/json", `{"answers":{"conditions":[],"occupation":"other","residence":"private"}}`)
		f.want(r, 200, "")
		if r.body["eligible"] != true || r.body["rule_version"] != "phase2-g2" {
			t.Fatalf("rosa: %s", r.raw)
		}
		reason := r.body["reasons"].([]any)[0].(map[string]any)
		if reason["code"] != "age-65" || reason["message"] != "Tiene 65 años o más." {
			t.Errorf("reason in the session's language: %v", reason)
		}
		ref := r.body["decision_ref"].(string)

		r = f.do("POST", "/v1/eligibility:evaluate", "Tom", "", `{"answers":{"conditions":["asthma"]},"product":"208","dose":1}`)
		f.want(r, 200, "")
		if r.body["eligible"] != false || r.body["reasons"].([]any)[0].(map[string]any)["message"] != "You are not in a group that is eligible yet." {
			t.Errorf("tom: %s", r.raw)
		}

		f.want(f.do("GET", "/v1/eligibility/decisions/"+ref, "Rosa", "", ""), 200, "")
		f.want(f.do("GET", "/v1/eligibility/decisions/"+ref, "Tom", "", ""), 404, "not-found")
		f.want(f.do("GET", "/v1/eligibility/decisions/"+ref, "auditor", "", ""), 403, "forbidden")
		f.want(f.do("GET", "/v1/eligibility/decisions/"+ref, "", "", ""), 401, "unauthenticated")
		r = f.do("GET", "/v1/eligibility/decisions/"+ref+"?lang=es", "support", "", "")
		f.want(r, 200, "")
		if strings.Contains(r.raw, "1953") || strings.Contains(r.raw, "02114") {
			t.Errorf("support sees raw attributes: %s", r.raw)
		}
		var n int
		_ = db.Read.QueryRow("SELECT count(*) FROM audit_log WHERE action = 'eligibility.decision_read'").Scan(&n)
		if n != 1 {
			t.Errorf("support reads audited: %d", n)
		}

		for _, bad := range []string{``, `{`, `[]`, `{"answers":{"conditions":"asthma"}}`, `{"answers":{},"x":1}`,
			`{"answers":{"conditions":["hangnail"]}}`, `{"answers":{},"product":"999","dose":1}`,
			`{"answers":{},"dose":3}`, `{"answers":{"ties":["vacation"]}}`, `{"answers":{"occupation":"` + strings.Repeat("x", 100) + `"}}`,
			`{"answers":{},"jurisdiction":"ZZ"}`} {
			r := f.do("POST", "/v1/eligibility:evaluate", "Tom", "application/json", bad)
			if r.status != 400 && r.status != 403 {
				t.Errorf("body %q answered %d: %s", bad, r.status, r.raw)
			}
		}
		f.want(f.do("POST", "/v1/eligibility:evaluate", "", "", `{"answers":{}}`), 401, "unauthenticated")
	})
}

const over70 = `id: ma-70-only
jurisdiction: MA
time_zone: America/New_York
effective_at: "2021-02-20T00:00:00-05:00"
description: only people aged 70 or older
reasons:
  not-in-eligible-group: {en: "Not yet.", es: "Todavía no."}
  age-70: {en: "You are 70 or older.", es: "Tiene 70 años o más."}
rules:
  - {name: age-70, kind: admit, reason: age-70, expr: "age >= 70"}
`

func TestAdministration(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		f.want(f.do("POST", "/v1/eligibility:evaluate", "Rosa", "", `{"answers":{}}`), 200, "")

		bad := strings.Replace(over70, `"age >= 70"`, `"age >= "`, 1)
		bad = strings.Replace(bad, "reason: age-70,", "reason: age-71,", 1)
		r := f.do("POST", "/v1/admin/rule-versions", "admin", "application/yaml", bad)
		f.want(r, 400, "invalid-request")
		if !strings.Contains(r.raw, `"rule":"age-70"`) || !strings.Contains(r.raw, "does not compile") || !strings.Contains(r.raw, "age-71") {
			t.Errorf("400 does not list each problem by rule: %s", r.raw)
		}
		costly := strings.Replace(over70, `"age >= 70"`, `"conditions.all(a, conditions.all(b, conditions.all(c, a + b + c != 'x')))"`, 1)
		r = f.do("POST", "/v1/admin/rule-versions", "admin", "application/yaml", costly)
		f.want(r, 400, "invalid-request")
		if !strings.Contains(r.raw, "over the limit") {
			t.Errorf("over-cost: %s", r.raw)
		}
		f.want(f.do("POST", "/v1/admin/rule-versions", "admin", "application/yaml", "::: not yaml"), 400, "invalid-request")
		f.want(f.do("POST", "/v1/admin/rule-versions", "admin", "image/png", over70), 415, "")
		f.want(f.do("POST", "/v1/admin/rule-versions", "support", "application/yaml", over70), 403, "forbidden")

		r = f.do("POST", "/v1/admin/rule-versions", "admin", "application/yaml", over70)
		f.want(r, 201, "")
		if r.body["version"] != "ma-70-only" || r.body["status"] != "draft" {
			t.Errorf("publish: %s", r.raw)
		}
		f.want(f.do("POST", "/v1/admin/rule-versions", "admin", "application/yaml", over70), 409, "conflict")

		r = f.do("POST", "/v1/admin/rule-versions/ma-70-only:shadow", "admin", "", "")
		f.want(r, 200, "")
		if r.body["total"] != 1.0 || r.body["newly_ineligible"] != 1.0 {
			t.Errorf("shadow: %s", r.raw)
		}
		f.want(f.do("POST", "/v1/admin/rule-versions/nope:shadow", "admin", "", ""), 404, "not-found")
		f.want(f.do("POST", "/v1/admin/rule-versions/ma-70-only:explode", "admin", "", ""), 404, "not-found")
		f.want(f.do("POST", "/v1/admin/rule-versions/ma-70-only", "admin", "", ""), 404, "not-found")

		r = f.do("POST", "/v1/admin/rule-versions/ma-70-only:activate", "admin", "", "")
		f.want(r, 200, "")
		if r.body["from"] != "phase2-g2" || r.body["to"] != "ma-70-only" {
			t.Errorf("activate: %s", r.raw)
		}
		r = f.do("GET", "/v1/admin/rule-versions", "admin", "", "")
		f.want(r, 200, "")
		if !strings.Contains(r.raw, `"version":"ma-70-only"`) || len(r.body["moves"].([]any)) != 2 {
			t.Errorf("list: %s", r.raw)
		}
		r = f.do("POST", "/v1/admin/rule-versions:rollback", "admin", "", "")
		f.want(r, 200, "")
		if r.body["to"] != "phase2-g2" || r.body["kind"] != "rollback" {
			t.Errorf("rollback: %s", r.raw)
		}
		f.want(f.do("POST", "/v1/admin/rule-versions:rollback", "admin", "", `{"jurisdiction":"MA"}`), 409, "conflict")
		f.want(f.do("POST", "/v1/admin/rule-versions:rollback", "admin", "", `{"jurisdiction":1}`), 400, "invalid-request")

		f.want(f.do("POST", "/v1/admin/freeze", "admin", "", `{"scope":"all","reason":"overload","expected_minutes":15}`), 201, "")
		f.want(f.do("POST", "/v1/admin/freeze", "admin", "", `{"scope":"MA-E"}`), 400, "invalid-request")
		f.want(f.do("POST", "/v1/admin/freeze", "admin", "", `{"scope":"Mars","reason":"x"}`), 400, "invalid-request")
		f.want(f.do("POST", "/v1/admin/freeze", "admin", "", `{"reason":"x"}`), 400, "invalid-request")
		f.want(f.do("POST", "/v1/admin/freeze", "support", "", `{"scope":"all","reason":"x"}`), 403, "forbidden")
		r = f.do("GET", "/v1/admin/freeze", "admin", "", "")
		if !strings.Contains(r.raw, `"scope":"all"`) {
			t.Errorf("freezes: %s", r.raw)
		}
		f.want(f.do("DELETE", "/v1/admin/freeze/all", "admin", "", ""), 200, "")
		f.want(f.do("DELETE", "/v1/admin/freeze/all", "admin", "", ""), 404, "not-found")
	})
}

func TestEveryRouteIsDocumented(t *testing.T) {
	t.Parallel()
	f := setup(t, storetest.Open(t, store.SQLite))
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(f.srv.OpenAPIDocument(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, route := range f.srv.Routes() {
		method, path, _ := strings.Cut(route, " ")
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("%s is not in the OpenAPI document", route)
		}
	}
}
