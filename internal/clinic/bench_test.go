package clinic_test

import (
	"fmt"
	"testing"

	"github.com/vaxbook/vaxbook/internal/clinic"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
)

// seedAppointments writes n people and one appointment each, spread over
// slots, straight into the tables (a benchmark needs volume, not the path).
func (e *env) seedAppointments(b *testing.B, slots []int64, n int) {
	b.Helper()
	statuses := []string{"booked", "completed", "no_show", "cancelled"}
	err := e.db.InTx(e.ctx, func(tx *store.Tx) error {
		for i := 0; i < n; i++ {
			var id int64
			if err := tx.QueryRowContext(e.ctx, store.RebindFor(e.db.Dialect,
				"INSERT INTO people (ref, lookup_hash, contact_hash, sealed, created_us) VALUES (?, ?, ?, ?, 0) RETURNING id"),
				fmt.Sprintf("PB%06d", i), []byte(fmt.Sprintf("h%d", i)), []byte("c"), []byte("s")).Scan(&id); err != nil {
				return err
			}
			if _, err := tx.ExecContext(e.ctx, store.RebindFor(e.db.Dialect,
				"INSERT INTO appointments (id, reference, person_id, slot_id, vaccine_code, dose, pool, status, created_us, updated_us) "+
					"VALUES (?, ?, ?, ?, '207', 1, 'online', ?, 0, 0)"),
				fmt.Sprintf("a_b%d", i), fmt.Sprintf("R%d", i), id, slots[i%len(slots)], statuses[i%len(statuses)]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkReport groups 20,000 appointments over 30 days of slots.
func BenchmarkReport(b *testing.B) {
	for _, engine := range []store.Dialect{store.SQLite, store.Postgres} {
		b.Run(string(engine), func(b *testing.B) {
			db := storetest.Open(b, engine)
			e := setup(b, db, false)
			var slots []int64
			for day := 1; day <= 30; day++ {
				slots = append(slots, e.slot(b, e.site.ID, day, "09:00", 1000, 0, "207", 1))
			}
			e.seedAppointments(b, slots, 20000)
			req := clinic.ReportRequest{GroupBy: []string{"region", "day", "vaccine", "dose"}, From: start, To: start.AddDate(0, 0, 31)}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r, err := e.svc.Report(e.ctx, req)
				if err != nil || len(r.Rows) != 30 {
					b.Fatalf("%d rows, %v", len(r.Rows), err)
				}
			}
		})
	}
}

// BenchmarkPromote offers a freed seat with 500 people waiting, then ends
// the offer (the person leaves), so every run finds the seat free again.
func BenchmarkPromote(b *testing.B) {
	for _, engine := range []store.Dialect{store.SQLite, store.Postgres} {
		b.Run(string(engine), func(b *testing.B) {
			db := storetest.Open(b, engine)
			e := setup(b, db, false)
			slotID := e.slot(b, e.site.ID, 2, "09:00", 1, 0, "207", 1)
			var people []person
			for len(people) < 500+b.N {
				p := e.person(b)
				e.join(b, p, start.AddDate(0, 0, 30))
				people = append(people, p)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				n, err := e.svc.PromoteSlot(e.ctx, slotID)
				if err != nil || n != 1 {
					b.Fatalf("promote: %d, %v", n, err)
				}
				b.StopTimer()
				entries, _, _ := e.svc.Waitlist(e.ctx, people[i].PersonID)
				if err := e.svc.Leave(e.ctx, people[i].PersonID, "p", entries[0].ID); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}
