package counted

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/apart"
	"github.com/wireredis/wireredis/internal/rueidisx"
)

// Counters are a connection's command counts, kept with atomics: two
// adds per command (started, finished), the least that counts what is in
// flight for a graceful close. The zero value is ready to use.
type Counters struct {
	started, finished atomic.Int64
	// refused counts the starts that found the connection closing: they
	// are finished at once and were never sent.
	refused, failed atomic.Int64
	// closing is set by the last release: commands sent after it fail,
	// the ones in flight are waited for.
	closing atomic.Bool
	// The batches of joined Do calls: how many were sent, the commands in
	// them, and how many of each size (bucket i holds the batches of at
	// most BatchSizeBounds[i] commands, the last one the larger ones).
	batches, batchedCommands atomic.Int64
	batchSizes               [len(BatchSizeBounds) + 1]atomic.Int64
}

// BatchSizeBounds are the upper bounds of the buckets of
// BatchStats.Sizes, in commands per batch; a last bucket holds the
// batches larger than the last bound. A batch has two commands or more.
var BatchSizeBounds = [...]int{2, 4, 8, 16, 32, 64, 128, 256}

// BatchStats describes the batches a connection sent: concurrent Do
// calls joined into one pipeline.
type BatchStats struct {
	// Batches is the number of batches sent; Commands the commands in
	// them.
	Batches, Commands int64
	// Sizes is their histogram: Sizes[i] counts the batches of at most
	// BatchSizeBounds[i] commands and more than BatchSizeBounds[i-1]; the
	// last element the batches larger than every bound.
	Sizes [len(BatchSizeBounds) + 1]int64
}

// Batches returns the batch statistics.
func (c *Counters) Batches() BatchStats {
	s := BatchStats{Batches: c.batches.Load(), Commands: c.batchedCommands.Load()}
	for i := range s.Sizes {
		s.Sizes[i] = c.batchSizes[i].Load()
	}
	return s
}

// batched counts a batch of n commands sent.
func (c *Counters) batched(n int) {
	c.batches.Add(1)
	c.batchedCommands.Add(int64(n))
	i := 0
	for i < len(BatchSizeBounds) && n > BatchSizeBounds[i] {
		i++
	}
	c.batchSizes[i].Add(1)
}

// onPanic, deferred by a call that counted n commands in, counts them
// finished and failed when rueidis panics (a command it cannot route, say),
// and lets the panic go on to the caller: a recovered panic must not leave
// them in flight, or the graceful close would wait for them in vain.
// Every call counts its commands finished after rueidis returns, so a
// panic comes before that count, never after.
func (c *Counters) onPanic(n int) {
	if p := recover(); p != nil {
		c.done(n, n)
		panic(p)
	}
}

func (c *Counters) done(n int, errs int) {
	c.finished.Add(int64(n))
	if errs > 0 {
		c.failed.Add(int64(errs))
	}
}

// Sent is the number of commands sent.
func (c *Counters) Sent() int64 { return c.started.Load() - c.refused.Load() }

// Failed is the number of commands whose reply was an error (a nil reply
// is not one).
func (c *Counters) Failed() int64 { return c.failed.Load() }

// InFlight is the number of commands under way. finished is read first:
// every finish it counts belongs to a start made before, so the difference
// is never negative.
func (c *Counters) InFlight() int64 {
	f := c.finished.Load()
	return c.started.Load() - f
}

