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

	"github.com/wireredis/wireredis/internal/apart"
	"github.com/wireredis/wireredis/internal/counted"
	"github.com/wireredis/wireredis/internal/respguard"
	"github.com/wireredis/wireredis/internal/rueidisx"
	"github.com/wireredis/wireredis/internal/seam"
	"github.com/wireredis/wireredis/provider"
)

// ErrClosed is returned by Acquire after Close.
var ErrClosed = errors.New("wireredis: registry is closed")

// ErrNotReady is returned by the commands of a part whose start-up policy
// is background while its connection is not made yet.
var ErrNotReady = errors.New("wireredis: redis connection not ready yet")

// ErrBadReply is what the error of a command matches (errors.Is) when
// the server sent a reply that could not be read safely: one that breaks
// RESP's grammar, or whose lengths would make the client allocate far more
// than the server sent (see docs/operations.md). rueidis would have ended
// the process; instead the socket is closed, the commands waiting on it
// fail, ConnStats.BadReplies counts it and the registry logs it.
var ErrBadReply = respguard.ErrRefused

// ErrRefused is what the error matches (errors.Is) of a command the
// registry's clients refuse, because rueidis could not read the connection
// after it, or would end the process:
//   - a subscription (SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE) sent other than
//     with Receive (Do, DoMulti, DoCache, the streams): their Receive runs
//     on a connection of its own, for on the pipeline their commands share
//     Redis 7.0 and 6.2 write its messages inside other replies. A
//     Dedicated connection takes subscriptions with SetPubSubHooks;
//   - a Pub/Sub command whose name was changed after it was built;
//   - MONITOR, SYNC, PSYNC, REPLCONF and CLIENT REPLY, on a Dedicated
//     connection too: after them the connection no longer carries one
//     reply for each command;
//   - a Receive of another command than a subscription.
var ErrRefused = apart.ErrRefused

// Set provides a *Registry that logs to slog.Default(). Use New directly
// (wire.NewSet(registry.New)) to inject a *slog.Logger of your own.
var Set = wire.NewSet(NewDefault)

// Registry owns the shared connections. It is safe for concurrent use.
type Registry struct {
	log   *slog.Logger
	hooks seam.Hooks // see seam.Registry.Observe; nil: none

	mu     sync.Mutex
	conns  map[string]*conn // by provider.Options.ConnectionKey; guarded by mu
	values map[any]any      // see seam.Registry.Value; guarded by mu
	closed bool             // guarded by mu
	// closeDone is closed when Close has finished: later Close calls wait
	// for it. shutting counts the shutdowns under way, from releases too.
	closeDone chan struct{}
	shutting  sync.WaitGroup
	warned    map[string]bool // unknown variables already logged

	serial atomic.Uint64 // numbers the connections, for the logs

	templateOnce sync.Once
	template     rueidis.Builder // for deferred clients before they connect
}

// conn is one shared connection, connected or not yet.
type conn struct {
	id          uint64 // in the logs: which connection of an identity
	key         string // provider.Options.ConnectionKey
	fingerprint string
	addr        string
	db          int
	opts        provider.Options
	co          rueidis.ClientOption

	client atomic.Pointer[counted.Client] // nil until connected
	n      counted.Counters
	socks  sockets        // every network connection of the client
	dials  sync.WaitGroup // rueidis.NewClient calls under way
	// dialFailures and reconnects count what dialLogger sees, badReplies
	// what refusalLogger does.
	dialFailures, reconnects, badReplies atomic.Int64

	// Under Registry.mu:
	dialing chan struct{} // closed when the running dial is over
	err     error         // the last dial's result
	refs    int
	users   map[string]int // part name → references
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
	// Parts lists the parts holding references, sorted.
	Parts []string
	// Commands and Errors count what the parts sent and what failed;
	// InFlight is what is under way now.
	Commands, Errors, InFlight int64
	// Sockets is the number of network connections open: rueidis's
	// pipelines, and the pool of its blocking and dedicated connections.
	Sockets int
	// DialFailures counts the failed dials, retries included;
	// Reconnects the times the connection came back after failures
	// (logged as "wireredis: reconnected").
	DialFailures, Reconnects int64
	// BadReplies counts the replies refused because they could not be read
	// safely (see ErrBadReply): each closed a socket, and failed the
	// commands waiting on it.
	BadReplies int64
	// Batches counts the pipelines the connection made of concurrent Do
	// calls (REDIS_BATCH=adaptive), BatchedCommands the commands sent in
	// them; BatchSizes is their histogram by commands per batch, with the
	// upper bounds in BatchSizeBounds() (the last element counts the larger
	// ones).
	Batches, BatchedCommands int64
	BatchSizes               []int64
	// CopiesCommands is true when the rueidis linked in is not laid out
	// as wireredis's mirror of its commands expects: every command is
	// then copied before its keys are prefixed (slower, never wrong). The
	// registry logs it once; see docs/operations.md.
	CopiesCommands bool
}

