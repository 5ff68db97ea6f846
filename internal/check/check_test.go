package check_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/check"
	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
)

const jobKind = check.DefaultConfirmationKind

// fixture is a small booked database that satisfies every invariant until a
// test breaks one directly in SQL.
type fixture struct {
	t         *testing.T
	db        *store.DB
	key       audit.Key
	sealer    *audit.Sealer
	now       time.Time
	responses *check.Responses
	people    int64
}

func setup(t *testing.T, db *store.DB) *fixture {
	t.Helper()
	migrateRiver(t, db)
	f := &fixture{t: t, db: db, now: time.Date(2027, 2, 18, 8, 0, 0, 0, time.UTC)}
	var err error
	if f.key, _, err = audit.GenerateKey("check.test/audit"); err != nil {
		t.Fatal(err)
	}
	if f.sealer, err = audit.NewSealer(db, f.key, audit.Config{}, nil, clock.NewFake(f.now)); err != nil {
		t.Fatal(err)
	}
	f.responses = &check.Responses{Since: f.now.Add(-time.Hour), Until: f.now.Add(time.Hour)}
	f.exec("INSERT INTO regions (code, name, jurisdiction) VALUES ('MA', 'Massachusetts', 'US-MA')")
	f.exec(`INSERT INTO sites (id, region, name, lat, lng, time_zone, external_id)
		VALUES (1, 'MA', 'Clinic', 42.36, -71.06, 'America/New_York', 'site-1')`)
	for id, capacity := range map[int64]int{10: 5, 11: 1, 12: 3} {
		start := f.now.Add(24 * time.Hour).UnixMicro()
		f.exec(`INSERT INTO slots (id, site_id, vaccine_code, dose, start_us, end_us, capacity, remaining,
			walkin_capacity, walkin_remaining, external_key) VALUES (?, 1, '207', 1, ?, ?, ?, ?, 2, 2, ?)`,
			id, start, start+600e6, capacity, capacity, fmt.Sprint("slot-", id))
	}
	f.book("a1", 10, f.person(), true, true, true)
	f.book("a2", 10, f.person(), true, true, true)
	f.book("a3", 11, f.person(), true, true, true)
	f.hold("h1", 10, f.now.Add(5*time.Minute))
	// An expired hold that no sweep has released still holds its seat.
	f.hold("h2", 12, f.now.Add(-time.Minute))
	// A cancelled appointment outside the run gave its seat back.
	f.exec(`INSERT INTO appointments (id, reference, person_id, slot_id, vaccine_code, dose, status, created_us, updated_us)
		VALUES ('old', 'REF-OLD', ?, 12, '207', 1, 'cancelled', ?, ?)`, f.person(), f.now.Add(-48*time.Hour).UnixMicro(), f.now.UnixMicro())
	return f
}

// migrateRiver creates river's own tables with its migrator, so the job
// rows the test writes have exactly the production layout.
func migrateRiver(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	var err error
	if db.Dialect == store.SQLite {
		err = migrateWith(ctx, riversqlite.New(db.Write))
	} else {
		err = migrateWith(ctx, riverdatabasesql.New(db.Write))
	}
	if err != nil {
		t.Fatalf("river migrations: %v", err)
	}
}

