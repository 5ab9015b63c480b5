package feature

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/apart"
	"github.com/wireredis/wireredis/internal/rueidisx"
	"github.com/wireredis/wireredis/internal/seam"
)

// Client is a namespaced rueidis.Client: it prefixes every key it sends
// with Namespace()+":" (or "{"+Namespace()+"}:" with WithHashTag). It is
// safe for concurrent use.
type Client struct {
	*namespace
	// shared is the connection the commands go to, as the registry gave
	// it: a lazy or background part's is not made yet (a seam.Deferred).
	shared rueidis.Client
	// mode is the connection's kind (modeUnknown, modeSingle,
	// modeCluster), once the connection is made: the rewrite depends on
	// it (cluster slots, single-node builders).
	mode atomic.Int32
	// builder is what B returns when fixed: New and on set it for a
	// connection already made, whose builder never changes; a lazy or
	// background part asks its connection each time. (Asked through the
	// registry's counted client, B cost every command two dynamic calls.)
	builder rueidis.Builder
	fixed   bool
}

// New wraps shared in the namespace. Closing the returned client does not
// close shared. It panics on a namespace that ValidNamespace refuses, and
// when the rueidis linked in is not the one its replies can be read in
// (ErrRueidisLayout): Open returns both as errors instead.
func New(shared rueidis.Client, namespace string, opts ...Option) *Client {
	if err := ValidNamespace(namespace); err != nil {
		panic(err)
	}
	if err := replyMirror(); err != nil {
		panic(err)
	}
	c := &Client{namespace: newNamespace(namespace), shared: shared}
	for _, o := range opts {
		o(c)
	}
	if c.hashTag {
		c.nodeBuilder = rueidisx.SingleNodeBuilder()
	}
	switch shared.(type) {
	case nil: // Key and StripKey still work
	case seam.Deferred:
	default:
		c.known(shared.Mode())
		c.fixBuilder()
	}
	return c
}

// fixBuilder sets B's answer for a connection already made; it runs before
// the client is shared with other goroutines.
func (c *Client) fixBuilder() {
	c.builder, c.fixed = c.shared.B(), true
	if c.hashTag && c.isCluster() {
		c.builder = c.nodeBuilder
	}
}

func newNamespace(ns string) *namespace {
	return &namespace{ns: ns, prefix: keyPrefix(ns, false), hot: newHotKeys(), recent: new(recentCommands), receives: new(apart.Receives)}
}

// on returns the part over another client (a node of shared).
func (c *Client) on(node rueidis.Client) *Client {
	n := &Client{namespace: c.namespace, shared: node}
	n.known(node.Mode())
	n.fixBuilder()
	return n
}

// Option configures a Client made by New.
type Option func(*Client)

// WithLogger logs each command the part refuses (at Warn), with its name
// and the reason; never its arguments, which may hold data.
func WithLogger(l *slog.Logger) Option { return func(c *Client) { c.log = l } }

// WithHashTag makes the prefix "{namespace}:": every key of the part then
// hashes to one cluster slot, so multi-key commands across any of its keys
// work on a cluster.
func WithHashTag() Option {
	return func(c *Client) {
		c.prefix = keyPrefix(c.ns, true)
		c.hashTag = true
	}
}

// The kinds of connection a part may be over, as its mode holds them.
// Sentinel and single connections are alike to the rewrite.
const (
	modeUnknown int32 = iota // a lazy or background part not connected yet
	modeSingle
	modeCluster
)

// resolve makes sure the connection's mode is known before a command is
// rewritten: a lazy part dials here, on its first command; a background
// part fails with ErrNotReady until its connection is made.
func (c *Client) resolve(ctx context.Context) error {
	if c.mode.Load() != modeUnknown {
		return nil
	}
	conn, err := c.shared.(seam.Deferred).Resolve(ctx)
	if err != nil {
		return err
	}
	c.known(conn.Mode())
	return nil
}

func (c *Client) known(m rueidis.ClientMode) {
	if m == rueidis.ClientModeCluster {
		c.mode.Store(modeCluster)
	} else {
		c.mode.Store(modeSingle)
	}
}

