package registry

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"
)

// counters are a connection's command counts, kept with atomics.
type counters struct {
	sent, failed, inFlight atomic.Int64
}

// tracked is the client Acquire hands out for a connection: the shared
// rueidis.Client, with its commands counted and its Close left to the
// registry (a part must not close what other parts share).
type tracked struct {
	rueidis.Client
	n *counters
}

func (t *tracked) start(n int) { t.n.sent.Add(int64(n)); t.n.inFlight.Add(int64(n)) }

func (t *tracked) done(n int, errs int) {
	t.n.inFlight.Add(-int64(n))
	if errs > 0 {
		t.n.failed.Add(int64(errs))
	}
}

func failed(r rueidis.RedisResult) int {
	if err := r.Error(); err != nil && !rueidis.IsRedisNil(err) {
		return 1
	}
	return 0
}

func failedAll(rs []rueidis.RedisResult) int {
	n := 0
	for _, r := range rs {
		n += failed(r)
	}
	return n
}

func (t *tracked) Do(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	t.start(1)
	r := t.Client.Do(ctx, cmd)
	t.done(1, failed(r))
	return r
}

func (t *tracked) DoMulti(ctx context.Context, multi ...rueidis.Completed) []rueidis.RedisResult {
	t.start(len(multi))
	rs := t.Client.DoMulti(ctx, multi...)
	t.done(len(multi), failedAll(rs))
	return rs
}

func (t *tracked) DoCache(ctx context.Context, cmd rueidis.Cacheable, ttl time.Duration) rueidis.RedisResult {
	t.start(1)
	r := t.Client.DoCache(ctx, cmd, ttl)
	t.done(1, failed(r))
	return r
}

func (t *tracked) DoMultiCache(ctx context.Context, multi ...rueidis.CacheableTTL) []rueidis.RedisResult {
	t.start(len(multi))
	rs := t.Client.DoMultiCache(ctx, multi...)
	t.done(len(multi), failedAll(rs))
	return rs
}

// Nodes returns the nodes of the connection, tracked and unclosable too.
func (t *tracked) Nodes() map[string]rueidis.Client {
	nodes := t.Client.Nodes()
	out := make(map[string]rueidis.Client, len(nodes))
	for addr, n := range nodes {
		out[addr] = &tracked{Client: n, n: t.n}
	}
	return out
}

// Close does nothing: the connection closes when its last reference is
// released.
func (t *tracked) Close() {}

// drain waits until no command is in flight, or until timeout.
func (c *counters) drain(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for c.inFlight.Load() > 0 {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}
