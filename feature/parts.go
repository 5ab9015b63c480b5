package feature

import (
	"context"

	"github.com/google/wire"

	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/registry"
)

// Set provides SessionRedis and CacheRedis.
var Set = wire.NewSet(ProvideSessionRedis, ProvideCacheRedis)

// The library's parts, declared (Declare) so that the registry knows
// them from the start.
var (
	sessionPart = Declare("Session", Part{Namespace: "session"})
	cachePart   = Declare("Cache", Part{Namespace: "cache"})
)

// SessionRedis is the part for sessions: namespace "session", settings
// REDIS_SESSION_* over REDIS_*.
type SessionRedis struct{ *Client }

// CacheRedis is the part for the cache: namespace "cache", settings
// REDIS_CACHE_* over REDIS_*.
type CacheRedis struct{ *Client }

// ProvideSessionRedis opens the session part; the func releases it.
func ProvideSessionRedis(ctx context.Context, reg *registry.Registry, opts provider.Options) (SessionRedis, func(), error) {
	c, release, err := sessionPart.Open(ctx, reg, opts)
	return SessionRedis{c}, release, err
}

// ProvideCacheRedis opens the cache part; the func releases it.
func ProvideCacheRedis(ctx context.Context, reg *registry.Registry, opts provider.Options) (CacheRedis, func(), error) {
	c, release, err := cachePart.Open(ctx, reg, opts)
	return CacheRedis{c}, release, err
}