func migrateWith(ctx context.Context, d riverdriver.Driver[*sql.Tx]) error {
	m, err := rivermigrate.New(d, nil)
	if err != nil {
		return err
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}

func (f *fixture) exec(q string, args ...any) {
	f.t.Helper()
	if _, err := f.db.Write.Exec(store.RebindFor(f.db.Dialect, q), args...); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
}

func (f *fixture) person() int64 {
	f.people++
	id := f.people
	f.exec(`INSERT INTO people (id, ref, lookup_hash, contact_hash, sealed, created_us) VALUES (?, ?, ?, ?, ?, ?)`,
		id, fmt.Sprint("P", id), []byte(fmt.Sprint("lookup", id)), []byte("c"), []byte("s"), f.now.UnixMicro())
	return id
}

// book writes an appointment the way the booking transaction does: the
// seat, the row, and optionally its audit record, its job and the 201.
func (f *fixture) book(id string, slot, person int64, audited, queued, answered bool) {
	f.t.Helper()
	f.exec("UPDATE slots SET remaining = remaining - 1 WHERE id = ?", slot)
	f.insertAppointment(id, slot, person)
	if audited {
		f.exec(`INSERT INTO audit_log (at_us, actor, action, subjects) VALUES (?, 'person:P', 'appointment.booked', ?)`,
			f.now.UnixMicro(), fmt.Sprintf(`["appointment:%s","slot:%d"]`, id, slot))
	}
	if queued {
		args := fmt.Sprintf(`{"appointment_id":%q}`, id)
		if f.db.Dialect == store.SQLite {
			f.exec("INSERT INTO river_job (kind, args, max_attempts) VALUES (?, jsonb(?), 25)", jobKind, args)
		} else {
			f.exec("INSERT INTO river_job (kind, args, max_attempts) VALUES (?, CAST(CAST(? AS text) AS jsonb), 25)", jobKind, args)
		}
	}
	if answered {
		f.responses.Booked = append(f.responses.Booked, check.Response{Type: check.TypeBooked, ID: id, Reference: "REF-" + id})
	}
}

func (f *fixture) insertAppointment(id string, slot, person int64) {
	f.t.Helper()
	f.exec(`INSERT INTO appointments (id, reference, person_id, slot_id, vaccine_code, dose, status, created_us, updated_us)
		VALUES (?, ?, ?, ?, '207', 1, 'booked', ?, ?)`, id, "REF-"+id, person, slot, f.now.UnixMicro(), f.now.UnixMicro())
}

func (f *fixture) hold(id string, slot int64, expires time.Time) {
	f.t.Helper()
	f.exec("UPDATE slots SET remaining = remaining - 1 WHERE id = ?", slot)
	f.exec(`INSERT INTO holds (id, slot_id, person_id, state, expires_us, created_us) VALUES (?, ?, ?, 'active', ?, ?)`,
		id, slot, f.person(), expires.UnixMicro(), f.now.UnixMicro())
}

// seal turns every audit record into a leaf and signs a checkpoint, as the
// service's sealer does in the background.
func (f *fixture) seal() {
	f.t.Helper()
	for i := 0; i < 20; i++ {
		r, err := f.sealer.SealOnce(context.Background())
		if err != nil {
			f.t.Fatalf("seal: %v", err)
		}
		if r.Sealed == 0 && r.Lag == 0 {
			return
		}
	}
	f.t.Fatal("sealer did not catch up")
}

// tamper edits the audit log as someone with superuser rights could: with
// the append-only triggers out of the way.
func (f *fixture) tamper(stmt string) {
	f.t.Helper()
	ctx := context.Background()
	conn, err := f.db.Write.Conn(ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	defer conn.Close()
	stmts := []string{"SET session_replication_role = replica", stmt, "RESET session_replication_role"}
	if f.db.Dialect == store.SQLite {
		stmts = []string{"DROP TRIGGER IF EXISTS audit_log_no_update", stmt}
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			f.t.Fatalf("%s: %v", s, err)
		}
	}
}

func (f *fixture) run() *check.Report {
	f.t.Helper()
	f.seal()
	rep, err := check.Run(context.Background(), check.Config{
		DB: f.db, Clock: clock.NewFake(f.now), Responses: f.responses,
		ConfirmationKind: jobKind, AuditPublicKey: f.key.PublicKey(),
	})
	if err != nil {
		f.t.Fatalf("check: %v", err)
	}
	return rep
}

// The checker looks for the job kind and argument the outbox writes.
func TestConfirmationJobMatchesOutbox(t *testing.T) {
	t.Parallel()
	args := notify.ConfirmationArgs{MessageArgs: notify.MessageArgs{AppointmentID: "a1"}}
	b, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if args.Kind() != check.DefaultConfirmationKind || m[check.DefaultConfirmationArg] != "a1" {
		t.Fatalf("outbox writes kind %q args %s; check looks for %q/%q", args.Kind(), b,
			check.DefaultConfirmationKind, check.DefaultConfirmationArg)
	}
}

func TestCleanDatabasePasses(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		rep := f.run()
		if !rep.OK() || len(rep.Skipped) > 0 {
			t.Fatalf("clean database reported violations:\n%s", rep.Summary())
		}
		if rep.Slots != 3 || rep.Appointments != 4 || rep.InWindow != 3 || rep.Responses != 3 || rep.AuditLeaves != 3 {
			t.Fatalf("counts = %+v", rep)
		}
	})
}