// isCluster reports whether the connection is a cluster's; a connection
// not made yet reads as a single node's.
func (c *Client) isCluster() bool { return c.mode.Load() == modeCluster }

// Namespace returns the namespace, without "{", "}" or ":".
func (c *Client) Namespace() string { return c.ns }

// Key returns k as stored on the server: Key("user:1") == "session:user:1".
func (c *Client) Key(k string) string { return c.prefix + k }

// StripKey removes the prefix from a key name a script's reply carries
// (the part takes it off the names in the replies of KEYS, BLPOP, ...
// itself). ok is false when k is not in the namespace.
func (c *Client) StripKey(k string) (key string, ok bool) { return strings.CutPrefix(k, c.prefix) }

// B returns the shared client's command builder; a hash-tag part on a
// cluster returns one that does not check cluster slots, since the keys
// its callers write hash to other slots than the prefixed keys it sends.
func (c *Client) B() rueidis.Builder {
	if c.fixed {
		return c.builder
	}
	b := c.shared.B() // a lazy part dials here
	if c.mode.Load() == modeUnknown {
		if conn, ok := c.shared.(seam.Deferred); ok {
			if made, err := conn.Resolve(context.Background()); err == nil {
				c.known(made.Mode())
			}
		}
	}
	if c.hashTag && c.isCluster() {
		return c.nodeBuilder
	}
	return b
}

// Do sends cmd with its keys prefixed, and gives the reply back with the
// prefix taken off the names it carries.
func (c *Client) Do(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	if cmd.IsEmpty() {
		return rueidis.NewErrorResult(c.empty())
	}
	if c.obs != nil {
		return c.observedDo(ctx, cmd)
	}
	if err := c.resolve(ctx); err != nil {
		return rueidis.NewErrorResult(err)
	}
	cmd, names, err := c.rewrite(ctx, cmd, alone)
	if err != nil {
		return rueidis.NewErrorResult(err)
	}
	if cmd.IsUnsub() { // the apart Receives first: Do recycles cmd
		held := c.unsubscribeApart(cmd)
		return apart.Unsubscribed(c.shared.Do(ctx, cmd), held)
	}
	if c.bounded(ctx) {
		return c.unprefix(c.boundedDo(ctx, cmd), names, false)
	}
	return c.unprefix(c.shared.Do(ctx, cmd), names, false)
}

// do is Do without an observer, for the observed path. Do and DoCache
// repeat the bodies of do and doCache rather than call them: the extra
// call cost a part's GET 12 to 15 ns of about 200 (BenchmarkDo/GET,
// BenchmarkServer/CacheHit, interleaved runs).
func (c *Client) do(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	if err := c.resolve(ctx); err != nil {
		return rueidis.NewErrorResult(err)
	}
	cmd, names, err := c.rewrite(ctx, cmd, alone)
	if err != nil {
		return rueidis.NewErrorResult(err)
	}
	if cmd.IsUnsub() { // the apart Receives first: Do recycles cmd
		held := c.unsubscribeApart(cmd)
		return apart.Unsubscribed(c.shared.Do(ctx, cmd), held)
	}
	if c.bounded(ctx) {
		return c.unprefix(c.boundedDo(ctx, cmd), names, false)
	}
	return c.unprefix(c.shared.Do(ctx, cmd), names, false)
}

// DoMulti sends the commands with their keys prefixed, in one pipeline.
// When one of them cannot be sent, none is: its result carries a
// *CommandError, the others ErrNotSent.
func (c *Client) DoMulti(ctx context.Context, multi ...rueidis.Completed) []rueidis.RedisResult {
	if i := firstEmpty(multi); i >= 0 {
		return batchFailed(len(multi), i, c.empty())
	}
	if c.obs != nil {
		return c.observedDoMulti(ctx, multi)
	}
	return c.doMulti(ctx, multi)
}

