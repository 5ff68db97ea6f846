package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"

	"golang.org/x/text/language"
)

//go:embed locales/*.json
var localeFS embed.FS

// Languages the pages are written in; the first is the fallback.
var languages = []string{"en", "es"}

var langMatcher = language.NewMatcher([]language.Tag{language.English, language.Spanish})

// LangCookie remembers the language a person chose with the switch.
const LangCookie = "vaxbook_lang"

// catalog holds every page string by language and key. Messages take
// fmt verbs with explicit argument indexes ("%[1]s") so a translation can
// reorder them.
type catalog map[string]map[string]string

func loadCatalog() (catalog, error) {
	c := catalog{}
	for _, lang := range languages {
		b, err := localeFS.ReadFile("locales/" + lang + ".json")
		if err != nil {
			return nil, err
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("locale %s: %w", lang, err)
		}
		c[lang] = m
	}
	return c, nil
}

// T returns the message for key in lang, formatted with args. A missing
// key falls back to English and then to the key itself, which the catalog
// test makes impossible in a release.
func (c catalog) T(lang, key string, args ...any) string {
	msg, ok := c[lang][key]
	if !ok {
		msg, ok = c[languages[0]][key]
	}
	if !ok {
		return key
	}
	if len(args) == 0 {
		return msg
	}
	return fmt.Sprintf(msg, args...)
}

// missing lists keys that one language has and another lacks.
func (c catalog) missing() []string {
	var out []string
	for _, a := range languages {
		for key := range c[a] {
			for _, b := range languages {
				if _, ok := c[b][key]; !ok {
					out = append(out, b+": "+key)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// requestLang picks the page language: the switch's cookie, then the
// browser's Accept-Language, then English.
func requestLang(r *http.Request) string {
	if c, err := r.Cookie(LangCookie); err == nil && validLang(c.Value) {
		return c.Value
	}
	tags, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err != nil || len(tags) == 0 {
		return languages[0]
	}
	_, idx, _ := langMatcher.Match(tags...)
	return languages[idx]
}

func validLang(s string) bool {
	for _, l := range languages {
		if s == l {
			return true
		}
	}
	return false
}
