package smartlinks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// ManifestName is the file a publication's folder serves as its manifest.
const ManifestName = "$bulk-publish"

// ErrManifest marks an import that failed because its manifest could not
// be fetched, opened or parsed: the feed's fault, not the database's.
var ErrManifest = errors.New("manifest not read")

// errMissing marks an output file that does not exist (a 404 or an absent
// local file): the feed's fault, reported and skipped, not fatal.
var errMissing = errors.New("file not found")

// errOutside marks an output URL that a local manifest cannot map onto its
// own folder.
var errOutside = errors.New("outside the manifest's folder")

// errOtherHost marks an output URL of a remote manifest on another origin
// (scheme, host and port) than the manifest was fetched from. Following it
// would let whoever writes a manifest (an admin's import of a third-party
// feed) make the server fetch any address it can reach, internal ones
// included.
var errOtherHost = errors.New("on another origin than the manifest")

// errRedirect marks a response that redirected to another origin, refused
// for the same reason.
var errRedirect = errors.New("redirect to another origin refused")

// feed is an opened manifest and the way to reach its output files.
type feed struct {
	manifest Manifest
	// request is the manifest's own URL as it names itself; rows are
	// keyed by its folder.
	request *url.URL
	// base resolves relative output URLs: the request URL, unless a
	// remote manifest names another origin than it was fetched from.
	base *url.URL
	// dir is the local folder of a local manifest ("" for a URL), and
	// root the only way its files are opened.
	dir  string
	root *os.Root
	// origin is the scheme://host:port a remote manifest was read from,
	// the only origin its files are fetched from.
	origin string
	client *http.Client
	limit  int64
}

// openFeed reads the manifest at source: an http(s) URL, a folder holding a
// $bulk-publish file, or the manifest file itself.
func openFeed(ctx context.Context, source string, client *http.Client, limit int64) (*feed, error) {
	f := &feed{limit: limit}
	f.client = f.sameOriginClient(client)
	var body io.ReadCloser
	var err error
	if isURL(source) {
		f.request, err = url.Parse(source)
		if err == nil {
			f.origin = originOf(f.request)
			body, err = f.get(ctx, f.request)
		}
	} else {
		body, err = f.openLocal(source)
	}
	if err != nil {
		f.close()
		return nil, fmt.Errorf("open manifest: %w: %w", ErrManifest, err)
	}
	defer body.Close()
	dec := json.NewDecoder(io.LimitReader(body, 16<<20))
	if err := dec.Decode(&f.manifest); err != nil {
		f.close()
		return nil, fmt.Errorf("read manifest: %w: %w", ErrManifest, err)
	}
	f.useRequest()
	return f, nil
}

// close releases the local folder.
func (f *feed) close() {
	if f.root != nil {
		f.root.Close()
	}
}

// originOf is scheme://host:port with the scheme's default port filled in,
// lower case, so that equal origins compare equal.
func originOf(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(net.JoinHostPort(u.Hostname(), port))
}

