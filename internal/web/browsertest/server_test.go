package browsertest

import (
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/httpx"
	"github.com/vaxbook/vaxbook/internal/identity"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
	"github.com/vaxbook/vaxbook/internal/web"
)

// server is the service under test, started in-process on 127.0.0.1.
type server struct {
	URL string
}

func startServer(t *testing.T) *server {
	t.Helper()
	db := storetest.Open(t, store.SQLite)
	keys := pii.TestKeys()
	clk := clock.System{}
	w, err := web.New(web.Config{Log: slog.New(slog.DiscardHandler), Clock: clk, Keys: keys,
		Identity: identity.New(db, keys, clk)})
	if err != nil {
		t.Fatal(err)
	}
	r := httpx.NewRouter()
	w.Register(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	_ = time.Second
	return &server{URL: srv.URL}
}
