package feature

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/counted"
	"github.com/wireredis/wireredis/internal/keyspec"
	"github.com/wireredis/wireredis/internal/rueidisx"
)

// Client is a namespaced rueidis.Client: it prefixes every key it sends
// with Namespace()+":" (or "{"+Namespace()+"}:" with WithHashTag). It is
// safe for concurrent use.
type Client struct {
	shared rueidis.Client
	// conn is the registry's counted connection under shared, once known:
	// shared itself, or what pending resolved to. Its mode never changes,
	// and the part calls it without an interface dispatch.
	conn    atomic.Pointer[counted.Client]
	pending counted.Pending // a lazy or background part's, until resolved
	ns      string
	prefix  string
	hashTag bool
	// nodeBuilder is a single-node builder, for B() of a hash-tag part on
	// a cluster.
	nodeBuilder rueidis.Builder
	learner     *CommandLearner // nil: commands missing from the table are refused
	log         *slog.Logger    // refused commands; nil: not logged
	hot         *hotKeys        // for DoCache
	recent      *recentCommands // table entries of the commands sent last
}

// New wraps shared in the namespace. Closing the returned client does not
// close shared. It panics on a namespace that ValidNamespace refuses:
// Open returns that as an error instead.
func New(shared rueidis.Client, namespace string, opts ...Option) *Client {
	if err := ValidNamespace(namespace); err != nil {
		panic(err)
	}
	c := &Client{ns: namespace, prefix: keyPrefix(namespace, false), hot: newHotKeys(), recent: new(recentCommands)}
	c.attach(shared)
	for _, o := range opts {
		o(c)
	}
	if c.hashTag {
		c.nodeBuilder = rueidisx.SingleNodeBuilder()
	}
	return c
}

