package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
)

//go:embed static
var staticFS embed.FS

// assets serves the embedded static files under a path that carries a hash
// of their content, so a browser may keep them for a year and a new release
// is fetched at once.
type assets struct {
	files  fs.FS
	prefix string // "/static/<hash>/"
	server http.Handler
}

func newAssets() (*assets, error) {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	sum, err := hashTree(sub)
	if err != nil {
		return nil, err
	}
	a := &assets{files: sub, prefix: "/static/" + sum + "/"}
	a.server = http.StripPrefix(strings.TrimSuffix(a.prefix, "/"), http.FileServerFS(sub))
	return a, nil
}

// hashTree digests every file's path and content in a fixed order.
func hashTree(fsys fs.FS) (string, error) {
	var names []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return err
	})
	if err != nil {
		return "", err
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return "", err
		}
		h.Write([]byte(n))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

// URL returns the versioned address of a static file ("uswds/css/...").
func (a *assets) URL(name string) string { return a.prefix + strings.TrimPrefix(name, "/") }

// ServeHTTP serves a file when the hash in the path is the current one; an
// old hash is a 404, so a stale page never mixes releases silently.
func (a *assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, a.prefix) || strings.HasSuffix(r.URL.Path, "/") {
		http.NotFound(w, r)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, a.prefix)
	if _, err := fs.Stat(a.files, path.Clean(name)); err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	if strings.HasSuffix(name, ".woff2") {
		w.Header().Set("Content-Type", "font/woff2")
	}
	a.server.ServeHTTP(w, r)
}
