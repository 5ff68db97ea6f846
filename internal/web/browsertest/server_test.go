package browsertest

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/app"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
)

// server is the whole service under test, started in-process on
// 127.0.0.1 with the demo data on a fresh SQLite file.
type server struct {
	*app.App
	URL string
}

func startServer(t *testing.T) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := app.Config{DatabaseURL: storetest.URL(t, store.SQLite), Keys: pii.TestKeys(),
		PublicURL: "http://" + ln.Addr().String(), SweepInterval: time.Second,
		Demo: &app.Demo{Date: time.Now().AddDate(0, 0, 1).Format("2006-01-02")}}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	a.Start(ctx)
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: a.Handler}}
	srv.Start()
	t.Cleanup(func() { srv.Close(); cancel(); a.Close() })
	wctx, done := context.WithTimeout(ctx, time.Minute)
	defer done()
	if err := a.WaitReady(wctx); err != nil {
		t.Fatal(err)
	}
	for !a.Search.Ready() {
		time.Sleep(20 * time.Millisecond)
	}
	return &server{App: a, URL: srv.URL}
}
