package registry

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"
)

// counters are a connection's command counts, kept with atomics: two
// adds per command (started, finished), the least that counts what is in
// flight for a graceful close.
type counters struct {
	started, finished atomic.Int64
	// refused counts the starts that found the connection closing: they
	// are finished at once and were never sent.
	refused, failed atomic.Int64
	// closing is set by the last release: commands sent after it fail,
	// the ones in flight are waited for.
	closing atomic.Bool
}

// sent is the number of commands sent.
func (c *counters) sent() int64 { return c.started.Load() - c.refused.Load() }

// inFlight is the number of commands under way. finished is read first:
// every finish it counts belongs to a start made before, so the difference
// is never negative.
func (c *counters) inFlight() int64 {
	f := c.finished.Load()
	return c.started.Load() - f
}

// errReleased is what a command gets once its connection's last part has
// been released.
var errReleased = fmt.Errorf("%w: the part was released", rueidis.ErrClosing)

// tracked is the client Acquire hands out for a connection: the shared
// rueidis.Client, with its commands counted and its Close left to the
// registry (a part must not close what other parts share).
type tracked struct {
	rueidis.Client
	n *counters
}

// start counts n commands in; false means the connection is closing and
// they must not be sent.
func (t *tracked) start(n int) bool {
	t.n.started.Add(int64(n))
	if t.n.closing.Load() {
		t.n.refused.Add(int64(n))
		t.n.finished.Add(int64(n))
		return false
	}
	return true
}

func (t *tracked) done(n int, errs int) {
	t.n.finished.Add(int64(n))
	if errs > 0 {
		t.n.failed.Add(int64(errs))
	}
}

// failed takes a pointer: a RedisResult is large, and this runs on every
// command.
func failed(r *rueidis.RedisResult) int {
	if err := r.Error(); err != nil && !rueidis.IsRedisNil(err) {
		return 1
	}
	return 0
}

func failedAll(rs []rueidis.RedisResult) int {
	n := 0
	for i := range rs {
		n += failed(&rs[i])
	}
	return n
}

func (t *tracked) Do(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	if !t.start(1) {
		return rueidis.NewErrorResult(errReleased)
	}
	r := t.Client.Do(ctx, cmd)
	t.done(1, failed(&r))
	return r
}

func (t *tracked) DoMulti(ctx context.Context, multi ...rueidis.Completed) []rueidis.RedisResult {
	if !t.start(len(multi)) {
		return errorResults(len(multi), errReleased)
	}
	rs := t.Client.DoMulti(ctx, multi...)
	t.done(len(multi), failedAll(rs))
	return rs
}

func (t *tracked) DoCache(ctx context.Context, cmd rueidis.Cacheable, ttl time.Duration) rueidis.RedisResult {
	if !t.start(1) {
		return rueidis.NewErrorResult(errReleased)
	}
	r := t.Client.DoCache(ctx, cmd, ttl)
	t.done(1, failed(&r))
	return r
}

func (t *tracked) DoMultiCache(ctx context.Context, multi ...rueidis.CacheableTTL) []rueidis.RedisResult {
	if !t.start(len(multi)) {
		return errorResults(len(multi), errReleased)
	}
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

// drain refuses new commands and waits until none is in flight, or until
// timeout. A start either comes before closing is set, and is then counted
// by inFlight until it finishes, or sees closing and is refused.
func (c *counters) drain(timeout time.Duration) bool {
	c.closing.Store(true)
	deadline := time.Now().Add(timeout)
	for c.inFlight() > 0 {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}
