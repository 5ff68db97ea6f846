package notify

import (
	"fmt"
	"strings"
	"time"
)

// calendar describes one event for an iCalendar file.
type calendar struct {
	UID      string
	Method   string // PUBLISH or CANCEL
	Sequence int64
	Stamp    time.Time
	Start    time.Time
	End      time.Time
	Zone     *time.Location
	Summary  string
	Location string
	URL      string
}

// ics renders c as RFC 5545 text: a VEVENT in the site's own time zone,
// with a VTIMEZONE that spells out that zone's offsets for the year of
// the event, so a calendar shows the time the site keeps even when the
// reader's device is elsewhere.
func (c calendar) ics() []byte {
	var lines []string
	add := func(s ...string) { lines = append(lines, s...) }
	add("BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//vaxbook//notify//EN",
		"CALSCALE:GREGORIAN", "METHOD:"+c.Method)
	add(vtimezone(c.Zone, c.Start)...)
	status := "CONFIRMED"
	if c.Method == "CANCEL" {
		status = "CANCELLED"
	}
	add("BEGIN:VEVENT",
		"UID:"+c.UID,
		fmt.Sprintf("SEQUENCE:%d", c.Sequence),
		"DTSTAMP:"+c.Stamp.UTC().Format("20060102T150405Z"),
		"DTSTART;TZID="+c.Zone.String()+":"+c.Start.In(c.Zone).Format("20060102T150405"),
		"DTEND;TZID="+c.Zone.String()+":"+c.End.In(c.Zone).Format("20060102T150405"),
		"SUMMARY:"+icsText(c.Summary),
		"LOCATION:"+icsText(c.Location),
		"STATUS:"+status)
	if c.URL != "" {
		add("URL:" + c.URL)
	}
	add("END:VEVENT", "END:VCALENDAR")
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(fold(l))
	}
	return []byte(b.String())
}

// vtimezone lists the observances of loc that begin in the year of at,
// plus the one already in force when that year begins.
func vtimezone(loc *time.Location, at time.Time) []string {
	out := []string{"BEGIN:VTIMEZONE", "TZID:" + loc.String()}
	year := time.Date(at.In(loc).Year(), 1, 1, 0, 0, 0, 0, loc)
	end := year.AddDate(1, 0, 0)
	t := year
	for i := 0; i < 8 && t.Before(end); i++ {
		start, next := t.ZoneBounds()
		out = append(out, observance(loc, start, t)...)
		if next.IsZero() {
			break
		}
		t = next
	}
	return append(out, "END:VTIMEZONE")
}

// observance is one STANDARD or DAYLIGHT block for the period holding t,
// which began at start (zero when the zone has never changed).
func observance(loc *time.Location, start, t time.Time) []string {
	name, to := t.In(loc).Zone()
	from := to
	onset := "19700101T000000"
	if !start.IsZero() {
		_, from = start.Add(-time.Second).In(loc).Zone()
		// DTSTART of an observance is written in the local time that was
		// in force just before it (RFC 5545, 3.6.5).
		onset = start.In(time.FixedZone("", from)).Format("20060102T150405")
	}
	kind := "STANDARD"
	if t.In(loc).IsDST() {
		kind = "DAYLIGHT"
	}
	return []string{"BEGIN:" + kind, "DTSTART:" + onset,
		"TZOFFSETFROM:" + icsOffset(from), "TZOFFSETTO:" + icsOffset(to),
		"TZNAME:" + name, "END:" + kind}
}

func icsOffset(sec int) string {
	sign := "+"
	if sec < 0 {
		sign, sec = "-", -sec
	}
	return fmt.Sprintf("%s%02d%02d", sign, sec/3600, sec%3600/60)
}

var icsEscaper = strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\n", `\n`, "\r", "")

func icsText(s string) string { return icsEscaper.Replace(s) }

// fold splits a content line into pieces of at most 75 octets, never
// inside a UTF-8 sequence, and ends it with CRLF.
func fold(line string) string {
	var b strings.Builder
	limit := 75
	for len(line) > limit {
		cut := limit
		for cut > 0 && line[cut]&0xC0 == 0x80 {
			cut--
		}
		b.WriteString(line[:cut] + "\r\n ")
		line = line[cut:]
		limit = 74
	}
	b.WriteString(line + "\r\n")
	return b.String()
}