// Drain refuses new commands and waits until none is in flight, or until
// timeout; false means commands were still in flight. A start either comes
// before closing is set, and is then counted by InFlight until it
// finishes, or sees closing and is refused.
func (c *Counters) Drain(timeout time.Duration) bool {
	c.closing.Store(true)
	deadline := time.Now().Add(timeout)
	for c.InFlight() > 0 {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}

// ErrReleased is what a command gets once Drain has begun: its
// connection's last part has been released.
var ErrReleased = fmt.Errorf("%w: the part was released", rueidis.ErrClosing)

// Client is the shared rueidis.Client with its commands counted in n and
// its Close left to its owner (a part must not close what other parts
// share). Streams, Receive and dedicated connections are not counted.
type Client struct {
	rueidis.Client
	n     *Counters
	mode  rueidis.ClientMode
	batch *batcher // nil: every Do goes to rueidis as it comes
	// receives are the Receives of the registry's own clients, each on a
	// connection of its own (see Receive).
	receives apart.Receives
}

// New counts the commands of client in n. With batch, Do joins the
// concurrent calls that meet while other commands are in flight into
// one DoMulti (see Do).
func New(client rueidis.Client, n *Counters, batch bool) *Client {
	t := &Client{Client: client, n: n, mode: client.Mode()}
	if batch {
		t.batch = newBatcher(client, n, t.mode)
	}
	return t
}

// Mode is the mode of the client, which a rueidis client keeps for life:
// asked on every command, it is read from here.
func (t *Client) Mode() rueidis.ClientMode { return t.mode }

// start counts n commands in; false means the connection is closing and
// they must not be sent.
func (t *Client) start(n int) bool {
	t.n.started.Add(int64(n))
	if t.n.closing.Load() {
		t.n.refused.Add(int64(n))
		t.n.finished.Add(int64(n))
		return false
	}
	return true
}

func (t *Client) done(n int, errs int) { t.n.done(n, errs) }

// failed takes a pointer: a RedisResult is large, and this runs on every
// command.
func failed(r *rueidis.RedisResult) int {
	if rueidisx.Plain(r) {
		return 0
	}
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

// Do sends cmd, counted. With batching on, a command that finds many
// other Do calls under way (minLoad) joins them in one DoMulti (each
// still gets its own result, and its caller's context is honoured on its
// own); otherwise, or when it is not for a shared pipeline (blocking,
// pub/sub, a cluster command without a key), it goes to rueidis as it
// comes.
func (t *Client) Do(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	if kind := apart.Classify(&cmd); kind != apart.Other {
		if kind == apart.Unsubscription {
			return t.unsubscribe(cmd)
		}
		return rueidis.NewErrorResult(kind.Err(false))
	}
	if !t.start(1) {
		return rueidis.NewErrorResult(ErrReleased)
	}
	defer t.n.onPanic(1)
	if b := t.batch; b != nil && t.batchable(&cmd) {
		return b.do(ctx, cmd)
	}
	r := t.Client.Do(ctx, cmd)
	t.done(1, failed(&r))
	return r
}

// batchable reports whether cmd may share a pipeline with others'
// commands: not a blocking command (rueidis gives it a connection of its
// own), nor pub/sub, nor rueidis's client-side caching opt-in, nor, on a
// cluster, a command without a key (it may go to any node, and rueidis's
// DoMulti refuses to mix it with keyed commands of several slots).
func (t *Client) batchable(cmd *rueidis.Completed) bool {
	if cmd.IsBlock() || cmd.NoReply() || cmd.IsUnsub() || cmd.IsOptIn() {
		return false
	}
	return t.mode != rueidis.ClientModeCluster || cmd.Slot() != rueidisx.InitSlot
}

// DoMulti sends the commands, each counted.
func (t *Client) DoMulti(ctx context.Context, multi ...rueidis.Completed) []rueidis.RedisResult {
	unsubscribes := false
	for i := range multi {
		kind := apart.Classify(&multi[i])
		if err := kind.Err(false); err != nil {
			return refused(len(multi), i, err)
		}
		unsubscribes = unsubscribes || kind == apart.Unsubscription
	}
	if !unsubscribes {
		return t.doMulti(ctx, multi)
	}
	// The UNSUBSCRIBEs are answered here (see unsubscribe), the others
	// sent in order.
	rs := make([]rueidis.RedisResult, len(multi))
	sent := make([]rueidis.Completed, 0, len(multi))
	at := make([]int, 0, len(multi))
	for i := range multi {
		if multi[i].IsUnsub() {
			rs[i] = t.unsubscribe(multi[i])
			continue
		}
		sent = append(sent, multi[i])
		at = append(at, i)
	}
	if len(sent) > 0 {
		for j, r := range t.doMulti(ctx, sent) {
			rs[at[j]] = r
		}
	}
	return rs
}

func (t *Client) doMulti(ctx context.Context, multi []rueidis.Completed) []rueidis.RedisResult {
	if !t.start(len(multi)) {
		return ErrorResults(len(multi), ErrReleased)
	}
	defer t.n.onPanic(len(multi))
	since := rueidisx.HoldAll(multi) // see rueidisx.Hold
	rs := t.Client.DoMulti(ctx, multi...)
	rueidisx.RecycleAll(multi, rs, since)
	t.done(len(multi), failedAll(rs))
	return rs
}

// DoStream refuses a subscription, as Do does: rueidis would leave it on
// the pooled connection the stream takes. Streams are not counted.
func (t *Client) DoStream(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResultStream {
	if err := apart.Classify(&cmd).Err(false); err != nil {
		return rueidis.NewErrorResultStream(err)
	}
	return t.Client.DoStream(ctx, cmd)
}

// DoMultiStream refuses a batch that holds a subscription, as DoStream.
func (t *Client) DoMultiStream(ctx context.Context, multi ...rueidis.Completed) rueidis.MultiRedisResultStream {
	for i := range multi {
		if err := apart.Classify(&multi[i]).Err(false); err != nil {
			return rueidis.NewErrorResultStream(notSent(i, err))
		}
	}
	return t.Client.DoMultiStream(ctx, multi...)
}

// Dedicated runs fn on a dedicated connection, which refuses the commands
// no rueidis client can read the connection after (apart.Unreadable:
// MONITOR, say) and renamed Pub/Sub commands; it takes subscriptions, with
// SetPubSubHooks, as rueidis does.
func (t *Client) Dedicated(fn func(rueidis.DedicatedClient) error) error {
	return t.Client.Dedicated(func(d rueidis.DedicatedClient) error { return fn(dedicated{d}) })
}

// Dedicate is Dedicated's other form: the func gives the connection back.
func (t *Client) Dedicate() (rueidis.DedicatedClient, func()) {
	d, give := t.Client.Dedicate()
	return dedicated{d}, give
}

// dedicated is a dedicated connection of the registry's, checked as
// Dedicated says.
type dedicated struct{ rueidis.DedicatedClient }

func (d dedicated) Do(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	if err := apart.Classify(&cmd).Err(true); err != nil {
		return rueidis.NewErrorResult(err)
	}
	return d.DedicatedClient.Do(ctx, cmd)
}

func (d dedicated) DoMulti(ctx context.Context, multi ...rueidis.Completed) []rueidis.RedisResult {
	for i := range multi {
		if err := apart.Classify(&multi[i]).Err(true); err != nil {
			return refused(len(multi), i, err)
		}
	}
	// Held too: rueidis's dedicated DoMulti recycles the commands already
	// answered before it retries one (-LOADING), then sends them all
	// again, recycled (see rueidisx.Hold).
	since := rueidisx.HoldAll(multi)
	rs := d.DedicatedClient.DoMulti(ctx, multi...)
	rueidisx.RecycleAll(multi, rs, since)
	return rs
}

// refused is the results of a batch of n commands none of which is sent,
// because command at is refused with err.
func refused(n, at int, err error) []rueidis.RedisResult {
	rs := ErrorResults(n, notSent(at, err))
	rs[at] = rueidis.NewErrorResult(err)
	return rs
}

// notSent is the error of the commands of a batch not sent because
// command at is refused with err.
func notSent(at int, err error) error {
	return fmt.Errorf("wireredis: not sent: command %d of the batch was refused: %w", at+1, err)
}

// Receive runs the subscription on a connection of its own, as a part's
// does (package apart): with RESP3, rueidis would subscribe on the
// pipeline every command of the connection shares, where Redis 7.0 and
// 6.2 write messages inside other commands' replies and rueidis's reader
// goroutine panics on them. Like rueidis's, it subscribes again when the
// connection breaks.
func (t *Client) Receive(ctx context.Context, subscribe rueidis.Completed, fn func(msg rueidis.PubSubMessage)) error {
	return t.receives.Receive(ctx, t.Client, subscribe, fn)
}

// unsubscribe ends the Receives an UNSUBSCRIBE (PUNSUBSCRIBE,
// SUNSUBSCRIBE) names, and answers it, as Redis does, with success: it is
// not sent. The shared connection holds no subscription, and an answer
// there to a subscription command would make the guard stop following
// the socket's replies (respguard).
// Counted as a cache hit is: a command the part ran.
func (t *Client) unsubscribe(cmd rueidis.Completed) rueidis.RedisResult {
	if !t.start(1) {
		return rueidis.NewErrorResult(ErrReleased)
	}
	t.receives.Unsubscribe(cmd)
	t.done(1, 0)
	return rueidis.NewResult(rueidis.RedisMessage{}, nil)
}

// DoCache sends cmd through the client-side cache, counted (a cache hit
// too: it is a command the part ran).
func (t *Client) DoCache(ctx context.Context, cmd rueidis.Cacheable, ttl time.Duration) (r rueidis.RedisResult) {
	// Without a client-side cache rueidis sends it as a Do, and with one
	// inside MULTI/EXEC, where SUBSCRIBE subscribes the connection and
	// CLIENT REPLY OFF silences it. Classify's first step written out:
	// most cache hits stop at it (apart.MayBeSpecial).
	if c := (*rueidis.Completed)(&cmd); c.NoReply() || !c.IsEmpty() && apart.MayBeSpecial(c.Commands()[0]) {
		if err := apart.Classify(c).Err(false); err != nil {
			return rueidis.NewErrorResult(err)
		}
	}
	if !t.start(1) {
		return rueidis.NewErrorResult(ErrReleased)
	}
	defer t.n.onPanic(1)
	r = t.Client.DoCache(ctx, cmd, ttl)
	t.done(1, failed(&r))
	return r
}

// DoMultiCache is DoMulti through the client-side cache.
func (t *Client) DoMultiCache(ctx context.Context, multi ...rueidis.CacheableTTL) []rueidis.RedisResult {
	for i := range multi {
		if err := apart.Classify((*rueidis.Completed)(&multi[i].Cmd)).Err(false); err != nil {
			return refused(len(multi), i, err)
		}
	}
	if !t.start(len(multi)) {
		return ErrorResults(len(multi), ErrReleased)
	}
	defer t.n.onPanic(len(multi))
	since := rueidisx.HoldAllCacheable(multi) // see rueidisx.Hold
	rs := t.Client.DoMultiCache(ctx, multi...)
	rueidisx.RecycleAllCacheable(multi, rs, since)
	t.done(len(multi), failedAll(rs))
	return rs
}

// Nodes returns the nodes of the connection, counted and unclosable too.
func (t *Client) Nodes() map[string]rueidis.Client {
	nodes := t.Client.Nodes()
	out := make(map[string]rueidis.Client, len(nodes))
	for addr, n := range nodes {
		out[addr] = New(n, t.n, false)
	}
	return out
}

// Close does nothing: the connection closes when its last reference is
// released.
func (t *Client) Close() {}

// ErrorResults returns n results that fail with err: what a batch gets
// when none of it can be sent.
func ErrorResults(n int, err error) []rueidis.RedisResult {
	out := make([]rueidis.RedisResult, n)
	for i := range out {
		out[i] = rueidis.NewErrorResult(err)
	}
	return out
}
