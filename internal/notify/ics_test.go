package notify

import (
	"strings"
	"testing"
	"time"
)

// checkCalendar parses an iCalendar text and checks that it holds one
// event with the given UID, starting at start in the named zone, and a
// VTIMEZONE for that zone.
func checkCalendar(t *testing.T, text, uid string, start time.Time, zone string) {
	t.Helper()
	if text == "" {
		t.Fatal("no text/calendar part")
	}
	for _, l := range strings.SplitAfter(text, "\r\n") {
		if len(l) > 77 {
			t.Errorf("line over 75 octets: %q", l)
		}
	}
	props := unfold(text)
	want := map[string]string{"BEGIN": "VCALENDAR", "UID": uid}
	for k, v := range want {
		if !contains(props[k], v) {
			t.Errorf("%s = %v, want %q", k, props[k], v)
		}
	}
	if !contains(props["TZID"], zone) {
		t.Errorf("no VTIMEZONE for %s: %v", zone, props["TZID"])
	}
	loc, _ := time.LoadLocation(zone)
	starts := props["DTSTART;TZID="+zone]
	if len(starts) != 1 {
		t.Fatalf("DTSTART with TZID=%s: %v (all: %v)", zone, starts, props)
	}
	at, err := time.ParseInLocation("20060102T150405", starts[0], loc)
	if err != nil || !at.Equal(start) {
		t.Fatalf("DTSTART %s is %v, want %v (%v)", starts[0], at, start, err)
	}
}

// unfold joins folded lines and maps each property name (with its
// parameters) to its values.
func unfold(text string) map[string][]string {
	text = strings.ReplaceAll(text, "\r\n ", "")
	out := map[string][]string{}
	for _, l := range strings.Split(strings.TrimSpace(text), "\r\n") {
		name, value, _ := strings.Cut(l, ":")
		out[name] = append(out[name], value)
	}
	return out
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

func TestCalendarZones(t *testing.T) {
	t.Parallel()
	for _, zone := range []string{"America/Chicago", "America/Phoenix", "Pacific/Honolulu", "Europe/Madrid"} {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Date(2026, 7, 3, 9, 30, 0, 0, loc)
		c := calendar{UID: "a1@x", Method: "PUBLISH", Stamp: start.Add(-time.Hour), Start: start,
			End: start.Add(15 * time.Minute), Zone: loc, Summary: "Dose 1; Moderna, \"clinic\"",
			Location: strings.Repeat("Ñandú street, ", 8)}
		text := string(c.ics())
		checkCalendar(t, text, "a1@x", start, zone)
		props := unfold(text)
		if got := props["SUMMARY"]; len(got) != 1 || got[0] != `Dose 1\; Moderna\, "clinic"` {
			t.Errorf("%s: SUMMARY not escaped: %v", zone, got)
		}
		_, summer := start.Zone()
		if !contains(props["TZOFFSETTO"], icsOffset(summer)) {
			t.Errorf("%s: no observance with the July offset %s: %v", zone, icsOffset(summer), props["TZOFFSETTO"])
		}
	}
}

func TestMessageBytesAreStable(t *testing.T) {
	t.Parallel()
	m := &Message{ID: messageID("vaxbook.test", "confirmation", "apt1", "123"), Type: TypeConfirmation,
		Lang: "es", From: "vaxbook <no-reply@vaxbook.test>", To: "x@example.org",
		Date: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Subject: "Su cita está reservada",
		Text: "Hola\n\nlínea = larga " + strings.Repeat("ü", 60) + "\n", HTML: "<p>Hola</p>",
		Calendar: []byte("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"), CalendarMethod: "PUBLISH"}
	a, b := m.Bytes(), m.Bytes()
	if string(a) != string(b) {
		t.Fatal("two renderings of one message differ")
	}
	msg, parts := parseMail(t, a)
	if msg.Header.Get("Message-ID") != "<"+m.ID+">" || !strings.Contains(parts["text/plain"], "línea = larga") {
		t.Fatalf("headers %v, parts %v", msg.Header, parts)
	}
	other := *m
	other.ID = messageID("vaxbook.test", "reminder", "apt1", "123")
	if other.boundary("mixed") == m.boundary("mixed") || other.ID == m.ID {
		t.Fatal("different messages share an id or boundary")
	}
}
