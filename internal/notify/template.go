package notify

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	"text/template"
	"time"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

// Languages with templates; anything else gets English.
var languages = []string{"en", "es"}

// templates holds one parsed set per language.
var templates = func() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, lang := range languages {
		out[lang] = template.Must(template.ParseFS(templateFS, "templates/"+lang+".tmpl"))
	}
	return out
}()

// htmlPage wraps the plain text as the HTML alternative: the text is
// the source of truth, escaped and split into paragraphs.
var htmlPage = htmltemplate.Must(htmltemplate.New("page").Parse(
	`<!DOCTYPE html><html lang="{{.Lang}}"><head><meta charset="utf-8"><title>{{.Subject}}</title></head>` +
		`<body style="font-family:sans-serif;line-height:1.4">{{range .Paras}}<p>{{range $i, $l := .}}{{if $i}}<br>{{end}}{{$l}}{{end}}</p>{{end}}</body></html>`))

// content is what the templates may show.
type content struct {
	Name      string
	Reference string
	When      string
	Relative  string
	Site      string
	Address   string
	Vaccine   string
	Dose      int
	Due       string
	Expires   string
	Link      string
}

// render fills the subject, text and HTML of m from the templates of its
// type in the message's language.
func render(m *Message, c content) error {
	set, ok := templates[m.Lang]
	if !ok {
		m.Lang = "en"
		set = templates["en"]
	}
	var subject, text bytes.Buffer
	if err := set.ExecuteTemplate(&subject, m.Type+".subject", c); err != nil {
		return fmt.Errorf("render subject: %w", err)
	}
	if err := set.ExecuteTemplate(&text, m.Type+".text", c); err != nil {
		return fmt.Errorf("render text: %w", err)
	}
	m.Subject = strings.TrimSpace(subject.String())
	m.Text = strings.TrimSpace(text.String()) + "\n"
	var paras [][]string
	for _, p := range strings.Split(strings.TrimSpace(m.Text), "\n\n") {
		paras = append(paras, strings.Split(p, "\n"))
	}
	var html bytes.Buffer
	err := htmlPage.Execute(&html, map[string]any{"Lang": m.Lang, "Subject": m.Subject, "Paras": paras})
	if err != nil {
		return fmt.Errorf("render html: %w", err)
	}
	m.HTML = html.String()
	return nil
}

var (
	esDays   = []string{"domingo", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado"}
	esMonths = []string{"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio",
		"agosto", "septiembre", "octubre", "noviembre", "diciembre"}
)

// formatTime shows t in loc with the zone's abbreviation and name, as a
// person reading lang expects it.
func formatTime(lang string, t time.Time, loc *time.Location) string {
	t = t.In(loc)
	abbr, _ := t.Zone()
	if lang == "es" {
		return fmt.Sprintf("%s %d de %s de %d, %s %s (%s)", esDays[t.Weekday()], t.Day(),
			esMonths[t.Month()-1], t.Year(), t.Format("15:04"), abbr, loc.String())
	}
	return t.Format("Monday, January 2, 2006 at 3:04 PM") + " " + abbr + " (" + loc.String() + ")"
}

// formatDate shows the date of t in loc.
func formatDate(lang string, t time.Time, loc *time.Location) string {
	t = t.In(loc)
	if lang == "es" {
		return fmt.Sprintf("%s %d de %s de %d", esDays[t.Weekday()], t.Day(), esMonths[t.Month()-1], t.Year())
	}
	return t.Format("Monday, January 2, 2006")
}

// relative names how far ahead a reminder is.
func relative(lang string, before time.Duration) string {
	switch {
	case before >= 24*time.Hour && lang == "es":
		return "mañana"
	case before >= 24*time.Hour:
		return "is tomorrow"
	case lang == "es":
		return fmt.Sprintf("en %d horas", int(before.Hours()))
	}
	return fmt.Sprintf("is in %d hours", int(before.Hours()))
}
