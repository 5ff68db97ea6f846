package browsertest

import (
	"strings"
	"testing"
)

func TestStartPageInBothLanguages(t *testing.T) {

	srv := startServer(t)
	for _, js := range []bool{true, false} {
		b := newTab(t, srv.URL, js)
		b.open("/")
		b.expect("start")
		b.click(`a[hreflang="es"]`)
		b.expect("start")
		if h := b.text("h1"); !strings.Contains(h, "Reserve") {
			t.Errorf("js=%v: heading after the switch is %q", js, h)
		}
	}
}

// TestAxeScanCatches proves the scan is live: a page with an unlabelled
// field and an image without text fails it.
func TestAxeScanCatches(t *testing.T) {

	b := newTab(t, "", true)
	b.open(`data:text/html,<html><body><main><img src="x.png"><input type="text"></main></body></html>`)
	vs := b.violations("broken")
	ids := map[string]bool{}
	for _, v := range vs {
		ids[v.ID] = true
	}
	if !ids["image-alt"] || !ids["label"] {
		t.Fatalf("axe missed the broken page's violations: %+v", vs)
	}
}