func TestFindsEachViolation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		breaks func(f *fixture)
		kind   string
		ids    []string
		// subset: the violation must name ids, and may name more (the
		// audit verifier also reports the checkpoints that no longer
		// agree, in its own words).
		subset bool
	}{
		{"over capacity", func(f *fixture) {
			// A second booking in a one-seat slot that never touched the
			// seat count: only counting appointments can see it.
			f.insertAppointment("a4", 11, f.person())
			f.responses.Booked = append(f.responses.Booked, check.Response{Type: check.TypeBooked, ID: "a4", Reference: "REF-a4"})
		}, check.KindOverCapacity, []string{"11/online"}, false},
		{"remaining drifted", func(f *fixture) {
			f.exec("UPDATE slots SET remaining = remaining + 1 WHERE id = 10")
		}, check.KindRemaining, []string{"10/online"}, false},
		{"walk-in pool drifted", func(f *fixture) {
			f.exec("UPDATE slots SET walkin_remaining = 1 WHERE id = 12")
		}, check.KindRemaining, []string{"12/walkin"}, false},
		{"double booked", func(f *fixture) {
			f.exec("DROP INDEX appointments_one_per_dose")
			f.book("a5", 12, 1, true, true, true)
		}, check.KindDoubleBooked, []string{"a1", "a5"}, false},
		{"201 without a committed appointment", func(f *fixture) {
			f.responses.Booked = append(f.responses.Booked, check.Response{Type: check.TypeBooked, ID: "ghost", Reference: "REF-ghost"})
		}, check.KindResponseUncommitted, []string{"ghost"}, false},
		{"201 with another reference", func(f *fixture) {
			f.responses.Booked[0].Reference = "REF-other"
		}, check.KindResponseUncommitted, []string{"a1"}, false},
		{"committed but never answered", func(f *fixture) {
			f.book("a6", 12, f.person(), true, true, false)
		}, check.KindUnanswered, []string{"a6"}, false},
		{"booking without audit record", func(f *fixture) {
			f.book("a7", 12, f.person(), false, true, true)
		}, check.KindAuditMissing, []string{"a7"}, false},
		{"booking without confirmation job", func(f *fixture) {
			f.book("a8", 12, f.person(), true, false, true)
		}, check.KindConfirmationMissing, []string{"a8"}, false},
		{"audit log edited after sealing", func(f *fixture) {
			f.seal()
			f.tamper("UPDATE audit_log SET subjects = '[\"appointment:a9\"]' WHERE seq = (SELECT MIN(seq) FROM audit_log)")
		}, check.KindAuditLog, []string{"record-altered:seq=1"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				f := setup(t, db)
				tc.breaks(f)
				rep := f.run()
				v := find(rep, tc.kind)
				if v == nil {
					t.Fatalf("no %s violation in:\n%s", tc.kind, rep.Summary())
				}
				if tc.subset && !containsAll(v.IDs, tc.ids) || !tc.subset && !slices.Equal(v.IDs, tc.ids) {
					t.Fatalf("%s ids = %v, want %v", tc.kind, v.IDs, tc.ids)
				}
			})
		})
	}
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

func find(rep *check.Report, kind string) *check.Violation {
	for i := range rep.Violations {
		if rep.Violations[i].Kind == kind {
			return &rep.Violations[i]
		}
	}
	return nil
}
