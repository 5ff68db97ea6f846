package auditapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/httpapi"
	"github.com/vaxbook/vaxbook/internal/httpapi/auditapi"
	"github.com/vaxbook/vaxbook/internal/identity"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
)

type fixture struct {
	db      *store.DB
	srv     *httpapi.Server
	key     audit.Key
	sealer  *audit.Sealer
	tokens  map[string]string
	clk     *clock.Fake
	subject string
}

func setup(t *testing.T, db *store.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 5, 2, 8, 0, 0, 0, time.UTC))
	ids := identity.New(db, pii.TestKeys(), clk)
	key, _, err := audit.GenerateKey("test.vaxbook/audit")
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := audit.NewSealer(db, key, audit.Config{}, nil, clk)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := httpapi.New(httpapi.Config{DB: db},
		&auditapi.Module{DB: db, Auth: ids, PublicKey: key.PublicKey(), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: db, srv: srv, key: key, sealer: sealer, tokens: map[string]string{}, clk: clk,
		subject: "appointment:AP7"}
	for _, role := range []string{"auditor", "support", "admin"} {
		tok, _, err := ids.CreateStaffToken(ctx, audit.System, role, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.tokens[role] = tok
	}
	for i := 0; i < 12; i++ {
		clk.Advance(time.Minute)
		subject := fmt.Sprintf("appointment:AP%d", i)
		err := db.InTx(ctx, func(tx *store.Tx) error {
			return audit.Append(ctx, tx, audit.Record{At: clk.Now(), Actor: "person:P1", Action: "appointment.booked",
				Subjects: []string{subject, "slot:3"}, RuleVersion: "v2", Reasons: []string{"age-65-plus"}})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sealer.SealOnce(ctx); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) get(t *testing.T, role, path string, dst any) int {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+f.tokens[role])
	}
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	if dst != nil && rec.Code == http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), dst); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	return rec.Code
}

func TestRolesAndSearch(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		if code := f.get(t, "", "/v1/admin/audit", nil); code != http.StatusUnauthorized {
			t.Errorf("no token: %d", code)
		}
		if code := f.get(t, "admin", "/v1/admin/audit", nil); code != http.StatusForbidden {
			t.Errorf("admin: %d, want 403", code)
		}
		var page audit.Page
		if code := f.get(t, "support", "/v1/admin/audit?subject=appointment:AP7", &page); code != http.StatusOK {
			t.Fatalf("support search: %d", code)
		}
		if len(page.Records) != 1 || page.Records[0].Subjects[0] != "appointment:AP7" {
			t.Fatalf("subject search = %+v", page.Records)
		}
		// Paging: 12 bookings in pages of 5, newest first, no repeats.
		seen := map[int64]bool{}
		cursor := ""
		for pages := 0; ; pages++ {
			var p audit.Page
			path := "/v1/admin/audit?action=appointment.booked&limit=5" + cursor
			if code := f.get(t, "auditor", path, &p); code != http.StatusOK {
				t.Fatalf("%s: %d", path, code)
			}
			for _, r := range p.Records {
				if seen[r.Seq] || r.Action != "appointment.booked" {
					t.Fatalf("page %d: record %+v repeated or of another action", pages, r)
				}
				seen[r.Seq] = true
			}
			if p.Next == 0 {
				break
			}
			cursor = "&cursor=" + strconv.FormatInt(p.Next, 10)
		}
		if len(seen) != 12 {
			t.Fatalf("paged through %d bookings, want 12", len(seen))
		}
		from := "2026-05-02T08:03:00Z"
		to := "2026-05-02T08:05:00Z"
		var window audit.Page
		f.get(t, "auditor", "/v1/admin/audit?from="+from+"&to="+to, &window)
		if len(window.Records) != 2 {
			t.Fatalf("time window returned %d records, want 2", len(window.Records))
		}
		for _, bad := range []string{"from=yesterday", "subject=Zebulon%20Quillfeather", "subject=person:Zeb%20Q",
			"action=Booked!", "limit=0", "cursor=-3"} {
			if code := f.get(t, "auditor", "/v1/admin/audit?"+bad, nil); code != http.StatusBadRequest {
				t.Errorf("%s: %d, want 400", bad, code)
			}
		}
		// The searches above are on the log too.
		var searched audit.Page
		f.get(t, "auditor", "/v1/admin/audit?action=audit.searched&limit=500", &searched)
		if len(searched.Records) < 4 || !strings.HasPrefix(searched.Records[0].Actor, "staff:") {
			t.Fatalf("searches recorded: %+v", searched.Records)
		}
	})
}

