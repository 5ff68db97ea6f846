package notifyapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/httpapi"
	"github.com/vaxbook/vaxbook/internal/httpapi/notifyapi"
	"github.com/vaxbook/vaxbook/internal/identity"
	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
)

// content answers every read with the same slot and person, so an offer
// job gets as far as its send.
type content struct{}

func (content) Visit(context.Context, string) (notify.Visit, error) { return visit, nil }
func (content) SlotVisit(context.Context, int64) (notify.Visit, error) {
	return visit, nil
}
func (content) Recipient(context.Context, int64) (notify.Recipient, error) {
	return notify.Recipient{Ref: "p1", GivenName: "Olga", Email: "olga@example.org", Lang: "en"}, nil
}

var visit = notify.Visit{Status: "booked", Start: time.Now().Add(48 * time.Hour),
	End: time.Now().Add(49 * time.Hour), SiteName: "Clinic", TimeZone: "America/New_York", VaccineName: "X"}

// refusing is a sender whose server always refuses.
type refusing struct{}

func (refusing) Send(context.Context, *notify.Message) error {
	return errors.New("smtp rcpt: reply 550")
}

func TestFailedMessagesForAdminsOnly(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := notify.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		ids := identity.New(db, pii.TestKeys(), clock.System{})
		o, err := notify.New(db, notify.Options{Config: notify.Config{MaxAttempts: 1},
			Source: content{}, Sender: refusing{}})
		if err != nil {
			t.Fatal(err)
		}
		runCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		if err := o.Start(runCtx); err != nil {
			t.Fatal(err)
		}
		defer o.Stop(ctx)
		err = db.InTx(ctx, func(tx *store.Tx) error {
			return o.EnqueueOffer(ctx, tx, "offer-1", 1, 1, time.Now().Add(time.Hour))
		})
		if err != nil {
			t.Fatal(err)
		}
		srv, err := httpapi.New(httpapi.Config{DB: db}, &notifyapi.Module{Outbox: o, Auth: ids})
		if err != nil {
			t.Fatal(err)
		}
		admin, _, err := ids.CreateStaffToken(ctx, "test", "admin", 0)
		if err != nil {
			t.Fatal(err)
		}
		support, _, err := ids.CreateStaffToken(ctx, "test", "support", 0)
		if err != nil {
			t.Fatal(err)
		}

		var body struct{ Failed []notify.Failed }
		deadline := time.Now().Add(30 * time.Second)
		for len(body.Failed) == 0 {
			if time.Now().After(deadline) {
				t.Fatal("no failed message listed after 30s")
			}
			time.Sleep(50 * time.Millisecond)
			rec := get(srv, "/v1/admin/outbox/failed?limit=10", admin)
			if rec.Code != http.StatusOK {
				t.Fatalf("admin: %d %s", rec.Code, rec.Body)
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
		}
		f := body.Failed[0]
		if f.Type != notify.TypeOffer || f.OfferID != "offer-1" || f.Attempts != 1 || f.LastError != "smtp rcpt: reply 550" {
			t.Fatalf("failed message = %+v", f)
		}
		if rec := get(srv, "/v1/admin/outbox/failed", support); rec.Code != http.StatusForbidden {
			t.Fatalf("support: %d, want 403", rec.Code)
		}
		if rec := get(srv, "/v1/admin/outbox/failed", ""); rec.Code != http.StatusUnauthorized {
			t.Fatalf("anonymous: %d, want 401", rec.Code)
		}
		if rec := get(srv, "/v1/admin/outbox/failed?limit=0", admin); rec.Code != http.StatusBadRequest {
			t.Fatalf("limit=0: %d, want 400", rec.Code)
		}
		documented(t, srv)
	})
}

func get(h http.Handler, path, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// documented checks that every registered route is in the OpenAPI document.
func documented(t *testing.T, srv *httpapi.Server) {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(srv.OpenAPIDocument(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, route := range srv.Routes() {
		method, path, _ := strings.Cut(route, " ")
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("route %q is not documented", route)
		}
	}
}
