package web

import "testing"

func TestCatalogsHaveTheSameKeys(t *testing.T) {
	t.Parallel()
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	if m := c.missing(); len(m) > 0 {
		t.Fatalf("missing translations: %v", m)
	}
}

func TestLocalPathRefusesOtherSites(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"/book/slots?zip=02118": "/book/slots?zip=02118",
		"//evil.example/":       "/",
		"https://evil.example/": "/",
		`/\evil.example`:        "/",
		"book":                  "/",
	} {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}