// sameOriginClient returns a copy of client that refuses a redirect to
// another origin than the manifest's (the check in open would otherwise
// be bypassed by the server answering 302).
func (f *feed) sameOriginClient(client *http.Client) *http.Client {
	c := *client
	next := client.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if originOf(req.URL) != f.origin {
			return errRedirect
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &c
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

func (f *feed) openLocal(source string) (io.ReadCloser, error) {
	info, err := os.Stat(source)
	if err != nil {
		return nil, err
	}
	file := source
	if info.IsDir() {
		file = filepath.Join(source, ManifestName)
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	f.dir = filepath.Dir(abs)
	f.request = &url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}
	f.base = f.request
	if f.root, err = os.OpenRoot(f.dir); err != nil {
		return nil, err
	}
	return os.Open(abs)
}

// useRequest takes the manifest's request URL as the base of its outputs.
// A request URL that ends in "$bulk-publish/" (a trailing slash, as one
// real feed has) names the manifest, not a folder, so the slash goes.
//
// A remote manifest's request URL resolves its outputs only when it is on
// the origin the manifest came from; otherwise outputs resolve against the
// URL actually fetched (and absolute ones elsewhere are refused in open).
func (f *feed) useRequest() {
	if f.base == nil {
		f.base = f.request
	}
	u, err := url.Parse(strings.TrimSpace(f.manifest.Request))
	if err != nil || !u.IsAbs() {
		return
	}
	if p := strings.TrimSuffix(u.Path, "/"); strings.HasSuffix(p, "/"+ManifestName) {
		u.Path, u.RawPath = p, ""
	}
	if f.dir == "" && !isURL(u.String()) {
		return
	}
	f.request = u
	if f.dir != "" || originOf(u) == f.origin {
		f.base = u
	}
}

// resolve returns the absolute URL of an output entry.
func (f *feed) resolve(raw string) (*url.URL, error) {
	ref, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, err
	}
	return f.base.ResolveReference(ref), nil
}

// open returns the body of an output file: from the network for a remote
// manifest, from the manifest's folder for a local one.
func (f *feed) open(ctx context.Context, u *url.URL) (io.ReadCloser, string, error) {
	if f.dir == "" {
		if u.Scheme != "http" && u.Scheme != "https" {
			return nil, "", fmt.Errorf("unsupported URL scheme %q", u.Scheme)
		}
		if originOf(u) != f.origin {
			return nil, u.String(), errOtherHost
		}
		body, err := f.get(ctx, u)
		return body, u.String(), err
	}
	rel, err := f.localPath(u)
	if err != nil {
		return nil, "", err
	}
	local := filepath.Join(f.dir, rel)
	// The root refuses any path or symlink that leads out of the
	// manifest's folder; the check before it names that case.
	if !f.inside(local) {
		return nil, local, errOutside
	}
	file, err := f.root.Open(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, local, errMissing
	}
	if err != nil {
		return nil, local, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(file, f.limit), file}, local, nil
}

// inside reports whether local, symlinks resolved, lies in the manifest's
// folder. A file that does not exist yet is inside when its nearest
// existing parent is (it is then reported missing).
func (f *feed) inside(local string) bool {
	dir, err := filepath.EvalSymlinks(f.dir)
	if err != nil {
		return false
	}
	for p := local; ; p = filepath.Dir(p) {
		real, err := filepath.EvalSymlinks(p)
		if err == nil {
			r, err := filepath.Rel(dir, real)
			return err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator))
		}
		if !errors.Is(err, fs.ErrNotExist) || p == filepath.Dir(p) {
			return false
		}
		if _, err := os.Lstat(p); err == nil {
			return false // a symlink to nowhere: where it points is unknown
		}
	}
}

// localPath maps u onto the manifest's folder, as a path relative to it:
// u must lie under the folder of the request URL (same scheme and host),
// and the result never leaves the folder, whatever dot segments or
// escapes u holds.
func (f *feed) localPath(u *url.URL) (string, error) {
	base := *f.base
	base.Path = path.Dir(base.Path) + "/"
	if u.Scheme != base.Scheme || u.Host != base.Host || !strings.HasPrefix(path.Clean(u.Path), base.Path) {
		return "", errOutside
	}
	rel := strings.TrimPrefix(path.Clean(u.Path), base.Path)
	if rel == "" || strings.Contains(rel, "\\") {
		return "", errOutside
	}
	local := filepath.FromSlash(rel)
	if !filepath.IsLocal(local) {
		return "", errOutside
	}
	return local, nil
}

func (f *feed) get(ctx context.Context, u *url.URL) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/fhir+ndjson, application/json, */*")
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, err
	}
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		resp.Body.Close()
		return nil, errMissing
	case resp.StatusCode != http.StatusOK:
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: status %d", u.Redacted(), resp.StatusCode)
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(resp.Body, f.limit), resp.Body}, nil
}

// sourceName is the name imported rows are keyed under: the folder of the
// request URL without its scheme, so the same feed read from a file or
// from the network updates the same rows.
func (f *feed) sourceName() string {
	u := *f.request
	u.Path = strings.TrimSuffix(path.Dir(u.Path), "/")
	u.RawQuery, u.Fragment, u.User = "", "", nil
	if u.Scheme == "file" {
		return "file:" + u.Path
	}
	return u.Host + u.Path
}
