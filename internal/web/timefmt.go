package web

import (
	"fmt"
	"time"
)

var (
	esDays   = [...]string{"domingo", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado"}
	esMonths = [...]string{"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
		"septiembre", "octubre", "noviembre", "diciembre"}
)

// zoned returns t in the named IANA zone, or in UTC when the zone is
// unknown (the label then says UTC, so the time is never silently wrong).
func zoned(t time.Time, zone string) time.Time {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		loc = time.UTC
	}
	return t.In(loc)
}

// longDate formats a date for people: "Tuesday, March 2, 2021" or
// "martes, 2 de marzo de 2021".
func longDate(lang string, t time.Time) string {
	if lang == "es" {
		return fmt.Sprintf("%s, %d de %s de %d", esDays[t.Weekday()], t.Day(), esMonths[t.Month()-1], t.Year())
	}
	return t.Format("Monday, January 2, 2006")
}

// clockTime formats a time of day with its zone abbreviation, which labels
// every time shown as the site's own.
func clockTime(lang string, t time.Time) string {
	if lang == "es" {
		return t.Format("15:04 MST")
	}
	return t.Format("3:04 PM MST")
}

// when is a date and time together.
func when(lang string, t time.Time) string { return longDate(lang, t) + ", " + clockTime(lang, t) }