func (c *Client) doMulti(ctx context.Context, multi []rueidis.Completed) []rueidis.RedisResult {
	if err := c.resolve(ctx); err != nil {
		return errorResults(len(multi), err)
	}
	out, names, at, err := c.rewriteAll(ctx, multi, inBatch, nil)
	if err != nil {
		return batchFailed(len(multi), at, err)
	}
	var heldBy []bool // by command: an UNSUBSCRIBE of the part's Receives
	for i := range out {
		if out[i].IsUnsub() {
			if heldBy == nil {
				heldBy = make([]bool, len(out))
			}
			heldBy[i] = c.unsubscribeApart(out[i])
		}
	}
	var rs []rueidis.RedisResult
	if c.bounded(ctx) {
		rs = c.unprefixAll(c.boundedDoMulti(ctx, out), names, false, new(queuedNames))
	} else {
		rs = c.unprefixAll(c.shared.DoMulti(ctx, out...), names, false, new(queuedNames))
	}
	for i, held := range heldBy {
		rs[i] = apart.Unsubscribed(rs[i], held)
	}
	return rs
}

// DoCache is Do with client-side caching; invalidations arrive for the
// prefixed key, which is the key the cache holds.
func (c *Client) DoCache(ctx context.Context, cmd rueidis.Cacheable, ttl time.Duration) rueidis.RedisResult {
	// Asked through a pointer: a converted copy of cmd cost a cache hit a
	// stalled load (two 16-bit fields read back as one word).
	if (*rueidis.Completed)(&cmd).IsEmpty() {
		return rueidis.NewErrorResult(c.empty())
	}
	if c.obs != nil {
		return c.observedDoCache(ctx, cmd, ttl)
	}
	// doCache's body, written out again: the call cost a cache hit 4–6 %
	// (BenchmarkCacheHitPaired). Keep the two the same.
	if err := c.resolve(ctx); err != nil {
		return rueidis.NewErrorResult(err)
	}
	names := replyNames{keyed: true}
	if !c.hotKey(&cmd) {
		var err error
		if cmd, names, err = c.rewriteCacheable(ctx, cmd, nil); err != nil {
			return rueidis.NewErrorResult(err)
		}
	}
	var r rueidis.RedisResult
	bounded := c.bounded(ctx)
	if bounded {
		r = c.boundedDoCache(ctx, cmd, ttl)
	} else {
		r = c.shared.DoCache(ctx, cmd, ttl)
	}
	if names.untouched(&r) { // most replies: no call, no copy
		return r
	}
	if !bounded { // bound.failed did it for the bounded
		c.callerFailed(ctx, &r)
	}
	return c.unprefix(r, names, true)
}

// doCache is DoCache once the command is checked, for the observed path
// (DoCache writes it out again).
func (c *Client) doCache(ctx context.Context, cmd rueidis.Cacheable, ttl time.Duration) rueidis.RedisResult {
	if err := c.resolve(ctx); err != nil {
		return rueidis.NewErrorResult(err)
	}
	names := replyNames{keyed: true}
	if !c.hotKey(&cmd) {
		var err error
		if cmd, names, err = c.rewriteCacheable(ctx, cmd, nil); err != nil {
			return rueidis.NewErrorResult(err)
		}
	}
	var r rueidis.RedisResult
	bounded := c.bounded(ctx)
	if bounded {
		r = c.boundedDoCache(ctx, cmd, ttl)
	} else {
		r = c.shared.DoCache(ctx, cmd, ttl)
	}
	if names.untouched(&r) { // most replies: no call, no copy
		return r
	}
	if !bounded { // bound.failed did it for the bounded
		c.callerFailed(ctx, &r)
	}
	return c.unprefix(r, names, true)
}

// DoMultiCache is DoMulti with client-side caching.
func (c *Client) DoMultiCache(ctx context.Context, multi ...rueidis.CacheableTTL) []rueidis.RedisResult {
	for i := range multi {
		if (*rueidis.Completed)(&multi[i].Cmd).IsEmpty() {
			return batchFailed(len(multi), i, c.empty())
		}
	}
	if c.obs != nil {
		return c.observedDoMultiCache(ctx, multi)
	}
	return c.doMultiCache(ctx, multi)
}

