package registry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/apart"
	"github.com/wireredis/wireredis/internal/respguard"
	"github.com/wireredis/wireredis/internal/seam"
	"github.com/wireredis/wireredis/provider"
)

// refusedAtFirstByte reports whether err is the guard's refusal of a
// connection's very first byte.
func refusedAtFirstByte(err error) bool {
	var re *respguard.Error
	return errors.As(err, &re) && re.Offset == 0
}

// ConnectError reports a connection that could not be made at start-up.
// Its text names the address and the part, never a password.
type ConnectError struct {
	Addr string
	Part string
	Err  error
}

func (e *ConnectError) Error() string {
	who := ""
	if e.Part != "" {
		who = " for part " + e.Part
	}
	return fmt.Sprintf("wireredis: cannot connect to redis at %s%s: %v", e.Addr, who, e.Err)
}

func (e *ConnectError) Unwrap() error { return e.Err }

// explain adds a hint to errors that say little by themselves: nothing
// listening at the address, a reset from a server that expects TLS, a peer
// that does not speak RESP (an HTTP server on the Redis port, say), a
// server without client-side caching. Other errors say enough, and a hint
// that guesses wrong misleads: none is added.
func explain(err error, tlsOn bool) error {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ENOENT):
		// Refused on TCP; on a unix socket, refused or no socket file.
		return fmt.Errorf("%w (is a Redis server listening there?)", err)
	case !tlsOn && errors.Is(err, syscall.ECONNRESET):
		return fmt.Errorf("%w (if the server expects TLS, set REDIS_TLS=true or use a rediss:// URL)", err)
	case errors.Is(err, rueidis.ErrNoCache):
		return fmt.Errorf("%w (the server has no client-side caching (CLIENT TRACKING): set REDIS_DISABLE_CACHE=true)", err)
	case refusedAtFirstByte(err), strings.HasPrefix(err.Error(), "received unknown message type"):
		// Its first reply was not RESP (the guard refused it, or
		// rueidis's parser met a byte that starts no RESP reply).
		return fmt.Errorf("%w (the server there does not speak RESP: is it a Redis server?)", err)
	}
	return err
}

// dial opens a client and PINGs it, all within opts.PingTimeout (or the
// caller's deadline, when that comes first). rueidis.NewClient takes no
// context, so it runs aside, counted in c.dials; when the time is up
// first, what it eventually returns is closed.
func dial(ctx context.Context, co rueidis.ClientOption, opts provider.Options, c *conn, onDial, onRefused func(error)) (rueidis.Client, error) {
	limit := limitOf(ctx, opts)
	ctx, cancel := context.WithTimeout(seam.Honest(ctx), opts.PingTimeout)
	defer cancel()
	fail := func(err error) error { return &ConnectError{Addr: opts.Addr(), Part: opts.Part(), Err: err} }
	if co.Dialer.Timeout > opts.PingTimeout {
		co.Dialer.Timeout = opts.PingTimeout
	}
	co.DialCtxFn = c.socks.dialer(co.DialCtxFn, onDial, onRefused)
	co.RetryDelay = apart.RetryDelay(co.RetryDelay)
	type result struct {
		client rueidis.Client
		err    error
	}
	done := make(chan result, 1)
	abandoned := make(chan struct{})
	c.dials.Add(1)
	go func() {
		defer c.dials.Done()
		client, err := rueidis.NewClient(co)
		select {
		case done <- result{client, err}:
		case <-abandoned:
			if client != nil {
				client.Close()
			}
		}
	}()
	var res result
	select {
	case res = <-done:
	case <-ctx.Done():
		close(abandoned)
		return nil, fail(limit.exceeded(ctx, "no answer"))
	}
	if res.err != nil {
		// The handshake's own deadline is the ping timeout too: when it
		// fires first (or both at once, as under load), the answer is the
		// same.
		var ne net.Error
		switch {
		case ctx.Err() != nil:
			return nil, fail(limit.exceeded(ctx, "no answer"))
		case errors.As(res.err, &ne) && ne.Timeout():
			// rueidis bounds connect and handshake by the dial timeout.
			if co.Dialer.Timeout < limit.d {
				limit = dialLimitOf(opts)
			}
			return nil, fail(limit.exceeded(ctx, "no answer"))
		}
		return nil, fail(explain(res.err, co.TLSConfig != nil))
	}
	if err := res.client.Do(ctx, res.client.B().Ping().Build()).Error(); err != nil {
		res.client.Close()
		if ctx.Err() != nil {
			err = limit.exceeded(ctx, "no answer to PING")
		}
		return nil, fail(err)
	}
	return res.client, nil
}

// limit is the bound that applies to a dial: the ping timeout, or the
// caller's deadline when it comes first. Errors quote it.
type limit struct {
	d  time.Duration
	by string
}

