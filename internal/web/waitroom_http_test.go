package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/waitroom"
)

// TestRescheduleThroughWaitingRoom: with the room on, a reschedule from
// the manage pages queues first, comes back to its list of times, moves
// the appointment with the admission, and spends it.
func TestRescheduleThroughWaitingRoom(t *testing.T) {
	t.Parallel()
	c := setupConsole(t, store.SQLite, false)
	ctx := context.Background()
	a := c.book(t, "Mover", c.slotA)[0]
	if _, err := c.Room.Configure(ctx, waitroom.Settings{Mode: waitroom.ModeFIFO, OpensAt: time.Now().Add(-time.Second),
		RatePerS: 50, TokenTTL: 10 * time.Minute}, "staff:test"); err != nil {
		t.Fatal(err)
	}
	cl := newClient(t)
	c.lookup(t, cl, a.Reference)
	move := url.Values{"slot_id": {strconv.FormatInt(c.slotB, 10)}}
	resp, _ := c.form(t, cl, "/manage/cancel", "/manage/reschedule", move)
	if resp.Request.URL.Path != "/book/waiting-room" {
		t.Fatalf("reschedule without admission landed on %s", resp.Request.URL.Path)
	}
	if got, _ := c.Booking.Appointment(ctx, a.ID); got.SlotID != c.slotA {
		t.Fatalf("moved without an admission")
	}
	resp, _ = c.form(t, cl, "/book/waiting-room", "/book/waiting-room", url.Values{})
	for i := 0; resp.Request.URL.Path == "/book/waiting-room" && i < 40; i++ {
		time.Sleep(100 * time.Millisecond)
		resp, _ = get(t, cl, c.URL+"/book/waiting-room")
	}
	if resp.Request.URL.Path != "/manage/reschedule" {
		t.Fatalf("after admission landed on %s", resp.Request.URL.Path)
	}
	resp, _ = c.form(t, cl, "/manage/cancel", "/manage/reschedule", move)
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/manage/appointment" {
		t.Fatalf("reschedule with admission: %d %s", resp.StatusCode, resp.Request.URL.Path)
	}
	if got, _ := c.Booking.Appointment(ctx, a.ID); got.SlotID != c.slotB {
		t.Fatalf("not moved: slot %d", got.SlotID)
	}
	// Spent: moving again needs the queue again.
	move.Set("slot_id", strconv.FormatInt(c.slotA, 10))
	resp, body := c.form(t, cl, "/manage/cancel", "/manage/reschedule", move)
	if resp.Request.URL.Path != "/book/waiting-room" || !strings.Contains(body, "line") {
		t.Errorf("second move landed on %s", resp.Request.URL.Path)
	}
}
