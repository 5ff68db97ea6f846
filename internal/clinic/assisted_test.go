package clinic_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/clinic"
	"github.com/vaxbook/vaxbook/internal/identity"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
)

var grandma = identity.Attested{GivenName: "Edith", FamilyName: "Proxyworth", BirthDate: "1938-04-02",
	PostalCode: "02114", Phone: "+16175550100"}

func TestProxyAndAgentBookThroughTheSameRules(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db, false)
		slotID := e.slot(t, e.site.ID, 2, "09:00", 5, 2, "207", 1)
		proxy := e.person(t)
		e.mustBook(t, proxy, slotID)

		r, err := e.svc.BookFor(e.ctx, clinic.AssistedRequest{Actor: "person:" + proxy.PersonRef, Person: grandma, SlotID: slotID})
		if err != nil {
			t.Fatalf("proxy booking: %v", err)
		}
		a := r.Detail.Appointment
		if r.PersonRef == proxy.PersonRef || a.PersonID == proxy.PersonID || a.BookedBy != "person:"+proxy.PersonRef {
			t.Fatalf("proxy booking is for %s, booked by %s", r.PersonRef, a.BookedBy)
		}
		list, err := e.svc.ProxyBookings(e.ctx, proxy.PersonID)
		if err != nil || len(list) != 1 || list[0].Appointment.ID != a.ID {
			t.Fatalf("proxy bookings: %d, %v", len(list), err)
		}
		if own, _ := e.book.AppointmentsOf(e.ctx, proxy.PersonID); len(own) != 1 || own[0].Appointment.Reference == a.Reference {
			t.Fatal("the proxy's own appointment and the relative's must be separate, with their own references")
		}
		// The relative's own one-per-dose rule applies.
		if _, err := e.svc.BookFor(e.ctx, clinic.AssistedRequest{Actor: "person:" + proxy.PersonRef, Person: grandma, SlotID: slotID}); !apperr.Is(err, "already-booked") {
			t.Fatalf("second booking for the relative: %v", err)
		}
		if n := e.count(t, "SELECT COUNT(*) FROM audit_log WHERE action = 'appointment.booked' AND actor = ?", "person:"+proxy.PersonRef); n != 2 {
			t.Fatalf("%d bookings audited as the proxy's", n)
		}

		// A phone agent books for a caller through the same rules.
		caller := grandma
		caller.GivenName, caller.Phone = "Walter", "+16175550101"
		r, err = e.svc.BookFor(e.ctx, clinic.AssistedRequest{Actor: "staff:agent-1", Person: caller, SlotID: slotID})
		if err != nil || r.Detail.Appointment.BookedBy != "staff:agent-1" || r.Decision.Ref == "" {
			t.Fatalf("agent booking: %v", err)
		}
		child := caller
		child.GivenName, child.BirthDate = "Timmy", "2019-05-05"
		r, err = e.svc.BookFor(e.ctx, clinic.AssistedRequest{Actor: "staff:agent-1", Person: child, SlotID: slotID})
		if !apperr.Is(err, "ineligible") || r.Decision.Eligible || len(r.Reasons) == 0 {
			t.Fatalf("booking for a child: %v %+v", err, r.Reasons)
		}

		// Clinic staff book a walk-in from the walk-in pool of their site.
		walk := caller
		walk.GivenName = "Wanda"
		other := e.newSite(t, false)
		if _, err := e.svc.BookFor(e.ctx, clinic.AssistedRequest{Actor: "staff:c", Person: walk, SlotID: slotID,
			Pool: booking.PoolWalkIn, SiteID: other.ID}); !apperr.Is(err, "forbidden") {
			t.Fatalf("walk-in at another site: %v", err)
		}
		r, err = e.svc.BookFor(e.ctx, clinic.AssistedRequest{Actor: "staff:c", Person: walk, SlotID: slotID,
			Pool: booking.PoolWalkIn, SiteID: e.site.ID})
		if err != nil || r.Detail.Appointment.Pool != booking.PoolWalkIn {
			t.Fatalf("walk-in: %v", err)
		}
		if s := e.slotRow(t, slotID); s.WalkInRemaining != 1 || s.Remaining != 2 {
			t.Fatalf("after the walk-in: %+v", s)
		}
		e.clk.Advance(72 * time.Hour)
		if r, err := e.svc.Sweep(e.ctx); err != nil || r.NoShows != 4 {
			t.Fatalf("sweep: %+v %v", r, err)
		}
		e.noPersonalData(t, "Edith", "Walter", "Wanda", "Timmy", "Proxyworth", "Clinicson", "1938-04-02", "+1617555", "02114")
	})
}

func TestReportSuppressesSmallCells(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db, false)
		big := e.slot(t, e.site.ID, 2, "09:00", 20, 0, "207", 1)
		small := e.slot(t, e.site.ID, 3, "09:00", 20, 0, "207", 1)
		var refs []string
		var bigAppointments []booking.Appointment
		for i := 0; i < 12; i++ {
			p := e.person(t)
			refs = append(refs, p.PersonRef)
			bigAppointments = append(bigAppointments, e.mustBook(t, p, big))
		}
		for i := 0; i < 3; i++ {
			e.mustBook(t, e.person(t), small)
		}
		for _, a := range bigAppointments[:2] {
			if _, err := e.book.Cancel(e.ctx, booking.ChangeRequest{AppointmentID: a.ID, Actor: "x"}); err != nil {
				t.Fatal(err)
			}
		}
		from, to := start, start.AddDate(0, 0, 5)
		fine, err := e.svc.Report(e.ctx, clinic.ReportRequest{GroupBy: []string{"region", "day", "vaccine", "dose"}, From: from, To: to})
		if err != nil || len(fine.Rows) != 2 {
			t.Fatalf("fine report: %d rows, %v", len(fine.Rows), err)
		}
		b, s := fine.Rows[0], fine.Rows[1]
		if b.Day != "2026-06-03" || *b.Bookings.Value != 12 || *b.Completions.Value != 0 || b.Cancellations.Value != nil ||
			b.Cancellations.SuppressedCells != 1 {
			t.Fatalf("big cell: %+v", b)
		}
		if s.Day != "2026-06-04" || s.Bookings.Value != nil || s.Bookings.SuppressedCells != 1 {
			t.Fatalf("small cell: %+v", s)
		}
		// A coarser grouping adds up only the published cells: the small
		// cell cannot be recovered as "region total minus big cell".
		coarse, err := e.svc.Report(e.ctx, clinic.ReportRequest{GroupBy: []string{"region"}, From: from, To: to})
		if err != nil || len(coarse.Rows) != 1 {
			t.Fatalf("coarse report: %v", err)
		}
		c := coarse.Rows[0]
		if c.Region != "MA" || *c.Bookings.Value != 12 || c.Bookings.SuppressedCells != 1 ||
			*c.Cancellations.Value != 0 || c.Cancellations.SuppressedCells != 1 {
			t.Fatalf("coarse row: %+v", c)
		}
		body, _ := json.Marshal([]any{fine, coarse})
		for _, secret := range append(refs, "Clinicson", "1950-01-01", "02114") {
			if bytes.Contains(body, []byte(secret)) {
				t.Fatalf("the report holds personal data %q", secret)
			}
		}
		if _, err := e.svc.Report(e.ctx, clinic.ReportRequest{GroupBy: []string{"person"}, From: from, To: to}); !apperr.Is(err, "invalid-request") {
			t.Fatalf("group by person: %v", err)
		}
		if !strings.Contains(string(body), `"suppress_below":11`) {
			t.Fatal("the threshold is not shown")
		}
	})
}