// ValidNamespace reports why namespace cannot name a part, or nil. An
// empty namespace would leave keys unprefixed; Redis reads * ? [ ] and \
// in the patterns the prefix goes into (KEYS, SCAN MATCH, SORT BY and GET
// substitute at the first *), and { } as a hash tag; white space and
// control characters have no place in a key prefix.
func ValidNamespace(namespace string) error {
	fail := func(why string) error {
		return fmt.Errorf("wireredis: %w %q: %s", ErrNamespace, namespace, why)
	}
	if namespace == "" {
		return fail("it is empty, which would leave keys unprefixed")
	}
	if strings.HasPrefix(namespace, "__") {
		// __keyspace@0__ would make every channel of the part a keyspace
		// notification of the whole database.
		return fail("Redis names its own channels with a leading __ (__keyspace@, __keyevent@, __redis__)")
	}
	for _, r := range namespace {
		switch {
		case strings.ContainsRune(`*?[]\`, r):
			return fail("Redis reads " + string(r) + " in the patterns the prefix goes into")
		case r == '{' || r == '}':
			return fail("Redis reads { } as a hash tag; use WithHashTag (Part.HashTag) to give the part one")
		case unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError:
			return fail("it holds white space, a control character or invalid UTF-8")
		}
	}
	return nil
}

// attach makes shared the client the commands go to.
func (c *Client) attach(shared rueidis.Client) {
	c.shared = shared
	switch s := shared.(type) {
	case *counted.Client:
		c.conn.Store(s)
	case counted.Pending:
		c.pending = s
	}
}

// on returns the part over another client (a node of shared): the same
// namespace, options and memories.
func (c *Client) on(shared rueidis.Client) *Client {
	node := &Client{
		ns: c.ns, prefix: c.prefix, hashTag: c.hashTag, nodeBuilder: c.nodeBuilder,
		learner: c.learner, log: c.log, hot: c.hot, recent: c.recent,
	}
	node.attach(shared)
	return node
}

// resolve returns the counted connection the commands go to: nil, without
// an error, when shared is not the registry's. A lazy part dials here, on
// its first command; a background part fails with ErrNotReady until its
// connection is made. The rewrite asks the mode of the connection, so it
// must come after this.
func (c *Client) resolve(ctx context.Context) (*counted.Client, error) {
	if t := c.conn.Load(); t != nil || c.pending == nil {
		return t, nil
	}
	t, err := c.pending.Resolve(ctx)
	if err != nil {
		return nil, err
	}
	c.conn.Store(t)
	return t, nil
}

// isCluster reports whether the shared client is a cluster client.
func (c *Client) isCluster() bool {
	if t := c.conn.Load(); t != nil {
		return t.Mode() == rueidis.ClientModeCluster
	}
	return c.shared.Mode() == rueidis.ClientModeCluster
}

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

// keyPrefix is what a part puts in front of its keys and channels.
func keyPrefix(namespace string, hashTag bool) string {
	if hashTag {
		return "{" + namespace + "}:"
	}
	return namespace + ":"
}

// Namespace returns the namespace, without "{", "}" or ":".
func (c *Client) Namespace() string { return c.ns }

// Key returns k as stored on the server: Key("user:1") == "session:user:1".
func (c *Client) Key(k string) string { return c.prefix + k }

// StripKey removes the prefix from a key name found in a reply (KEYS, SCAN,
// BLPOP, ...). ok is false when k is not in the namespace.
func (c *Client) StripKey(k string) (key string, ok bool) { return strings.CutPrefix(k, c.prefix) }

// B returns the shared client's command builder; a hash-tag part on a
// cluster returns one that does not check cluster slots, since the keys
// its callers write hash to other slots than the prefixed keys it sends.
func (c *Client) B() rueidis.Builder {
	b := c.shared.B() // a lazy part dials here: its mode is known after
	if c.hashTag && c.isCluster() {
		return c.nodeBuilder
	}
	return b
}

// Do sends cmd with its keys prefixed.
func (c *Client) Do(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	var names replyNames
	t, err := c.resolve(ctx)
	if err == nil {
		cmd, names, err = c.rewrite(ctx, cmd, alone)
	}
	if err != nil {
		return rueidis.NewErrorResult(err)
	}
	if t != nil {
		return c.unprefix(t.Do(ctx, cmd), names, false)
	}
	return c.unprefix(c.shared.Do(ctx, cmd), names, false)
}

// DoMulti sends the commands with their keys prefixed, in one pipeline.
// When one of them cannot be sent, none is: its result carries a
// *CommandError, the others ErrNotSent.
func (c *Client) DoMulti(ctx context.Context, multi ...rueidis.Completed) []rueidis.RedisResult {
	t, err := c.resolve(ctx)
	if err != nil {
		return counted.ErrorResults(len(multi), err)
	}
	out, names, at, err := c.rewriteAll(ctx, multi, inBatch, nil)
	if err != nil {
		return batchFailed(len(multi), at, err)
	}
	if t != nil {
		return c.unprefixAll(t.DoMulti(ctx, out...), names, false)
	}
	return c.unprefixAll(c.shared.DoMulti(ctx, out...), names, false)
}

// DoCache is Do with client-side caching; invalidations arrive for the
// prefixed key, which is the key the cache holds.
func (c *Client) DoCache(ctx context.Context, cmd rueidis.Cacheable, ttl time.Duration) rueidis.RedisResult {
	var names replyNames
	t, err := c.resolve(ctx)
	if err == nil {
		cmd, names, err = c.rewriteCacheable(ctx, cmd, nil)
	}
	if err != nil {
		return rueidis.NewErrorResult(err)
	}
	if t != nil {
		return c.unprefix(t.DoCache(ctx, cmd, ttl), names, true)
	}
	return c.unprefix(c.shared.DoCache(ctx, cmd, ttl), names, true)
}

// DoMultiCache is DoMulti with client-side caching.
func (c *Client) DoMultiCache(ctx context.Context, multi ...rueidis.CacheableTTL) []rueidis.RedisResult {
	t, err := c.resolve(ctx)
	if err != nil {
		return counted.ErrorResults(len(multi), err)
	}
	out, names, at, err := c.rewriteAllCacheable(ctx, multi)
	if err != nil {
		return batchFailed(len(multi), at, err)
	}
	if t != nil {
		return c.unprefixAll(t.DoMultiCache(ctx, out...), names, true)
	}
	return c.unprefixAll(c.shared.DoMultiCache(ctx, out...), names, true)
}

// DoStream is Do with the reply streamed to an io.Writer.
func (c *Client) DoStream(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResultStream {
	if _, err := c.resolve(ctx); err != nil {
		return rueidis.NewErrorResultStream(err)
	}
	// A streamed reply is a string the server wrote (rueidis streams no
	// arrays), which names no key: it is not rewritten.
	out, _, err := c.rewrite(ctx, cmd, alone)
	if err != nil {
		return rueidis.NewErrorResultStream(err)
	}
	return c.shared.DoStream(ctx, out)
}

// DoMultiStream is DoMulti with the replies streamed.
func (c *Client) DoMultiStream(ctx context.Context, multi ...rueidis.Completed) rueidis.MultiRedisResultStream {
	if _, err := c.resolve(ctx); err != nil {
		return rueidis.NewErrorResultStream(err)
	}
	out, _, _, err := c.rewriteAll(ctx, multi, inStream, nil)
	if err != nil {
		return rueidis.NewErrorResultStream(err)
	}
	return c.shared.DoMultiStream(ctx, out...)
}

// Receive subscribes to the namespaced channels and calls fn for each
// message, with the namespace taken off its channel and pattern.
func (c *Client) Receive(ctx context.Context, subscribe rueidis.Completed, fn func(msg rueidis.PubSubMessage)) error {
	if _, err := c.resolve(ctx); err != nil {
		return err
	}
	out, err := c.rewriteSubscribe(ctx, subscribe, alone)
	if err != nil {
		return err
	}
	return c.shared.Receive(ctx, out, c.stripMessage(fn))
}

// Dedicated runs fn with a connection of its own (for WATCH/MULTI/EXEC);
// the DedicatedClient fn gets is namespaced too.
//
// A transaction fn leaves open (MULTI without EXEC, WATCH without EXEC or
// UNWATCH) is closed before rueidis takes the connection back.
func (c *Client) Dedicated(fn func(rueidis.DedicatedClient) error) error {
	return c.shared.Dedicated(func(d rueidis.DedicatedClient) error {
		dd := &dedicated{d: d, c: c}
		defer dd.state.txn.close(d)
		return fn(dd)
	})
}

// Dedicate is Dedicated without a callback: call cancel to give the
// connection back.
func (c *Client) Dedicate() (rueidis.DedicatedClient, func()) {
	d, cancel := c.shared.Dedicate()
	dd := &dedicated{d: d, c: c}
	return dd, func() {
		dd.state.txn.close(d)
		cancel()
	}
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

// dedicated is a namespaced rueidis.DedicatedClient. Like rueidis's, it
// is for one goroutine at a time.
type dedicated struct {
	d     rueidis.DedicatedClient
	c     *Client
	state dedicatedState
}

// B is the part's builder: a hash-tag part's callers write keys of other
// slots than the prefixed keys it sends.
func (d *dedicated) B() rueidis.Builder { return d.c.B() }

// Do sends cmd as a batch of one: its keys are written only once every
// check passed, the slot one included.
func (d *dedicated) Do(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	out, names, _, err := d.c.rewriteAll(ctx, []rueidis.Completed{cmd}, onDedicated, &d.state)
	if err != nil {
		return rueidis.NewErrorResult(err)
	}
	return d.c.unprefix(d.d.Do(ctx, out[0]), names[0], false)
}

func (d *dedicated) DoMulti(ctx context.Context, multi ...rueidis.Completed) []rueidis.RedisResult {
	out, names, at, err := d.c.rewriteAll(ctx, multi, onDedicated, &d.state)
	if err != nil {
		return batchFailed(len(multi), at, err)
	}
	return d.c.unprefixAll(d.d.DoMulti(ctx, out...), names, false)
}

func (d *dedicated) Receive(ctx context.Context, subscribe rueidis.Completed, fn func(msg rueidis.PubSubMessage)) error {
	state := d.state
	err := state.txn.next(d.c, commandName(subscribe), len(subscribe.Commands()), false)
	if err == nil {
		subscribe, err = d.c.rewriteSubscribe(ctx, subscribe, onDedicated)
	}
	if err == nil {
		one := []rueidis.Completed{subscribe}
		err = d.c.dedicatedSlot(one, &state)
		subscribe = one[0]
	}
	if err != nil {
		return err
	}
	d.state = state
	return d.d.Receive(ctx, subscribe, d.c.stripMessage(fn))
}

// commandName is the name of a command, in upper case.
func commandName(cmd rueidis.Completed) string {
	if args := cmd.Commands(); len(args) > 0 {
		return keyspec.Upper(args[0])
	}
	return ""
}

// SetPubSubHooks installs hooks that get channels and patterns with the
// namespace taken off.
func (d *dedicated) SetPubSubHooks(hooks rueidis.PubSubHooks) <-chan error {
	return d.d.SetPubSubHooks(d.c.stripHooks(hooks))
}

func (d *dedicated) SetOnInvalidations(fn func([]rueidis.RedisMessage)) <-chan error {
	return d.d.SetOnInvalidations(fn)
}

// Close closes the dedicated connection only, as rueidis does; the shared
// client stays open.
func (d *dedicated) Close() { d.d.Close() }