func (c *Client) doMultiCache(ctx context.Context, multi []rueidis.CacheableTTL) []rueidis.RedisResult {
	if err := c.resolve(ctx); err != nil {
		return errorResults(len(multi), err)
	}
	out, names, at, err := c.rewriteAllCacheable(ctx, multi)
	if err != nil {
		return batchFailed(len(multi), at, err)
	}
	if c.bounded(ctx) {
		return c.unprefixAll(c.boundedDoMultiCache(ctx, out), names, true, new(queuedNames))
	}
	rs := c.shared.DoMultiCache(ctx, out...)
	for i := range rs {
		c.callerFailed(ctx, &rs[i])
	}
	return c.unprefixAll(rs, names, true, new(queuedNames))
}

// DoStream is Do with the reply streamed to an io.Writer. A streamed reply
// is a string the server wrote (rueidis streams no arrays), which names no
// key: it is not rewritten.
func (c *Client) DoStream(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResultStream {
	if cmd.IsEmpty() {
		return rueidis.NewErrorResultStream(c.empty())
	}
	if c.obs != nil {
		return c.observedDoStream(ctx, cmd)
	}
	return c.doStream(ctx, cmd)
}

func (c *Client) doStream(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResultStream {
	if err := c.resolve(ctx); err != nil {
		return rueidis.NewErrorResultStream(err)
	}
	out, _, err := c.rewrite(ctx, cmd, alone)
	if err != nil {
		return rueidis.NewErrorResultStream(err)
	}
	return c.shared.DoStream(ctx, out)
}

// DoMultiStream is DoMulti with the replies streamed.
func (c *Client) DoMultiStream(ctx context.Context, multi ...rueidis.Completed) rueidis.MultiRedisResultStream {
	if firstEmpty(multi) >= 0 {
		return rueidis.NewErrorResultStream(c.empty())
	}
	if c.obs != nil {
		return c.observedDoMultiStream(ctx, multi)
	}
	return c.doMultiStream(ctx, multi)
}

func (c *Client) doMultiStream(ctx context.Context, multi []rueidis.Completed) rueidis.MultiRedisResultStream {
	if err := c.resolve(ctx); err != nil {
		return rueidis.NewErrorResultStream(err)
	}
	out, _, _, err := c.rewriteAll(ctx, multi, inStream, nil)
	if err != nil {
		return rueidis.NewErrorResultStream(err)
	}
	return c.shared.DoMultiStream(ctx, out...)
}

// Receive subscribes to the namespaced channels and calls fn for each
// message, with the namespace taken off its channel and pattern. With
// RESP3 it runs on a connection of its own, never on the pipeline the
// parts share (see receiveApart), and subscribes again when that
// connection breaks.
func (c *Client) Receive(ctx context.Context, subscribe rueidis.Completed, fn func(msg rueidis.PubSubMessage)) error {
	if subscribe.IsEmpty() {
		return c.empty()
	}
	if c.obs != nil {
		return c.observedReceive(ctx, subscribe, fn)
	}
	return c.receive(ctx, subscribe, fn)
}

func (c *Client) receive(ctx context.Context, subscribe rueidis.Completed, fn func(msg rueidis.PubSubMessage)) error {
	if err := c.resolve(ctx); err != nil {
		return err
	}
	out, err := c.rewriteSubscribe(ctx, subscribe, forReceive)
	if err != nil {
		return err
	}
	return c.receiveApart(ctx, out, c.stripMessage(fn))
}

// Nodes returns each node of the shared client, in this namespace.
func (c *Client) Nodes() map[string]rueidis.Client {
	nodes := c.shared.Nodes()
	out := make(map[string]rueidis.Client, len(nodes))
	for addr, n := range nodes {
		if n == c.shared {
			out[addr] = c
			continue
		}
		out[addr] = c.on(n)
	}
	return out
}

// Mode returns the shared client's mode.
func (c *Client) Mode() rueidis.ClientMode { return c.shared.Mode() }

// Close does nothing: the connection is shared, and the func returned with
// the client (by Open, or wire's cleanup) releases this part's reference.
func (c *Client) Close() {}

// errorResults returns n results that fail with err.
func errorResults(n int, err error) []rueidis.RedisResult {
	out := make([]rueidis.RedisResult, n)
	for i := range out {
		out[i] = rueidis.NewErrorResult(err)
	}
	return out
}
