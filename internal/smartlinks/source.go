package smartlinks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// ManifestName is the file a publication's folder serves as its manifest.
const ManifestName = "$bulk-publish"

// errMissing marks an output file that does not exist (a 404 or an absent
// local file): the feed's fault, reported and skipped, not fatal.
var errMissing = errors.New("file not found")

// errOutside marks an output URL that a local manifest cannot map onto its
// own folder.
var errOutside = errors.New("outside the manifest's folder")

// errOtherHost marks an output URL of a remote manifest on a host other
// than the manifest's own. Following it would let whoever writes a manifest
// (an admin's import of a third-party feed) make the server fetch any
// address it can reach, internal ones included.
var errOtherHost = errors.New("on another host than the manifest")

// feed is an opened manifest and the way to reach its output files.
type feed struct {
	manifest Manifest
	// request is the manifest's own URL, the base of its output URLs.
	request *url.URL
	// dir is the local folder of a local manifest ("" for a URL).
	dir string
	// fetched is the host a remote manifest was read from.
	fetched string
	client  *http.Client
	limit   int64
}

// openFeed reads the manifest at source: an http(s) URL, a folder holding a
// $bulk-publish file, or the manifest file itself.
func openFeed(ctx context.Context, source string, client *http.Client, limit int64) (*feed, error) {
	f := &feed{client: client, limit: limit}
	var body io.ReadCloser
	var err error
	if isURL(source) {
		f.request, err = url.Parse(source)
		if err == nil {
			f.fetched = f.request.Host
			body, err = f.get(ctx, f.request)
		}
	} else {
		body, err = f.openLocal(source)
	}
	if err != nil {
		return nil, fmt.Errorf("open manifest: %w", err)
	}
	defer body.Close()
	dec := json.NewDecoder(io.LimitReader(body, 16<<20))
	if err := dec.Decode(&f.manifest); err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	f.useRequest()
	return f, nil
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
	return os.Open(abs)
}

// useRequest takes the manifest's request URL as the base of its outputs.
// A request URL that ends in "$bulk-publish/" (a trailing slash, as one
// real feed has) names the manifest, not a folder, so the slash goes.
func (f *feed) useRequest() {
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
}

// resolve returns the absolute URL of an output entry.
func (f *feed) resolve(raw string) (*url.URL, error) {
	ref, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, err
	}
	return f.request.ResolveReference(ref), nil
}

// open returns the body of an output file: from the network for a remote
// manifest, from the manifest's folder for a local one.
func (f *feed) open(ctx context.Context, u *url.URL) (io.ReadCloser, string, error) {
	if f.dir == "" {
		if u.Scheme != "http" && u.Scheme != "https" {
			return nil, "", fmt.Errorf("unsupported URL scheme %q", u.Scheme)
		}
		if u.Host != f.fetched && u.Host != f.request.Host {
			return nil, u.String(), errOtherHost
		}
		body, err := f.get(ctx, u)
		return body, u.String(), err
	}
	local, err := f.localPath(u)
	if err != nil {
		return nil, "", err
	}
	file, err := os.Open(local)
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

// localPath maps u onto the manifest's folder: u must lie under the folder
// of the request URL (same scheme and host), and the result never leaves
// the local folder, whatever dot segments or escapes u holds.
func (f *feed) localPath(u *url.URL) (string, error) {
	base := *f.request
	base.Path = path.Dir(base.Path) + "/"
	if u.Scheme != base.Scheme || u.Host != base.Host || !strings.HasPrefix(path.Clean(u.Path), base.Path) {
		return "", errOutside
	}
	rel := strings.TrimPrefix(path.Clean(u.Path), base.Path)
	if rel == "" || strings.Contains(rel, "\\") {
		return "", errOutside
	}
	local := filepath.Join(f.dir, filepath.FromSlash(rel))
	if r, err := filepath.Rel(f.dir, local); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
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
