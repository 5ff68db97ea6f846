package browsertest

import (
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/app/apptest"
)

// server is the whole service under test, started in-process on
// 127.0.0.1 with the demo data on a fresh SQLite file, rate limits on.
type server = apptest.Service

func startServer(t *testing.T) *server {
	t.Helper()
	srv := apptest.Start(t, apptest.Options{RateLimits: true})
	for !srv.Search.Ready() {
		time.Sleep(20 * time.Millisecond)
	}
	return srv
}
