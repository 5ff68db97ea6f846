package web

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

type ctxKey int

const csrfKey ctxKey = 1

func withCSRF(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, csrfKey, token)
}

func csrfFrom(ctx context.Context) string {
	s, _ := ctx.Value(csrfKey).(string)
	return s
}

// Page is what every template receives.
type Page struct {
	// Name is the template's name; tests find pages by it.
	Name  string
	Lang  string
	Title string // a catalog key
	// Path is the request path, for the language switch.
	Path string
	CSRF string
	// Error is a catalog key shown in an alert at the top of the page.
	Error string
	// Errors maps form fields to catalog keys, shown beside each field and
	// in the summary.
	Errors map[string]string
	// Staff marks console pages, which get the console's navigation.
	Staff bool
	// StaffRole is the signed-in staff member's role; the console's
	// navigation shows only the areas it may use.
	StaffRole string
	Data      any

	cat    catalog
	assets *assets
}

// T translates key into the page's language.
func (p *Page) T(key string, args ...any) string { return p.cat.T(p.Lang, key, args...) }

// Asset returns the versioned URL of a static file.
func (p *Page) Asset(name string) string { return p.assets.URL(name) }

// OtherLang is the language the switch offers.
func (p *Page) OtherLang() string {
	if p.Lang == "es" {
		return "en"
	}
	return "es"
}

// StaffMay reports whether the signed-in staff role may use a console
// area.
func (p *Page) StaffMay(area string) bool { return allows(area, p.StaffRole) }

// FieldError returns the translated error of a form field, or "".
func (p *Page) FieldError(field string) string {
	if key, ok := p.Errors[field]; ok {
		return p.T(key)
	}
	return ""
}

// views holds one template set per page, each joined with the layout.
type views struct {
	pages  map[string]*template.Template
	cat    catalog
	assets *assets
	log    *slog.Logger
}

var funcs = template.FuncMap{
	"join":  strings.Join,
	"upper": strings.ToUpper,
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[fmt.Sprint(kv[i])] = kv[i+1]
		}
		return m
	},
	"add":  func(a, b int) int { return a + b },
	"unix": func(t time.Time) int64 { return t.Unix() },
}

func loadViews(cat catalog, a *assets, log *slog.Logger) (*views, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	v := &views{pages: map[string]*template.Template{}, cat: cat, assets: a, log: log}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if strings.HasPrefix(name, "_") {
			continue
		}
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/_*.html", n)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
		v.pages[name] = t
	}
	return v, nil
}

// render writes page name with status. The page is rendered to a buffer
// first so a template error never sends half a page.
func (v *views) render(w http.ResponseWriter, r *http.Request, status int, name string, p *Page) {
	t, ok := v.pages[name]
	if !ok {
		panic("web: no template " + name)
	}
	p.Name, p.cat, p.assets = name, v.cat, v.assets
	if p.Lang == "" {
		p.Lang = requestLang(r)
	}
	p.Path, p.CSRF = r.URL.Path, csrfFrom(r.Context())
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		v.log.ErrorContext(r.Context(), "render page", slog.String("page", name), slog.String("error", err.Error()))
		http.Error(w, "Something went wrong on our side.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
