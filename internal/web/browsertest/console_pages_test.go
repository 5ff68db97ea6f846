package browsertest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vaxbook/vaxbook/internal/audit"
)

// TestConsolePagesAccessible visits the console pages the other tests do
// not (shadow report, freeze confirmation, sites, slot generation, the
// admin's site picker, support lookup with its proof, audit viewer) and
// scans each; the support agent's lookup shows the decision's reasons.
func TestConsolePagesAccessible(t *testing.T) {
	srv := startServer(t)
	hit := firstSlot(t, srv)
	det := bookDirect(t, srv, "Support", hit.ID)

	b := newTab(t, srv.URL, false)
	b.staffSignIn(staffToken(t, srv, "admin", 0))
	b.open("/staff/rules/shadow?version=phase2-g5")
	b.expect("staff_rules_shadow")
	b.open("/staff/freeze?scope=all&reason=Testing")
	b.expect("staff_confirm")
	b.open("/staff/sites")
	b.expect("staff_sites")
	b.open(fmt.Sprintf("/staff/sites/%d/generate", hit.Site.ID))
	b.expect("staff_generate")
	b.open("/staff/day")
	b.expect("staff_day")

	s := newTab(t, srv.URL, false)
	s.staffSignIn(staffToken(t, srv, "support", 0))
	// The proof needs the decision sealed into a checkpoint.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		_, err := audit.ProveSubject(context.Background(), srv.DB, "decision:"+det.Appointment.DecisionRef, "eligibility.decided")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("decision not sealed: %v", err)
		}
	}
	s.open("/staff/support")
	s.expect("staff_support")
	s.fill(map[string]string{"ref": det.Appointment.DecisionRef})
	s.click("#lookup")
	s.expectFresh("staff_support")
	if got := s.text("#outcome"); got != "Eligible" {
		t.Errorf("outcome %q", got)
	}
	if got := s.text("#reasons"); got == "" {
		t.Errorf("no reasons shown")
	}
	if got := s.text("#proof"); !strings.Contains(got, "leaf") {
		t.Errorf("no proof: %q", got)
	}
	s.open("/staff/audit?action=eligibility.decided")
	s.expect("staff_audit")
	if got := s.text("#audit"); !strings.Contains(got, "decision:"+det.Appointment.DecisionRef) {
		t.Errorf("audit viewer lacks the decision record")
	}
}

// expectFresh is expect for a click that leads to a page of the same
// name: it first waits for the new document.
func (b *tab) expectFresh(name string) {
	b.t.Helper()
	b.run(chromedp.WaitVisible(chromedp.CSS(`html:not([data-stale]) main[data-page="` + name + `"]`)))
	b.expect(name)
}
