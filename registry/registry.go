package registry

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/wire"
	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/counted"
	"github.com/wireredis/wireredis/internal/nodeslot"
	"github.com/wireredis/wireredis/provider"
)

// ErrClosed is returned by Acquire after Close.
var ErrClosed = errors.New("wireredis: registry is closed")

// ErrNotReady is returned by the commands of a part whose start-up policy
// is background while its connection is not made yet.
var ErrNotReady = errors.New("wireredis: redis connection not ready yet")

// Set provides a *Registry that logs to slog.Default(). Use New directly
// (wire.NewSet(registry.New)) to inject a *slog.Logger of your own.
var Set = wire.NewSet(NewDefault)

// Registry owns the shared connections. It is safe for concurrent use.
type Registry struct {
	log *slog.Logger

	mu     sync.Mutex
	conns  map[string]*conn // by fingerprint
	closed bool

	serial atomic.Uint64 // numbers the connections, for the logs

	templateOnce sync.Once
	template     rueidis.Builder // for deferred clients before they connect
}

// conn is one shared connection, connected or not yet.
type conn struct {
	id          uint64 // in the logs: which connection of an identity
	fingerprint string
	addr        string
	db          int
	opts        provider.Options
	co          rueidis.ClientOption

	client atomic.Pointer[counted.Client] // nil until connected
	n      counted.Counters

	// Under Registry.mu:
	dialing chan struct{} // closed when the running dial is over
	err     error         // the last dial's result
	refs    int
	users   map[string]int // feature name → references
	gone    bool           // released or closed: later releases do nothing
	values  map[any]any    // see Registry.Value
	stopBG  context.CancelFunc
	bgDone  chan struct{}
}

// ConnStats describes one connection.
type ConnStats struct {
	Fingerprint string
	// Addr is host:port or unix:path, without credentials.
	Addr string
	DB   int
	// Connected is false while a lazy or background connection waits.
	Connected bool
	// Refs counts the references not yet released.
	Refs int
	// Namespaces lists the features holding references, sorted.
	Namespaces []string
	// Commands and Errors count what the parts sent and what failed;
	// InFlight is what is under way now.
	Commands, Errors, InFlight int64
	// Batches counts the pipelines the connection made of concurrent Do
	// calls (REDIS_BATCH=adaptive), BatchedCommands the commands sent in
	// them; BatchSizes is their histogram by commands per batch, with the
	// upper bounds in BatchSizeBounds (the last element counts the larger
	// ones).
	Batches, BatchedCommands int64
	BatchSizes               []int64
}

// BatchSizeBounds are the upper bounds of ConnStats.BatchSizes's buckets.
var BatchSizeBounds = counted.BatchSizeBounds

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

// Logger is the registry's logger, for the parts to log to.
func (r *Registry) Logger() *slog.Logger { return r.log }

// Acquire returns the shared client for opts, and a func that releases
// this reference (calling it more than once is harmless). What happens
// before it returns depends on opts.Startup: fail-fast dials and PINGs
// (within opts.PingTimeout) unless a part holds the connection already;
// lazy returns at once and dials on the first command; background returns
// at once and dials in the background, retrying with capped backoff,
// while commands fail with ErrNotReady.
func (r *Registry) Acquire(ctx context.Context, opts provider.Options) (rueidis.Client, func(), error) {
	co, err := opts.ClientOption()
	if err != nil {
		return nil, nil, err
	}
	fp, feature := opts.Fingerprint(), opts.Feature()
	failFast := opts.Startup == provider.StartupFailFast || opts.Startup == ""
	r.mu.Lock()
	var c *conn
	for {
		if r.closed {
			r.mu.Unlock()
			return nil, nil, ErrClosed
		}
		// The map never holds a released connection: what is found here
		// can take a reference.
		c = r.conns[fp]
		if c == nil {
			c = &conn{id: r.serial.Add(1), fingerprint: fp, addr: opts.Addr(), db: opts.DB, opts: opts, co: co, users: map[string]int{}}
			r.conns[fp] = c
		}
		if !failFast || c.client.Load() != nil {
			break
		}
		r.mu.Unlock()
		if err := r.connect(ctx, c); err != nil && !errors.Is(err, errGone) {
			r.dropIfUnused(c)
			return nil, nil, err
		}
		r.mu.Lock() // and look again: c may have been released meanwhile
	}
	c.refs++
	c.users[feature]++
	if t := c.client.Load(); t != nil {
		r.mu.Unlock()
		return t, r.releaser(c, feature), nil
	}
	if opts.Startup == provider.StartupBackground && c.stopBG == nil {
		bgCtx, stop := context.WithCancel(context.Background())
		c.stopBG, c.bgDone = stop, make(chan struct{})
		go r.background(bgCtx, c)
	}
	r.mu.Unlock()
	return &deferred{r: r, c: c, background: opts.Startup == provider.StartupBackground}, r.releaser(c, feature), nil
}