func limitOf(ctx context.Context, opts provider.Options) limit {
	l := limit{opts.PingTimeout, "REDIS_PING_TIMEOUT"}
	if v := opts.Sources()["PING_TIMEOUT"]; v != "" {
		l.by = v
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < l.d {
		l = limit{time.Until(dl), "the caller's context deadline"}
	}
	return l
}

// dialLimitOf is the bound rueidis puts on connect and handshake.
func dialLimitOf(opts provider.Options) limit {
	l := limit{opts.DialTimeout, "REDIS_DIAL_TIMEOUT"}
	if v := opts.Sources()["DIAL_TIMEOUT"]; v != "" {
		l.by = v
	}
	return l
}

func (l limit) exceeded(ctx context.Context, what string) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("cancelled by the caller: %w", ctx.Err())
	}
	d := l.d.Round(time.Millisecond)
	if d >= 100*time.Millisecond {
		d = l.d.Round(10 * time.Millisecond) // 1.5s, not the 1.499s left when the dial began
	}
	return fmt.Errorf("%s within %s (%s): %w", what, d, l.by, context.DeadlineExceeded)
}

// sockets holds the network connections that one shared connection's
// client has open, so that a shutdown can end them by its deadline, even
// those a stalled server keeps open, and refuse the dials that come after
// (rueidis reconnects for the commands still waiting).
type sockets struct {
	mu     sync.Mutex
	open   map[*socket]struct{}
	closed bool
}

// errShutDown is what a dial gets once the connection was shut down.
var errShutDown = errors.New("wireredis: the connection was shut down")

// dialer wraps a dial function (nil: rueidis's default) so that every
// dial of the connection, rueidis's reconnections included, is reported to
// onDial and its socket tracked; a socket whose reply the guard refuses
// reports it to onRefused.
func (s *sockets) dialer(next func(context.Context, string, *net.Dialer, *tls.Config) (net.Conn, error), onDial, onRefused func(error)) func(context.Context, string, *net.Dialer, *tls.Config) (net.Conn, error) {
	return func(ctx context.Context, addr string, d *net.Dialer, cfg *tls.Config) (net.Conn, error) {
		if s.isClosed() {
			return nil, errShutDown
		}
		var conn net.Conn
		var err error
		switch {
		case next != nil:
			conn, err = next(ctx, addr, d, cfg)
		case cfg != nil:
			conn, err = (&tls.Dialer{NetDialer: d, Config: cfg}).DialContext(ctx, "tcp", addr)
		default:
			conn, err = d.DialContext(ctx, "tcp", addr)
		}
		if err == nil {
			conn, err = s.track(conn, onRefused)
		}
		onDial(err)
		return conn, err
	}
}

// count is the number of sockets open.
func (s *sockets) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.open)
}

func (s *sockets) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *sockets) track(c net.Conn, onRefused func(error)) (net.Conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		_ = c.Close()
		return nil, errShutDown
	}
	if s.open == nil {
		s.open = map[*socket]struct{}{}
	}
	t := &socket{Conn: c, owner: s, replies: respguard.NewReader(c), onRefused: onRefused}
	t.replies.FollowCommands()
	s.open[t] = struct{}{}
	return t, nil
}

// closeAll closes every socket and refuses the dials to come.
func (s *sockets) closeAll() {
	s.mu.Lock()
	s.closed = true
	open := s.open
	s.open = nil
	s.mu.Unlock()
	for t := range open {
		_ = t.Conn.Close()
	}
}

// socket is a tracked network connection; closing it forgets it. The
// replies read from it are checked first, against the commands written:
// a reply that would end the process in rueidis closes the connection
// instead.
type socket struct {
	net.Conn
	owner     *sockets
	replies   *respguard.Reader
	onRefused func(error)
	reported  atomic.Bool
}

func (t *socket) Read(b []byte) (int, error) {
	n, err := t.replies.Read(b)
	if errors.Is(err, respguard.ErrRefused) && !t.reported.Swap(true) {
		t.onRefused(err)
	}
	return n, err
}

// Write tells the guard of the commands in b before they go: their
// replies may come as soon as they are written.
func (t *socket) Write(b []byte) (int, error) {
	t.replies.Sent(b)
	return t.Conn.Write(b)
}

func (t *socket) Close() error {
	t.owner.mu.Lock()
	delete(t.owner.open, t)
	t.owner.mu.Unlock()
	return t.Conn.Close()
}

// refusalLogger logs and counts the replies the guard refused: each
// closed one of the connection's sockets.
func (r *Registry) refusalLogger(c *conn) func(error) {
	return func(err error) {
		c.badReplies.Add(1)
		r.log.Warn("wireredis: the server sent a reply that cannot be read safely; its socket was closed", "addr", c.addr, "db", c.db, "error", err)
	}
}

// dialLogger logs the connection's reconnections: the first failed dial
// after a good one (Warn) and the first good one after failures (Info),
// not every retry. Before the connection was ever made nothing is logged:
// a failed start-up dial is the caller's error (fail-fast) or logged by
// the background dialler, and rueidis does not retry it.
func (r *Registry) dialLogger(c *conn) func(error) {
	var failing, up atomic.Bool
	return func(err error) {
		if err != nil && !errors.Is(err, errShutDown) {
			c.dialFailures.Add(1)
		}
		switch {
		case err == nil && !up.Load():
			up.Store(true)
		case errors.Is(err, errShutDown):
		case err != nil && up.Load() && !failing.Swap(true):
			r.log.Warn("wireredis: dial failed; rueidis will retry", "addr", c.addr, "db", c.db, "error", err)
		case err == nil && failing.Swap(false):
			c.reconnects.Add(1)
			r.log.Info("wireredis: reconnected", "addr", c.addr, "db", c.db)
		}
	}
}