// BatchSizeBounds returns the upper bounds of ConnStats.BatchSizes's
// buckets: 2, 4, 8, ... 256.
func BatchSizeBounds() []int { return slices.Clone(counted.BatchSizeBounds[:]) }

// New returns an empty Registry and a func that closes it. A nil logger
// means slog.Default().
func New(logger *slog.Logger) (*Registry, func()) {
	if logger == nil {
		logger = slog.Default()
	}
	r := &Registry{log: logger, conns: make(map[string]*conn)}
	mirrorLogged.Do(func() {
		if err := mirrorCheck(); err != nil {
			logger.Error("wireredis: "+err.Error(), "rueidis_checked", rueidisx.CheckedVersion)
		}
	})
	return r, func() { _ = r.Close() }
}

// mirrorCheck is rueidisx.Check (tests replace it); mirrorLogged makes
// its failure one log line a process.
var (
	mirrorCheck  = rueidisx.Check
	mirrorLogged sync.Once
)

// closedObserver is implemented by hooks (seam.Registry.Observe) that
// want the final numbers of each connection the registry shuts, once it
// is shut: Stats no longer lists it, and the telemetry package keeps them
// so that its counters do not fall back and the last export of a
// short-lived process still has them.
type closedObserver interface {
	ConnectionClosed(ConnStats)
}

// NewDefault is New(nil), for wire sets that have no *slog.Logger.
func NewDefault() (*Registry, func()) { return New(nil) }

// Acquire returns the shared client for opts, and a func that releases
// this reference (calling it more than once is harmless). What happens
// before it returns depends on opts.Startup: fail-fast dials and PINGs
// (within opts.PingTimeout) unless a part holds the connection already;
// lazy returns at once and dials on the first command; background returns
// at once and dials in the background, retrying with capped backoff,
// while commands fail with ErrNotReady.
//
// The client is not namespaced: parts get theirs from feature.Open, and
// administration (CONFIG, FUNCTION LOAD, ...) goes through Admin.
func (r *Registry) Acquire(ctx context.Context, opts provider.Options) (rueidis.Client, func(), error) {
	return r.acquire(ctx, opts, opts.ConnectionKey(), opts.Part())
}

// Admin returns an unnamespaced client for administration: the commands a
// part refuses because they reach the whole server (CONFIG, FUNCTION LOAD,
// SCRIPT FLUSH, CLIENT LIST, ...) or another database or server (MIGRATE,
// MOVE). Its connection is its own, never shared with parts, so that its
// transactions and connection state cannot reach their commands; admin
// clients of equal settings share one. The func releases it. Keep it to
// deployment steps and operator tools: it can read and change every
// namespace.
func (r *Registry) Admin(ctx context.Context, opts provider.Options) (rueidis.Client, func(), error) {
	return r.acquire(ctx, opts, opts.ConnectionKey()+"/admin", adminUser)
}

// adminUser is how Stats and Check name the holders of Admin clients.
const adminUser = "(admin)"

func (r *Registry) acquire(ctx context.Context, opts provider.Options, key, part string) (rueidis.Client, func(), error) {
	co, err := opts.ClientOptionContext(ctx) // reads the TLS files within the ping timeout
	if err != nil {
		return nil, nil, err
	}
	r.warnUnknown(opts)
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
		c = r.conns[key]
		if c == nil {
			c = &conn{id: r.serial.Add(1), key: key, fingerprint: opts.Fingerprint(), addr: opts.Addr(), db: opts.DB, opts: opts, co: co, users: map[string]int{}}
			r.conns[key] = c
		}
		if !failFast || c.client.Load() != nil {
			break
		}
		r.mu.Unlock()
		if err := r.connect(ctx, c); err != nil && !errors.Is(err, errGone) {
			r.dropIfUnused(c)
			if r.isClosed() {
				return nil, nil, ErrClosed
			}
			return nil, nil, err
		}
		r.mu.Lock() // and look again: c may have been released meanwhile
	}
	c.refs++
	c.users[part]++
	if t := c.client.Load(); t != nil {
		r.mu.Unlock()
		return t, r.releaser(c, part), nil
	}
	if opts.Startup == provider.StartupBackground && c.stopBG == nil {
		bgCtx, stop := context.WithCancel(context.Background())
		c.stopBG, c.bgDone = stop, make(chan struct{})
		go r.background(bgCtx, c)
	}
	r.mu.Unlock()
	return &deferred{r: r, c: c, part: part, background: opts.Startup == provider.StartupBackground}, r.releaser(c, part), nil
}