// The proof endpoint's answer is enough for a citizen: the leaf, the
// path and the signed checkpoint, checked here with the Merkle library and
// the note package only.
func TestProofOverHTTPVerifies(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		var first struct {
			TreeSize uint64 `json:"tree_size"`
			Note     string `json:"note"`
		}
		if code := f.get(t, "auditor", "/v1/admin/audit/checkpoint", &first); code != http.StatusOK || first.TreeSize < 12 {
			t.Fatalf("checkpoint: %d %+v", code, first)
		}
		var page audit.Page
		f.get(t, "support", "/v1/admin/audit?subject="+f.subject, &page)
		seq := page.Records[0].Seq
		var p struct {
			LeafIndex  uint64   `json:"leaf_index"`
			Leaf       []byte   `json:"leaf"`
			Hashes     [][]byte `json:"hashes"`
			PublicKey  string   `json:"public_key"`
			Checkpoint struct {
				Note string `json:"note"`
			} `json:"checkpoint"`
		}
		f.clk.Advance(time.Second)
		if _, err := f.sealer.SealOnce(context.Background()); err != nil { // seals the search records
			t.Fatal(err)
		}
		if code := f.get(t, "support", "/v1/admin/audit/proof/"+strconv.FormatInt(seq, 10), &p); code != http.StatusOK {
			t.Fatalf("proof: %d", code)
		}
		v, err := note.NewVerifier(p.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		n, err := note.Open([]byte(p.Checkpoint.Note), note.VerifierList(v))
		if err != nil {
			t.Fatalf("checkpoint signature: %v", err)
		}
		lines := strings.Split(n.Text, "\n")
		size, _ := strconv.ParseUint(lines[1], 10, 64)
		root, _ := base64.StdEncoding.DecodeString(lines[2])
		if !strings.Contains(string(p.Leaf), f.subject) {
			t.Fatal("the leaf does not carry the record's subject")
		}
		leafHash := sha256.Sum256(append([]byte{0}, p.Leaf...))
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, p.LeafIndex, size, leafHash[:], p.Hashes, root); err != nil {
			t.Fatalf("inclusion: %v", err)
		}

		var c struct {
			Hashes [][]byte `json:"hashes"`
		}
		path := fmt.Sprintf("/v1/admin/audit/consistency?from=%d&to=%d", first.TreeSize, size)
		if code := f.get(t, "auditor", path, &c); code != http.StatusOK {
			t.Fatalf("consistency: %d", code)
		}
		n1, err := note.Open([]byte(first.Note), note.VerifierList(v))
		if err != nil {
			t.Fatal(err)
		}
		root1, _ := base64.StdEncoding.DecodeString(strings.Split(n1.Text, "\n")[2])
		if err := proof.VerifyConsistency(rfc6962.DefaultHasher, first.TreeSize, size, c.Hashes, root1, root); err != nil {
			t.Fatalf("consistency: %v", err)
		}
		if code := f.get(t, "auditor", "/v1/admin/audit/proof/999999", nil); code != http.StatusNotFound {
			t.Fatalf("unknown seq: %d", code)
		}
		if code := f.get(t, "auditor", "/v1/admin/audit/consistency?from=3&to=12", nil); code != http.StatusNotFound {
			t.Fatalf("size 3 is no checkpoint: %d", code)
		}
	})
}

func TestEveryRouteDocumented(t *testing.T) {
	t.Parallel()
	m := &auditapi.Module{}
	srv, err := httpapi.New(httpapi.Config{}, m)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(srv.OpenAPIDocument(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, route := range srv.Routes() {
		method, path, _ := strings.Cut(route, " ")
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("%s is not in the OpenAPI document", route)
		}
	}
}
