package app

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/vaxbook/vaxbook/internal/httpapi"
	"github.com/vaxbook/vaxbook/internal/httpapi/waitroomapi"
	"github.com/vaxbook/vaxbook/internal/waitroom"
)

// WaitroomConfig is the waiting room's part of the configuration.
type WaitroomConfig struct {
	// Room configures the queue; a zero Mode keeps what an administrator
	// stored (the room is off until configured).
	Room waitroom.Config
	// NoRateLimits turns the per-address and per-person limits off (load
	// tests from one address); production keeps them on.
	NoRateLimits bool
	// TrustedProxies are the proxies whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
}

// seats adapts the search index to the room's stock source: the room
// admits only while bookable online seats remain.
type seats struct{ a *App }

func (s seats) RemainingSeats(ctx context.Context) (int, error) { return s.a.Search.Seats(ctx), nil }

// buildWaitroom builds the room (in memory, or in Redis shared by every
// node when RedisURL is set) and the rate limiter.
func (a *App) buildWaitroom(ctx context.Context) (httpapi.Module, error) {
	deps := waitroom.Deps{DB: a.DB, Stock: seats{a}, Sealer: a.cfg.Keys, Log: a.log, Clock: a.cfg.Clock,
		Registry: a.Registry}
	if a.cfg.RedisURL != "" {
		opts, err := redis.ParseURL(a.cfg.RedisURL)
		if err != nil {
			return nil, fmt.Errorf("redis URL: %w", err)
		}
		a.redis = redis.NewClient(opts)
		if err := a.redis.Ping(ctx).Err(); err != nil {
			return nil, fmt.Errorf("redis: %w", err)
		}
		deps.NewStore = waitroom.RedisStores(a.redis, "vaxbook:waitroom:")
	}
	room, err := waitroom.New(ctx, a.cfg.Waitroom.Room, deps)
	if err != nil {
		return nil, err
	}
	a.Room = room
	if !a.cfg.Waitroom.NoRateLimits {
		a.Limiter = waitroom.NewLimiter(waitroom.LimitConfig{TrustedProxies: a.cfg.Waitroom.TrustedProxies}, a.cfg.Clock)
	}
	return &waitroomapi.Module{Room: room, Auth: a.Identity, Log: a.log, Limit: a.limit,
		SecureCookies: strings.HasPrefix(a.cfg.PublicURL, "https://")}, nil
}

// limit wraps h in the rate limit of its kind, or not at all when limits
// are off.
func (a *App) limit(kind string, h http.Handler) http.Handler {
	if a.Limiter == nil {
		return h
	}
	return a.Limiter.Wrap(kind, h)
}

// startWaitroom runs admissions until ctx ends.
func (a *App) startWaitroom(ctx context.Context) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := a.Room.Run(ctx); err != nil && ctx.Err() == nil {
			a.log.ErrorContext(ctx, "waiting room stopped", "error", err.Error())
		}
	}()
}