// connect dials c unless it is connected; concurrent calls share one
// dial. A failed dial is not kept: the next call tries again.
func (r *Registry) connect(ctx context.Context, c *conn) error {
	if c.client.Load() != nil {
		return nil
	}
	r.mu.Lock()
	if c.client.Load() != nil {
		r.mu.Unlock()
		return nil
	}
	if c.gone {
		r.mu.Unlock()
		return errGone
	}
	if ch := c.dialing; ch != nil {
		r.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("wireredis: waiting for the connection to %s: %w", c.addr, ctx.Err())
		}
		r.mu.Lock()
		err := c.err
		r.mu.Unlock()
		if c.client.Load() != nil {
			return nil
		}
		return err
	}
	ch := make(chan struct{})
	c.dialing = ch
	r.mu.Unlock()

	client, err := dial(ctx, c.co, c.opts, r.dialLogger(c))

	r.mu.Lock()
	c.dialing, c.err = nil, err
	if err == nil && (c.gone || r.closed) {
		client.Close()
		c.err, err = errGone, errGone
	}
	if err == nil {
		c.client.Store(counted.New(client, &c.n, c.opts.Batch == provider.BatchAdaptive))
	}
	close(ch)
	r.mu.Unlock()
	if err == nil {
		r.log.Info("wireredis: connection opened", "addr", c.addr, "db", c.db, "fingerprint", c.fingerprint, "conn", c.id, "feature", c.opts.Feature())
	}
	return err
}

// dropIfUnused forgets c after a failed fail-fast dial when no part holds
// it, so that nothing is left behind.
func (r *Registry) dropIfUnused(c *conn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c.refs == 0 && !c.gone && c.client.Load() == nil {
		c.gone = true
		if r.conns[c.fingerprint] == c {
			delete(r.conns, c.fingerprint)
		}
	}
}

// background dials c until it connects or is released, with capped,
// jittered exponential backoff.
func (r *Registry) background(ctx context.Context, c *conn) {
	defer close(c.bgDone)
	backoff, limit := 50*time.Millisecond, 5*time.Second
	for {
		err := r.connect(ctx, c)
		if err == nil || ctx.Err() != nil || errors.Is(err, errGone) {
			return
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		r.log.Warn("wireredis: background connect failed; retrying", "addr", c.addr, "db", c.db, "feature", c.opts.Feature(), "retry_in", wait.Round(time.Millisecond), "error", err)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return
		}
		backoff = min(backoff*2, limit)
	}
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
	if refs := c.refs; refs > 0 {
		r.mu.Unlock()
		r.log.Debug("wireredis: reference released", "addr", c.addr, "db", c.db, "feature", feature, "refs", refs)
		return
	}
	c.gone = true
	if r.conns[c.fingerprint] == c {
		delete(r.conns, c.fingerprint)
	}
	r.mu.Unlock()
	r.shut(c, "last reference released")
}

// shut stops c's background dialling, waits (up to ShutdownTimeout) for
// the commands in flight, and closes the connection.
func (r *Registry) shut(c *conn, reason string) {
	r.mu.Lock()
	stop, done := c.stopBG, c.bgDone
	r.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	t := c.client.Load()
	if t == nil {
		r.log.Debug("wireredis: unused connection dropped", "addr", c.addr, "db", c.db, "reason", reason)
		return
	}
	if !c.n.Drain(c.opts.ShutdownTimeout) {
		r.log.Warn("wireredis: closing with commands still in flight", "addr", c.addr, "db", c.db, "in_flight", c.n.InFlight(), "waited", c.opts.ShutdownTimeout)
	}
	t.Client.Close() // rueidis waits for its pending calls too
	r.log.Info("wireredis: connection closed", "addr", c.addr, "db", c.db, "fingerprint", c.fingerprint, "conn", c.id, "reason", reason)
}

// Value returns the value stored under key for the connection client, made
// by create on first use. It lives as long as the connection: state that
// the parts of one connection share (feature's learned commands). For a
// client the registry does not hand out, it returns create().
func (r *Registry) Value(client rueidis.Client, key any, create func() any) any {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		if c.gone || !c.hands(client) {
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

// hands reports whether client is one that Acquire gave out for c.
func (c *conn) hands(client rueidis.Client) bool {
	switch v := client.(type) {
	case *counted.Client:
		return v == c.client.Load()
	case *deferred:
		return v.c == c
	}
	return false
}

// Stats describes the connections, sorted by address, DB and fingerprint.
func (r *Registry) Stats() []ConnStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]ConnStats, 0, len(r.conns))
	for _, c := range r.conns {
		if c.refs == 0 {
			continue // a fail-fast dial under way
		}
		s := ConnStats{
			Fingerprint: c.fingerprint, Addr: c.addr, DB: c.db, Refs: c.refs,
			Connected: c.client.Load() != nil,
			Commands:  c.n.Sent(), Errors: c.n.Failed(), InFlight: c.n.InFlight(),
		}
		b := c.n.Batches()
		s.Batches, s.BatchedCommands, s.BatchSizes = b.Batches, b.Commands, b.Sizes[:]
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

// Close closes every connection still open, each after waiting (up to its
// ShutdownTimeout) for its commands in flight; releases after it do
// nothing and Acquire returns ErrClosed. It always returns nil.
func (r *Registry) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	var open []*conn
	for fp, c := range r.conns {
		if !c.gone {
			c.gone = true
			open = append(open, c)
		}
		delete(r.conns, fp)
	}
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range open {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.shut(c, "registry closed")
		}()
	}
	wg.Wait()
	return nil
}

// templateBuilder is a single-node command builder, for deferred clients
// to hand out before they connect.
func (r *Registry) templateBuilder() rueidis.Builder {
	r.templateOnce.Do(func() { r.template = nodeslot.Builder() })
	return r.template
}

// errGone: the connection was released or closed while being dialled.
var errGone = errors.New("wireredis: connection released")
