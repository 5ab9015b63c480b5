package registry

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/google/wire"
	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/provider"
)

// ErrClosed is returned by Acquire after Close.
var ErrClosed = errors.New("wireredis: registry is closed")

// Set provides a *Registry that logs to slog.Default(). Use New directly
// (wire.NewSet(registry.New)) to inject a *slog.Logger of your own.
var Set = wire.NewSet(NewDefault)

// Registry owns the shared connections. It is safe for concurrent use.
type Registry struct {
	log *slog.Logger

	mu     sync.Mutex
	conns  map[string]*conn // by fingerprint
	closed bool
}

// conn is one shared rueidis.Client, or one being dialled (client nil,
// ready open).
type conn struct {
	fingerprint string
	addr        string
	db          int

	ready  chan struct{} // closed when the dial is over
	err    error         // dial result, set before ready closes
	client rueidis.Client
	refs   int
	users  map[string]int // feature name → references
	gone   bool           // closed: later releases do nothing
	values map[any]any    // see Registry.Value
}

// ConnStats describes one open connection.
type ConnStats struct {
	Fingerprint string
	// Addr is host:port or unix:path, without credentials.
	Addr string
	DB   int
	// Refs counts the references not yet released.
	Refs int
	// Namespaces lists the features holding references, sorted.
	Namespaces []string
}

// New returns an empty Registry and a func that closes it. A nil logger
// means slog.Default().
func New(logger *slog.Logger) (*Registry, func()) {
	if logger == nil {
		logger = slog.Default()
	}
	r := &Registry{log: logger, conns: make(map[string]*conn)}
	return r, func() { _ = r.Close() }
}

// NewDefault is New(nil), for wire sets that have no *slog.Logger.
func NewDefault() (*Registry, func()) { return New(nil) }

// Acquire returns the shared client for opts, dialling it when no part
// holds it yet, and a func that releases this reference; calling the func
// more than once is harmless.
func (r *Registry) Acquire(ctx context.Context, opts provider.Options) (rueidis.Client, func(), error) {
	co, err := opts.ClientOption()
	if err != nil {
		return nil, nil, err
	}
	fp, feature := opts.Fingerprint(), opts.Feature()
	r.mu.Lock()
	for {
		if r.closed {
			r.mu.Unlock()
			return nil, nil, ErrClosed
		}
		c := r.conns[fp]
		if c == nil {
			break
		}
		if c.client != nil {
			client := c.take(feature)
			r.mu.Unlock()
			return client, r.releaser(c, feature), nil
		}
		// Another Acquire is dialling this identity: share its result.
		r.mu.Unlock()
		select {
		case <-c.ready:
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("wireredis: waiting for the connection to %s: %w", c.addr, ctx.Err())
		}
		if c.err != nil {
			return nil, nil, c.err
		}
		r.mu.Lock()
	}

	c := &conn{fingerprint: fp, addr: opts.Addr(), db: opts.DB, ready: make(chan struct{}), users: make(map[string]int)}
	r.conns[fp] = c
	r.mu.Unlock()

	client, err := dial(ctx, co, opts)

	r.mu.Lock()
	if err == nil && r.closed {
		client.Close()
		err = ErrClosed
	}
	if err != nil {
		delete(r.conns, fp)
		c.err = err
		close(c.ready)
		r.mu.Unlock()
		return nil, nil, err
	}
	c.client = client
	c.take(feature)
	close(c.ready)
	r.mu.Unlock()
	r.log.Info("wireredis: connection opened", "addr", c.addr, "db", c.db, "fingerprint", fp, "feature", feature)
	return client, r.releaser(c, feature), nil
}

// take adds a reference; the caller holds r.mu.
func (c *conn) take(feature string) rueidis.Client {
	c.refs++
	c.users[feature]++
	return c.client
}

func (r *Registry) releaser(c *conn, feature string) func() {
	var once sync.Once
	return func() { once.Do(func() { r.release(c, feature) }) }
}

func (r *Registry) release(c *conn, feature string) {
	r.mu.Lock()
	if c.gone {
		r.mu.Unlock()
		return
	}
	c.refs--
	if c.users[feature]--; c.users[feature] == 0 {
		delete(c.users, feature)
	}
	refs := c.refs
	if refs > 0 {
		r.mu.Unlock()
		r.log.Debug("wireredis: reference released", "addr", c.addr, "db", c.db, "feature", feature, "refs", refs)
		return
	}
	c.gone = true
	delete(r.conns, c.fingerprint)
	r.mu.Unlock()
	c.client.Close()
	r.log.Info("wireredis: connection closed", "addr", c.addr, "db", c.db, "fingerprint", c.fingerprint, "reason", "last reference released")
}

// Value returns the value stored under key for the open connection
// client, made by create on first use. It lives as long as the connection:
// state that the parts of one connection share (feature's learned
// commands). For a client the registry does not hold, it returns create().
func (r *Registry) Value(client rueidis.Client, key any, create func() any) any {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		if c.client != client || c.gone {
			continue
		}
		if v, ok := c.values[key]; ok {
			return v
		}
		if c.values == nil {
			c.values = map[any]any{}
		}
		v := create()
		c.values[key] = v
		return v
	}
	return create()
}

// Stats describes the open connections, sorted by address, DB and
// fingerprint.
func (r *Registry) Stats() []ConnStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]ConnStats, 0, len(r.conns))
	for _, c := range r.conns {
		if c.client == nil {
			continue // still dialling
		}
		s := ConnStats{Fingerprint: c.fingerprint, Addr: c.addr, DB: c.db, Refs: c.refs}
		for name := range c.users {
			s.Namespaces = append(s.Namespaces, name)
		}
		slices.Sort(s.Namespaces)
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b ConnStats) int {
		return cmp.Or(cmp.Compare(a.Addr, b.Addr), cmp.Compare(a.DB, b.DB), cmp.Compare(a.Fingerprint, b.Fingerprint))
	})
	return out
}

// Close closes every connection still open; releases after it do nothing
// and Acquire returns ErrClosed. It always returns nil.
func (r *Registry) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	var open []*conn
	for fp, c := range r.conns {
		if c.client != nil {
			c.gone = true
			open = append(open, c)
		}
		delete(r.conns, fp)
	}
	r.mu.Unlock()
	for _, c := range open {
		c.client.Close()
		r.log.Info("wireredis: connection closed", "addr", c.addr, "db", c.db, "fingerprint", c.fingerprint, "reason", "registry closed", "refs", c.refs)
	}
	return nil
}
