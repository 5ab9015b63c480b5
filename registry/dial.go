package registry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"syscall"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/provider"
)

// ConnectError reports a connection that could not be made at start-up.
// Its text names the address and the feature, never a password.
type ConnectError struct {
	Addr    string
	Feature string
	Err     error
}

func (e *ConnectError) Error() string {
	who := ""
	if e.Feature != "" {
		who = " for feature " + e.Feature
	}
	return fmt.Sprintf("wireredis: cannot connect to redis at %s%s: %v", e.Addr, who, e.Err)
}

func (e *ConnectError) Unwrap() error { return e.Err }

// explain adds a hint to errors that say little by themselves: a reset
// from a server that expects TLS, or a peer that does not speak RESP (an
// HTTP server on the Redis port, say).
func explain(err error, tlsOn bool) error {
	var netErr *net.OpError
	var redisErr *rueidis.RedisError
	var certErr *tls.CertificateVerificationError
	var recordErr tls.RecordHeaderError
	switch {
	case errors.As(err, &netErr):
		if !tlsOn && errors.Is(err, syscall.ECONNRESET) {
			return fmt.Errorf("%w (if the server expects TLS, set REDIS_TLS=true or use a rediss:// URL)", err)
		}
		return err
	case errors.As(err, &redisErr), errors.As(err, &certErr), errors.As(err, &recordErr), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return fmt.Errorf("%w (is a Redis server listening there?)", err)
}

// dial opens a client and PINGs it, all within opts.PingTimeout.
// rueidis.NewClient takes no context, so it runs aside; when the time is up
// first, what it eventually returns is closed.
func dial(ctx context.Context, co rueidis.ClientOption, opts provider.Options, onDial func(error)) (rueidis.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, opts.PingTimeout)
	defer cancel()
	fail := func(err error) error { return &ConnectError{Addr: opts.Addr(), Feature: opts.Feature(), Err: err} }
	if co.Dialer.Timeout > opts.PingTimeout {
		co.Dialer.Timeout = opts.PingTimeout
	}
	co.DialCtxFn = observeDials(co.DialCtxFn, onDial)
	type result struct {
		client rueidis.Client
		err    error
	}
	done := make(chan result, 1)
	go func() {
		c, err := rueidis.NewClient(co)
		done <- result{c, err}
	}()
	var res result
	select {
	case res = <-done:
	case <-ctx.Done():
		go func() {
			if late := <-done; late.client != nil {
				late.client.Close()
			}
		}()
		return nil, fail(fmt.Errorf("no answer within %s: %w", opts.PingTimeout, ctx.Err()))
	}
	if res.err != nil {
		return nil, fail(explain(res.err, co.TLSConfig != nil))
	}
	if err := res.client.Do(ctx, res.client.B().Ping().Build()).Error(); err != nil {
		res.client.Close()
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no answer to PING within %s: %w", opts.PingTimeout, err)
		}
		return nil, fail(err)
	}
	return res.client, nil
}

// observeDials wraps a dial function (nil: rueidis's default) so that
// every dial of the connection, including rueidis's reconnections, is
// reported to onDial.
func observeDials(next func(context.Context, string, *net.Dialer, *tls.Config) (net.Conn, error), onDial func(error)) func(context.Context, string, *net.Dialer, *tls.Config) (net.Conn, error) {
	return func(ctx context.Context, addr string, d *net.Dialer, cfg *tls.Config) (net.Conn, error) {
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
		onDial(err)
		return conn, err
	}
}

// dialLogger logs the connection's reconnections: the first failed dial
// after a good one (Warn) and the first good one after failures (Info),
// not every retry.
func (r *Registry) dialLogger(c *conn) func(error) {
	var failing atomic.Bool
	return func(err error) {
		switch {
		case err != nil && !failing.Swap(true):
			r.log.Warn("wireredis: dial failed; rueidis will retry", "addr", c.addr, "db", c.db, "error", err)
		case err == nil && failing.Swap(false):
			r.log.Info("wireredis: reconnected", "addr", c.addr, "db", c.db)
		}
	}
}
