package feature

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/nodeslot"
)

// Client is a namespaced rueidis.Client: it prefixes every key it sends
// with Namespace()+":" (or "{"+Namespace()+"}:" with WithHashTag). It is
// safe for concurrent use.
type Client struct {
	shared rueidis.Client
	ns     string
	prefix string
	// globPrefix is prefix with its glob characters escaped, for the
	// patterns of KEYS and SCAN MATCH.
	globPrefix string
	learner    *CommandLearner  // nil: commands missing from the table are refused
	builder    *rueidis.Builder // for B(), when not the shared client's
	log        *slog.Logger     // refused commands; nil: not logged
	hot        *hotKeys         // for DoCache
	recent     *recentCommands  // table entries of the commands sent last
}

// New wraps shared in the namespace. Closing the returned client does not
// close shared. It panics on an empty namespace, which would leave keys
// unprefixed.
func New(shared rueidis.Client, namespace string, opts ...Option) *Client {
	if namespace == "" {
		panic("wireredis: feature.New needs a namespace")
	}
	c := &Client{shared: shared, ns: namespace, prefix: namespace + ":", hot: newHotKeys(), recent: new(recentCommands)}
	for _, o := range opts {
		o(c)
	}
	c.globPrefix = escapeGlob(c.prefix)
	return c
}

// WithLogger logs each command the part refuses (at Warn), with its name
// and the reason; never its arguments, which may hold data.
func WithLogger(l *slog.Logger) Option { return func(c *Client) { c.log = l } }

// WithHashTag makes the prefix "{namespace}:": every key of the part then
// hashes to one cluster slot, so multi-key commands across any of its keys
// work on a cluster.
func WithHashTag() Option {
	return func(c *Client) {
		c.prefix = "{" + c.ns + "}:"
		if c.shared != nil && c.shared.Mode() == rueidis.ClientModeCluster {
			b := nodeslot.Builder()
			c.builder = &b
		}
	}
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
	if c.builder != nil {
		return *c.builder
	}
	return c.shared.B()
}

// Do sends cmd with its keys prefixed.
func (c *Client) Do(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	out, err := c.rewrite(ctx, cmd)
	if err != nil {
		return rueidis.NewErrorResult(err)
	}
	return c.shared.Do(ctx, out)
}

// DoMulti sends the commands with their keys prefixed, in one pipeline.
// When one of them cannot be sent, none is: its result carries a
// *CommandError, the others ErrNotSent.
func (c *Client) DoMulti(ctx context.Context, multi ...rueidis.Completed) []rueidis.RedisResult {
	out, at, err := c.rewriteAll(ctx, multi)
	if err != nil {
		return batchFailed(len(multi), at, err)
	}
	return c.shared.DoMulti(ctx, out...)
}

// DoCache is Do with client-side caching; invalidations arrive for the
// prefixed key, which is the key the cache holds.
func (c *Client) DoCache(ctx context.Context, cmd rueidis.Cacheable, ttl time.Duration) rueidis.RedisResult {
	out, err := c.rewriteCacheable(ctx, cmd, nil)
	if err != nil {
		return rueidis.NewErrorResult(err)
	}
	return c.shared.DoCache(ctx, out, ttl)
}

// DoMultiCache is DoMulti with client-side caching.
func (c *Client) DoMultiCache(ctx context.Context, multi ...rueidis.CacheableTTL) []rueidis.RedisResult {
	out := make([]rueidis.CacheableTTL, len(multi))
	later := make(pendingKeys, 0, len(multi))
	for i, m := range multi {
		cmd, err := c.rewriteCacheable(ctx, m.Cmd, &later)
		if err != nil {
			return batchFailed(len(multi), i, err)
		}
		out[i] = rueidis.CacheableTTL{Cmd: cmd, TTL: m.TTL}
	}
	c.writePending(later)
	return c.shared.DoMultiCache(ctx, out...)
}

// DoStream is Do with the reply streamed to an io.Writer.
func (c *Client) DoStream(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResultStream {
	out, err := c.rewrite(ctx, cmd)
	if err != nil {
		return rueidis.NewErrorResultStream(err)
	}
	return c.shared.DoStream(ctx, out)
}

// DoMultiStream is DoMulti with the replies streamed.
func (c *Client) DoMultiStream(ctx context.Context, multi ...rueidis.Completed) rueidis.MultiRedisResultStream {
	out, _, err := c.rewriteAll(ctx, multi)
	if err != nil {
		return rueidis.NewErrorResultStream(err)
	}
	return c.shared.DoMultiStream(ctx, out...)
}

// Receive subscribes to the namespaced channels and calls fn for each
// message, with the namespace taken off its channel and pattern.
func (c *Client) Receive(ctx context.Context, subscribe rueidis.Completed, fn func(msg rueidis.PubSubMessage)) error {
	out, err := c.rewrite(ctx, subscribe)
	if err != nil {
		return err
	}
	return c.shared.Receive(ctx, out, c.stripMessage(fn))
}

// Dedicated runs fn with a connection of its own (for WATCH/MULTI/EXEC);
// the DedicatedClient fn gets is namespaced too.
func (c *Client) Dedicated(fn func(rueidis.DedicatedClient) error) error {
	return c.shared.Dedicated(func(d rueidis.DedicatedClient) error {
		return fn(&dedicated{d: d, c: c})
	})
}

// Dedicate is Dedicated without a callback: call cancel to give the
// connection back.
func (c *Client) Dedicate() (rueidis.DedicatedClient, func()) {
	d, cancel := c.shared.Dedicate()
	return &dedicated{d: d, c: c}, cancel
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
		node := *c
		node.shared = n
		out[addr] = &node
	}
	return out
}

// Mode returns the shared client's mode.
func (c *Client) Mode() rueidis.ClientMode { return c.shared.Mode() }

// Close does nothing: the connection is shared, and the func returned with
// the client (by Open, or wire's cleanup) releases this part's reference.
func (c *Client) Close() {}

// dedicated is a namespaced rueidis.DedicatedClient.
type dedicated struct {
	d rueidis.DedicatedClient
	c *Client
}

func (d *dedicated) B() rueidis.Builder { return d.d.B() }

func (d *dedicated) Do(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	out, err := d.c.rewrite(ctx, cmd)
	if err != nil {
		return rueidis.NewErrorResult(err)
	}
	return d.d.Do(ctx, out)
}

func (d *dedicated) DoMulti(ctx context.Context, multi ...rueidis.Completed) []rueidis.RedisResult {
	out, at, err := d.c.rewriteAll(ctx, multi)
	if err != nil {
		return batchFailed(len(multi), at, err)
	}
	return d.d.DoMulti(ctx, out...)
}

func (d *dedicated) Receive(ctx context.Context, subscribe rueidis.Completed, fn func(msg rueidis.PubSubMessage)) error {
	out, err := d.c.rewrite(ctx, subscribe)
	if err != nil {
		return err
	}
	return d.d.Receive(ctx, out, d.c.stripMessage(fn))
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
