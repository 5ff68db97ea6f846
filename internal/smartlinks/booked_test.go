package smartlinks_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/smartlinks"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
)

// threeSlotFeed is one clinic with slots at 09:00, 10:00 and 11:00 New York
// time on 2027-01-10, each of the given capacity and product.
func threeSlotFeed(capacity int, product string) map[string]string {
	slots := make([]string, 0, 3)
	for _, hour := range []int{9, 10, 11} {
		h := fmt.Sprintf("%02d", hour)
		slots = append(slots, `{"resourceType":"Slot","id":"`+h+`","schedule":{"reference":"Schedule/s"},"status":"free",`+
			`"start":"2027-01-10T`+h+`:00:00-05:00","end":"2027-01-10T`+h+`:30:00-05:00","extension":[{"url":"`+
			smartlinks.ExtSlotCapacity+`","valueInteger":`+strconv.Itoa(capacity)+`}]}`)
	}
	files := feedFiles(capacity)
	files["slots.ndjson"] = strings.Join(slots, "\n")
	files["schedules.ndjson"] = strings.Replace(files["schedules.ndjson"], `"code":"208"`, `"code":"`+product+`"`, 1)
	return files
}

func slotID(t *testing.T, db *store.DB, hour int) int {
	t.Helper()
	start := time.Date(2027, 1, 10, hour+5, 0, 0, 0, time.UTC).UnixMicro()
	return count(t, db, "SELECT id FROM slots WHERE start_us = ?", start)
}

// TestReimportKeepsBookedSlots is the review's finding: importing a feed
// again with another shift moved booked appointments to another date with
// no audit record and no message. A slot with a booked appointment or an
// active hold keeps its time, site, vaccine and dose, and the report says
// so; a slot whose only appointment was cancelled follows the feed.
func TestReimportKeepsBookedSlots(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		opts := setup(t)
		day := func(s string) *smartlinks.Date { d, _ := smartlinks.ParseDate(s); return &d }
		dir := t.TempDir()
		writeFeed(t, dir, threeSlotFeed(10, "208"))
		opts.ShiftTo = day("2027-01-10")
		mustImport(t, db, dir, opts)
		booked, held, free := slotID(t, db, 9), slotID(t, db, 10), slotID(t, db, 11)

		exec(t, db, `INSERT INTO people (id, ref, lookup_hash, contact_hash, sealed, created_us)
			VALUES (1, 'P1', ?, ?, ?, 0)`, []byte("l"), []byte("c"), []byte("s"))
		exec(t, db, `INSERT INTO appointments (id, reference, person_id, slot_id, vaccine_code, dose, status, created_us, updated_us)
			VALUES ('a1', 'R1', 1, ?, '208', 2, 'booked', 0, 0), ('a2', 'R2', 1, ?, '208', 2, 'cancelled', 0, 0)`, booked, free)
		exec(t, db, `INSERT INTO holds (id, slot_id, person_id, state, expires_us, created_us)
			VALUES ('h1', ?, 1, 'active', ?, 0)`, held, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro())
		exec(t, db, "UPDATE slots SET remaining = 9 WHERE id IN (?, ?)", booked, held)

		opts.ShiftTo = day("2027-01-17")
		rep := mustImport(t, db, dir, opts)
		wantMap(t, "skipped", rep.Skipped, map[string]int{"slot_booked_time_kept": 2})
		if rep.Slots.Updated != 1 || rep.Slots.Unchanged != 2 {
			t.Errorf("slots %+v; want 1 updated (the free one), 2 unchanged", rep.Slots)
		}
		for _, c := range []struct {
			id   int
			want time.Time
		}{
			{booked, time.Date(2027, 1, 10, 14, 0, 0, 0, time.UTC)},
			{held, time.Date(2027, 1, 10, 15, 0, 0, 0, time.UTC)},
			{free, time.Date(2027, 1, 17, 16, 0, 0, 0, time.UTC)},
		} {
			if n := count(t, db, "SELECT COUNT(*) FROM slots WHERE id = ? AND start_us = ?", c.id, c.want.UnixMicro()); n != 1 {
				t.Errorf("slot %d does not start at %s", c.id, c.want)
			}
		}
		// The audit record of the import carries the reason.
		if n := count(t, db, "SELECT COUNT(*) FROM audit_log WHERE action = 'inventory.imported' AND details LIKE '%slot_booked_time_kept%'"); n != 1 {
			t.Errorf("audit records naming the kept times = %d, want 1", n)
		}

		// Another product and capacity 0: the booked and held slots keep
		// their vaccine and exactly their seats taken; the free one follows.
		writeFeed(t, dir, threeSlotFeed(0, "207"))
		rep = mustImport(t, db, dir, opts)
		wantMap(t, "skipped", rep.Skipped, map[string]int{"slot_booked_time_kept": 2, "slot_booked_schedule_kept": 2})
		if rep.Notes["capacity_kept_at_seats_taken"] != 2 {
			t.Errorf("notes %v; want capacity kept at seats taken twice", rep.Notes)
		}
		if n := count(t, db, "SELECT COUNT(*) FROM slots WHERE id IN (?, ?) AND vaccine_code = '208' AND capacity = 1 AND remaining = 0", booked, held); n != 2 {
			t.Errorf("booked and held slots not kept at vaccine 208, capacity 1: %d of 2", n)
		}
		if n := count(t, db, "SELECT COUNT(*) FROM slots WHERE id = ? AND vaccine_code = '207' AND capacity = 0", free); n != 1 {
			t.Errorf("the free slot did not follow the feed")
		}
	})
}
