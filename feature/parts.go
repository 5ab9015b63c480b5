package feature

import (
	"context"

	"github.com/google/wire"

	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/registry"
)

// Set provides SessionRedis and CacheRedis.
var Set = wire.NewSet(ProvideSessionRedis, ProvideCacheRedis)

// SessionRedis is the part for sessions: namespace "session", settings
// REDIS_SESSION_* over REDIS_*.
type SessionRedis struct{ *Client }

// CacheRedis is the part for the cache: namespace "cache", settings
// REDIS_CACHE_* over REDIS_*.
type CacheRedis struct{ *Client }

// ProvideSessionRedis opens the session part; the func releases it.
func ProvideSessionRedis(ctx context.Context, reg *registry.Registry, opts provider.Options) (SessionRedis, func(), error) {
	c, release, err := Open(ctx, reg, opts, "session")
	return SessionRedis{c}, release, err
}

// ProvideCacheRedis opens the cache part; the func releases it.
func ProvideCacheRedis(ctx context.Context, reg *registry.Registry, opts provider.Options) (CacheRedis, func(), error) {
	c, release, err := Open(ctx, reg, opts, "cache")
	return CacheRedis{c}, release, err
}
