package loadtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/app"
	"github.com/vaxbook/vaxbook/internal/app/apptest"
	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/check"
	"github.com/vaxbook/vaxbook/internal/httpx"
	"github.com/vaxbook/vaxbook/internal/loadtest"
)

// TestOpeningDaySmallRun is opening day in miniature: 2,000 people on the
// embedded SQLite with the waiting room on, then `check` on the database
// the run left behind. It proves the driver and the service together: the
// funnel adds up, people were admitted, booked, turned away for the right
// reasons, and not one invariant broke.
func TestOpeningDaySmallRun(t *testing.T) {
	t.Parallel()
	key, _, err := audit.GenerateKey("loadtest.test/audit")
	if err != nil {
		t.Fatal(err)
	}
	// The driver stands in for a proxy in front of 2,000 people: the
	// service trusts it for X-Forwarded-For, so the per-address rate limits
	// stay on and see one address per person.
	svc := apptest.Start(t, apptest.Options{Configure: func(c *app.Config) {
		c.AuditKey = &key
		c.Waitroom.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	}})
	ctx := context.Background()
	openRoom(t, svc, 150)

	var responses bytes.Buffer
	cfg := loadtest.Defaults(svc.URL, 2000)
	cfg.Arrivals, cfg.MaxRun, cfg.Concurrency = 8*time.Second, 45*time.Second, 32
	cfg.Responses, cfg.ForwardedFor = &responses, true
	rep, err := loadtest.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	rep.WriteTable(&table)
	t.Logf("\n%s", table.String())
	assertFunnel(t, rep)

	sealAll(t, svc)
	got, err := check.ReadResponses(&responses)
	if err != nil {
		t.Fatal(err)
	}
	res, err := check.Run(ctx, check.Config{DB: svc.DB, Responses: got,
		ConfirmationKind: check.DefaultConfirmationKind, AuditPublicKey: key.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	assertClean(t, rep, res)
}

// assertClean requires check to find nothing at all, and every booked
// person to hold exactly one answered appointment. (The first runs found
// commits nobody was told of: a retry whose first attempt had spent the
// admission token was refused instead of replayed. Booking now replays a
// stored response before it checks admission.)
func assertClean(t *testing.T, rep *loadtest.Report, res *check.Report) {
	t.Helper()
	if len(res.Skipped) > 0 {
		t.Fatalf("check skipped %v", res.Skipped)
	}
	if len(res.Violations) > 0 {
		t.Fatalf("check after the run:\n%s", res.Summary())
	}
	if int64(res.InWindow) != rep.Funnel[loadtest.StageBooked] || res.Responses != int(rep.Funnel[loadtest.StageBooked]) {
		t.Fatalf("%d appointments, %d answered, %d booked people", res.InWindow, res.Responses, rep.Funnel[loadtest.StageBooked])
	}
}

// openRoom turns the waiting room on, opened a second ago, admitting rate
// people a second.
func openRoom(t *testing.T, svc *apptest.Service, rate float64) {
	t.Helper()
	token, _, err := svc.Identity.CreateStaffToken(context.Background(), audit.System, httpx.RoleAdmin, 0)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"opens_at": time.Now().Add(-time.Second).Format(time.RFC3339Nano),
		"mode": "fifo", "admission_rate_per_s": rate, "token_ttl_s": 600})
	req, _ := http.NewRequest("PUT", svc.URL+"/v1/admin/waiting-room", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("configure waiting room: %s", resp.Status)
	}
}

func sealAll(t *testing.T, svc *apptest.Service) {
	t.Helper()
	for i := 0; i < 100; i++ {
		r, err := svc.Sealer.SealOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if r.Sealed == 0 && r.Lag == 0 {
			return
		}
	}
	t.Fatal("audit sealer did not catch up")
}

func assertFunnel(t *testing.T, rep *loadtest.Report) {
	t.Helper()
	f := rep.Funnel
	if f[loadtest.StageArrived] != 2000 || rep.OutcomeTotal() != f[loadtest.StageArrived] {
		t.Fatalf("arrived %d, outcomes add up to %d", f[loadtest.StageArrived], rep.OutcomeTotal())
	}
	// Each stage is reached only from the one before it.
	order := []string{loadtest.StageArrived, loadtest.StageJoined, loadtest.StageAdmitted,
		loadtest.StageSignedIn, loadtest.StageEvaluated, loadtest.StageEligible, loadtest.StageSearched}
	for i := 1; i < len(order); i++ {
		if f[order[i]] > f[order[i-1]] {
			t.Fatalf("%s %d exceeds %s %d", order[i], f[order[i]], order[i-1], f[order[i-1]])
		}
	}
	if f[loadtest.StageJoined] != f[loadtest.StageArrived] || f[loadtest.StageBooked] == 0 ||
		f[loadtest.StageBooked] != rep.Outcomes[loadtest.OutBooked] {
		t.Fatalf("joined %d of %d, booked %d (outcome %d)", f[loadtest.StageJoined], f[loadtest.StageArrived],
			f[loadtest.StageBooked], rep.Outcomes[loadtest.OutBooked])
	}
	// About a fifth are too young, and every one of them is told so.
	if n := rep.Outcomes[loadtest.OutIneligible]; n < 300 || n > 500 {
		t.Fatalf("ineligible %d, want about 400", n)
	}
	for outcome, n := range rep.Outcomes {
		if strings.HasPrefix(outcome, "failed_") && (strings.Contains(outcome, "internal") ||
			strings.Contains(outcome, "unresolved") || strings.Contains(outcome, "http-5")) {
			t.Errorf("%d people ended with %s", n, outcome)
		}
	}
	if rep.Admission.Admitted == 0 || rep.Admission.ConfiguredPerS != 150 {
		t.Fatalf("admission %+v", rep.Admission)
	}
}
