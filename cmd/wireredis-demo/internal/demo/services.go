package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/registry"
)

// ErrNoSession is returned for a token that is unknown or expired.
var ErrNoSession = errors.New("no such session")

// SessionTTL is how long a session lives without a touch.
const SessionTTL = 30 * time.Minute

// Sessions keeps login sessions in the session part: tok:<token> → user.
type Sessions struct{ r feature.SessionRedis }

// NewSessions is the wire provider.
func NewSessions(r feature.SessionRedis) *Sessions { return &Sessions{r} }

// Login starts a session for user and returns its token.
func (s *Sessions) Login(ctx context.Context, user string) (string, error) {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	token := hex.EncodeToString(b)
	r := s.r
	return token, r.Do(ctx, r.B().Set().Key("tok:"+token).Value(user).Ex(SessionTTL).Build()).Error()
}

// Read returns the user of a session.
func (s *Sessions) Read(ctx context.Context, token string) (string, error) {
	user, err := s.r.Do(ctx, s.r.B().Get().Key("tok:"+token).Build()).ToString()
	if rueidis.IsRedisNil(err) {
		return "", ErrNoSession
	}
	return user, err
}

// Touch gives a session its full TTL again.
func (s *Sessions) Touch(ctx context.Context, token string) error {
	ok, err := s.r.Do(ctx, s.r.B().Expire().Key("tok:"+token).Seconds(int64(SessionTTL.Seconds())).Build()).AsBool()
	if err == nil && !ok {
		return ErrNoSession
	}
	return err
}

// Logout ends a session.
func (s *Sessions) Logout(ctx context.Context, token string) error {
	return s.r.Do(ctx, s.r.B().Del().Key("tok:"+token).Build()).Error()
}

// Cache is cache-aside over the cache part, reading through rueidis's
// server-assisted client-side cache.
type Cache struct {
	r                 feature.CacheRedis
	loads, fromRedis  atomic.Int64
	fromLocal, errors atomic.Int64
}

// NewCache is the wire provider.
func NewCache(r feature.CacheRedis) *Cache { return &Cache{r: r} }

// CacheTTL is how long a cached value lives.
const CacheTTL = 5 * time.Minute

// Get returns key's value: from the client-side cache, from Redis, or
// from load (and then stores it).
func (c *Cache) Get(ctx context.Context, key string, load func(context.Context) (string, error)) (string, error) {
	r := c.r
	res := r.DoCache(ctx, r.B().Get().Key(key).Cache(), CacheTTL)
	v, err := res.ToString()
	if rueidis.IsRedisNil(err) && res.IsCacheHit() {
		// A cached "no such key" can be stale: a SET's invalidation may
		// not have arrived yet. Ask the server before loading again.
		res = r.Do(ctx, r.B().Get().Key(key).Build())
		v, err = res.ToString()
	}
	switch {
	case err == nil:
		if res.IsCacheHit() {
			c.fromLocal.Add(1)
		} else {
			c.fromRedis.Add(1)
		}
		return v, nil
	case !rueidis.IsRedisNil(err):
		c.errors.Add(1)
		return "", err
	}
	if v, err = load(ctx); err != nil {
		return "", err
	}
	c.loads.Add(1)
	return v, r.Do(ctx, r.B().Set().Key(key).Value(v).Ex(CacheTTL).Build()).Error()
}

// CacheStats counts how Get was answered.
type CacheStats struct {
	Loads       int64 `json:"loads"`
	RedisHits   int64 `json:"redis_hits"`
	ClientCache int64 `json:"client_cache_hits"`
}

// Stats returns the counts so far.
func (c *Cache) Stats() CacheStats {
	return CacheStats{Loads: c.loads.Load(), RedisHits: c.fromRedis.Load(), ClientCache: c.fromLocal.Load()}
}

// Analytics counts events in the analytics part (its own database).
type Analytics struct{ r AnalyticsRedis }

// NewAnalytics is the wire provider.
func NewAnalytics(r AnalyticsRedis) *Analytics { return &Analytics{r} }

// Count adds one to event's counter and returns it.
func (a *Analytics) Count(ctx context.Context, event string) (int64, error) {
	return a.r.Do(ctx, a.r.B().Incr().Key("events:"+event).Build()).AsInt64()
}

// App is the whole demo application.
type App struct {
	Sessions  *Sessions
	Cache     *Cache
	Analytics *Analytics
	Registry  *registry.Registry
}

// NewApp is the wire provider.
func NewApp(s *Sessions, c *Cache, a *Analytics, reg *registry.Registry) *App {
	return &App{Sessions: s, Cache: c, Analytics: a, Registry: reg}
}