func (r *Registry) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// warnUnknown logs, once each, the REDIS_ variables of opts' environment
// that mean nothing to the loader (REDIS_PROT: did you mean REDIS_PORT?)
// and, when the program declared its parts (feature.Declare: the
// files wireredis gen writes, package feature's own parts), those of a
// part it does not have (REDIS_RATELIMIT_DB: did you mean REDIS_RL_DB?,
// for the part RateLimit of namespace rl). The parts acquired so far
// count as known too. Their values are not logged: a misspelt password
// variable holds one.
func (r *Registry) warnUnknown(opts provider.Options) {
	var unknown []*provider.ConfigError
	if declared := seam.DeclaredParts(); len(declared) > 0 {
		known := declared
		r.mu.Lock()
		for _, c := range r.conns {
			for part := range c.users {
				known = appendPart(known, part)
			}
		}
		r.mu.Unlock()
		unknown = opts.UnknownVariablesOf(appendPart(known, opts.Part()))
	} else {
		unknown = opts.UnknownVariables()
	}
	if len(unknown) == 0 {
		return
	}
	r.mu.Lock()
	var fresh []*provider.ConfigError
	for _, u := range unknown {
		if !r.warned[u.Var] {
			if r.warned == nil {
				r.warned = map[string]bool{}
			}
			r.warned[u.Var] = true
			fresh = append(fresh, u)
		}
	}
	r.mu.Unlock()
	for _, u := range fresh {
		r.log.Warn("wireredis: unknown variable ignored", "variable", u.Var, "problem", u.Var+": "+u.Reason)
	}
}

// appendPart adds the part of namespace ns to known unless it is there.
func appendPart(known []provider.PartName, ns string) []provider.PartName {
	if ns == "" || ns == adminUser || slices.ContainsFunc(known, func(p provider.PartName) bool { return p.Namespace == ns }) {
		return known
	}
	return append(known, provider.PartName{Namespace: ns})
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

	client, err := dial(ctx, c.co, c.opts, c, r.dialLogger(c), r.refusalLogger(c))

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
		r.log.Info("wireredis: connection opened", "addr", c.addr, "db", c.db, "fingerprint", c.fingerprint, "conn", c.id, "part", c.opts.Part())
		if !c.opts.ClientCache() && !c.opts.DisableCache {
			r.log.Info("wireredis: client-side caching is off: it needs RESP3", "addr", c.addr, "db", c.db, "conn", c.id, "protocol", 2, "set_by", protocolSource(c.opts))
		}
	}
	return err
}

// protocolSource names what made the connection RESP2: a variable, or the
// Options field code set.
func protocolSource(o provider.Options) string {
	if s := o.Sources()["PROTOCOL"]; s != "" {
		return s
	}
	return "Options.Protocol"
}

// dropIfUnused forgets c after a failed fail-fast dial when no part holds
// it, so that nothing is left behind.
func (r *Registry) dropIfUnused(c *conn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c.refs == 0 && !c.gone && c.client.Load() == nil {
		c.gone = true
		if r.conns[c.key] == c {
			delete(r.conns, c.key)
		}
		c.socks.closeAll() // ends a dial that outlived its deadline
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
		r.log.Warn("wireredis: background connect failed; retrying", "addr", c.addr, "db", c.db, "part", c.opts.Part(), "retry_in", wait.Round(time.Millisecond), "error", err)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return
		}
		backoff = min(backoff*2, limit)
	}
}

func (r *Registry) releaser(c *conn, part string) func() {
	var once sync.Once
	return func() { once.Do(func() { r.release(c, part) }) }
}

func (r *Registry) release(c *conn, part string) {
	r.mu.Lock()
	if c.gone {
		r.mu.Unlock()
		return
	}
	c.refs--
	if c.users[part]--; c.users[part] == 0 {
		delete(c.users, part)
	}
	if refs := c.refs; refs > 0 {
		r.mu.Unlock()
		r.log.Debug("wireredis: reference released", "addr", c.addr, "db", c.db, "part", part, "refs", refs)
		return
	}
	c.gone = true
	if r.conns[c.key] == c {
		delete(r.conns, c.key)
	}
	r.shutting.Add(1)
	r.mu.Unlock()
	defer r.shutting.Done()
	r.shut(c, "last reference released")
}

