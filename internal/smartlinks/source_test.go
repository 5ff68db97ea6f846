package smartlinks_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vaxbook/vaxbook/internal/smartlinks"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
)

// outsideLocation is a record that must never be loaded: it lies outside
// the feed the importer was pointed at.
const outsideLocation = `{"resourceType":"Location","id":"x","name":"Store outside","address":{"line":["x"],"city":"c","state":"NJ","postalCode":"08332"},"position":{"latitude":39.4,"longitude":-75.0}}`

// TestImportFetchesOnlyFromManifestOrigin: a manifest read from one origin
// cannot make the importer fetch from another, neither through its request
// URL, nor an absolute output URL, nor a redirect; the manifest itself is
// not fetched through a redirect to another origin either.
func TestImportFetchesOnlyFromManifestOrigin(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		opts := setup(t)
		// other stands for an internal address; it must never be asked.
		var otherHits atomic.Int32
		other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			otherHits.Add(1)
			_, _ = w.Write([]byte(outsideLocation))
		}))
		t.Cleanup(other.Close)
		var manifest string
		mux := http.NewServeMux()
		mux.HandleFunc("/feed/$bulk-publish", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(manifest))
		})
		mux.HandleFunc("/feed/moved.ndjson", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/feed/locations.ndjson", http.StatusFound)
		})
		mux.HandleFunc("/feed/here.ndjson", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/feed/l.ndjson", http.StatusFound)
		})
		mux.HandleFunc("/feed/l.ndjson", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(strings.Replace(outsideLocation, "Store outside", "Store here", 1)))
		})
		mux.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/feed/$bulk-publish", http.StatusFound)
		})
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		// The request URL names the other server: relative outputs resolve
		// against the URL the manifest was fetched from instead.
		manifest = `{"request":"` + other.URL + `/feed/$bulk-publish","output":[
			{"type":"Location","url":"locations.ndjson"},
			{"type":"Location","url":"` + other.URL + `/feed/locations.ndjson"},
			{"type":"Location","url":"moved.ndjson"},
			{"type":"Location","url":"here.ndjson"}]}`
		rep := mustImport(t, db, srv.URL+"/feed/$bulk-publish", opts)
		wantMap(t, "skipped", rep.Skipped, map[string]int{"output_file_missing": 1,
			"output_on_other_host": 1, "output_redirect_to_other_host": 1})
		if rep.Sites != 1 || count(t, db, "SELECT COUNT(*) FROM sites WHERE name = 'Store here'") != 1 {
			t.Errorf("the same-origin redirect was not followed: %d sites", rep.Sites)
		}
		if _, err := smartlinks.Import(context.Background(), db, srv.URL+"/away", opts); err == nil {
			t.Errorf("a manifest redirected to another origin was imported")
		}
		if n := otherHits.Load(); n != 0 {
			t.Errorf("the other origin was asked %d times", n)
		}
		if n := count(t, db, "SELECT COUNT(*) FROM sites WHERE name = 'Store outside'"); n != 0 {
			t.Errorf("a record from the other origin was loaded")
		}
	})
}

// TestImportRefusesSymlinksOutOfFolder: nothing outside a local
// manifest's folder is read, through a linked folder, a linked file or a
// dangling link; links that stay inside the folder are followed.
func TestImportRefusesSymlinksOutOfFolder(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		opts := setup(t)
		dir := t.TempDir()
		writeFeed(t, dir, map[string]string{
			"outside/secret.ndjson": outsideLocation,
			"feed/real/l.ndjson":    strings.Replace(outsideLocation, "Store outside", "Store here", 1),
			"feed/$bulk-publish": `{"output":[
				{"type":"Location","url":"etc/secret.ndjson"},
				{"type":"Location","url":"secret.ndjson"},
				{"type":"Location","url":"dangling.ndjson"},
				{"type":"Location","url":"inside/l.ndjson"}]}`,
		})
		feed := filepath.Join(dir, "feed")
		for link, target := range map[string]string{
			"etc":             filepath.Join(dir, "outside"),
			"secret.ndjson":   filepath.Join(dir, "outside", "secret.ndjson"),
			"dangling.ndjson": filepath.Join(dir, "outside", "absent.ndjson"),
			"inside":          "real",
		} {
			if err := os.Symlink(target, filepath.Join(feed, link)); err != nil {
				t.Fatal(err)
			}
		}
		rep := mustImport(t, db, feed, opts)
		wantMap(t, "skipped", rep.Skipped, map[string]int{"output_outside_manifest_folder": 3})
		if n := count(t, db, "SELECT COUNT(*) FROM sites WHERE name = 'Store outside'"); n != 0 {
			t.Errorf("a file outside the manifest's folder was read")
		}
		if rep.Sites != 1 || count(t, db, "SELECT COUNT(*) FROM sites WHERE name = 'Store here'") != 1 {
			t.Errorf("a link inside the folder was not followed: %d sites", rep.Sites)
		}
	})
}
