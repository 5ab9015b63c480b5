package registry

import (
	"context"
	"errors"
	"fmt"
	"net"

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

// explain adds a hint to errors that come from a peer that does not speak
// RESP (an HTTP server on the Redis port, say).
func explain(err error) error {
	var netErr *net.OpError
	var redisErr *rueidis.RedisError
	if errors.As(err, &netErr) || errors.As(err, &redisErr) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w (is a Redis server listening there?)", err)
}

// dial opens a client and PINGs it, all within opts.PingTimeout.
// rueidis.NewClient takes no context, so it runs aside; when the time is up
// first, what it eventually returns is closed.
func dial(ctx context.Context, co rueidis.ClientOption, opts provider.Options) (rueidis.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, opts.PingTimeout)
	defer cancel()
	fail := func(err error) error { return &ConnectError{Addr: opts.Addr(), Feature: opts.Feature(), Err: err} }
	if co.Dialer.Timeout > opts.PingTimeout {
		co.Dialer.Timeout = opts.PingTimeout
	}
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
		return nil, fail(explain(res.err))
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