// shut stops c's background dialling, waits for the commands in flight,
// and closes the connection, all by c's ShutdownTimeout: what is still
// open then (a stalled server answers nothing, and rueidis's Close waits
// for its pending calls and reconnects for them) is cut off, every socket
// closed and the dials still under way ended.
func (r *Registry) shut(c *conn, reason string) {
	timeout := c.opts.ShutdownTimeout
	deadline := time.Now().Add(timeout)
	defer r.reportClosed(c) // after finishShut: the numbers are final
	defer r.finishShut(c, deadline)
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
	if !c.n.Drain(timeout) {
		r.log.Warn("wireredis: closing with commands still in flight", "addr", c.addr, "db", c.db, "in_flight", c.n.InFlight(), "waited", timeout)
	}
	closed := make(chan struct{})
	go func() {
		t.Client.Close() // rueidis waits for its pending calls too
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(time.Until(deadline)):
		r.log.Warn("wireredis: connection cut off at the shutdown deadline", "addr", c.addr, "db", c.db, "waited", timeout)
		c.socks.closeAll() // rueidis's Close returns once its sockets fail
		<-closed
	}
	r.log.Info("wireredis: connection closed", "addr", c.addr, "db", c.db, "fingerprint", c.fingerprint, "conn", c.id, "reason", reason)
}

// finishShut closes what is left of c's sockets, and so refuses later
// dials, and waits for the dials under way (they fail on their closed
// sockets, or by their own timeouts).
func (r *Registry) finishShut(c *conn, deadline time.Time) {
	c.socks.closeAll()
	done := make(chan struct{})
	go func() {
		c.dials.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(max(time.Until(deadline), 0) + c.opts.DialTimeout):
		r.log.Warn("wireredis: a dial outlived the shutdown", "addr", c.addr, "db", c.db)
	}
}

// reportClosed gives the hooks c's final numbers, if they want them.
func (r *Registry) reportClosed(c *conn) {
	o, ok := r.hooks.(closedObserver)
	if !ok {
		return
	}
	r.mu.Lock()
	s := c.stats()
	r.mu.Unlock()
	s.Connected, s.Refs, s.Parts = false, 0, nil // whoever held it, it is closed
	o.ConnectionClosed(s)
}

// connValue returns the value stored under key for the connection client, made
// by create on first use. It lives as long as the connection: state that
// the parts of one connection share (feature's learned commands). For a
// client the registry does not hand out, it returns create().
func (r *Registry) connValue(client rueidis.Client, key any, create func() any) any {
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

// value returns the registry's value under key, made by create on first
// use: state the parts of one registry share (feature's prefix claims).
func (r *Registry) value(key any, create func() any) any {
	r.mu.Lock()
	defer r.mu.Unlock()
	if v, ok := r.values[key]; ok {
		return v
	}
	if r.values == nil {
		r.values = map[any]any{}
	}
	v := create()
	r.values[key] = v
	return v
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
		out = append(out, c.stats())
	}
	slices.SortFunc(out, func(a, b ConnStats) int {
		return cmp.Or(cmp.Compare(a.Addr, b.Addr), cmp.Compare(a.DB, b.DB), cmp.Compare(a.Fingerprint, b.Fingerprint))
	})
	return out
}

// stats describes c; under Registry.mu.
func (c *conn) stats() ConnStats {
	s := ConnStats{
		Fingerprint: c.fingerprint, Addr: c.addr, DB: c.db, Refs: c.refs,
		Connected: c.client.Load() != nil,
		Commands:  c.n.Sent(), Errors: c.n.Failed(), InFlight: c.n.InFlight(),
		Sockets: c.socks.count(), DialFailures: c.dialFailures.Load(), Reconnects: c.reconnects.Load(), BadReplies: c.badReplies.Load(),
		CopiesCommands: !rueidisx.PinVerified(),
	}
	b := c.n.Batches()
	s.Batches, s.BatchedCommands, s.BatchSizes = b.Batches, b.Commands, b.Sizes[:]
	for name := range c.users {
		s.Parts = append(s.Parts, name)
	}
	slices.Sort(s.Parts)
	return s
}

// Close closes every connection still open, each after waiting (up to its
// ShutdownTimeout) for its commands in flight; what a stalled server still
// holds open at that deadline is cut off. Releases after it do nothing and
// Acquire returns ErrClosed. Every call returns once the shutdown is over,
// whichever call started it, and releases under way have finished. It
// always returns nil.
func (r *Registry) Close() error {
	r.mu.Lock()
	if r.closed {
		done := r.closeDone
		r.mu.Unlock()
		<-done
		return nil
	}
	r.closed = true
	r.closeDone = make(chan struct{})
	defer close(r.closeDone)
	var open []*conn
	for key, c := range r.conns {
		if !c.gone {
			c.gone = true
			open = append(open, c)
		}
		delete(r.conns, key)
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
	r.shutting.Wait()
	return nil
}

// templateBuilder is a single-node command builder, for deferred clients
// to hand out before they connect.
func (r *Registry) templateBuilder() rueidis.Builder {
	r.templateOnce.Do(func() { r.template = rueidisx.SingleNodeBuilder() })
	return r.template
}

// errGone: the connection was released or closed while being dialled.
var errGone = errors.New("wireredis: connection released")
