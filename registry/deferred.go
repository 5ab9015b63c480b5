package registry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/counted"
)

// deferred is the client of a lazy or background part while its
// connection is not made: each call connects first (lazy) or fails with
// ErrNotReady (background), then goes to the shared client.
type deferred struct {
	r *Registry
	c *conn
	// part is the part this client was acquired for: its errors name it,
	// not the part that happened to open the shared connection.
	part       string
	background bool
}

// Resolve returns the connection, dialling it first for a lazy part; a
// background part still dialling gets ErrNotReady. A part resolves its
// connection before its first command, to know the connection's mode.
func (d *deferred) Resolve(ctx context.Context) (rueidis.Client, error) {
	t, err := d.resolve(ctx)
	if err != nil {
		return nil, err // not a nil *counted.Client in an interface
	}
	return t, nil
}

func (d *deferred) resolve(ctx context.Context) (*counted.Client, error) {
	if t := d.c.client.Load(); t != nil {
		return t, nil
	}
	if d.background {
		return nil, fmt.Errorf("%w: %s (part %s) is still being dialled in the background", ErrNotReady, d.c.addr, d.part)
	}
	if err := d.r.connect(ctx, d.c); err != nil {
		var ce *ConnectError
		switch {
		case errors.Is(err, errGone):
			return nil, ErrClosed
		case errors.As(err, &ce) && ce.Part != d.part:
			mine := *ce // shared by every caller of the dial: copied
			mine.Part = d.part
			return nil, &mine
		}
		return nil, err
	}
	return d.c.client.Load(), nil
}

// B returns the shared client's builder; before the connection is made,
// a lazy part dials for it (within PingTimeout) and a background part gets
// a single-node builder.
func (d *deferred) B() rueidis.Builder {
	if t := d.c.client.Load(); t != nil {
		return t.B()
	}
	if !d.background {
		ctx, cancel := context.WithTimeout(context.Background(), d.c.opts.PingTimeout)
		t, err := d.resolve(ctx)
		cancel()
		if err == nil {
			return t.B()
		}
	}
	return d.r.templateBuilder()
}

func (d *deferred) Do(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	t, err := d.resolve(ctx)
	if err != nil {
		return rueidis.NewErrorResult(err)
	}
	return t.Do(ctx, cmd)
}

func (d *deferred) DoMulti(ctx context.Context, multi ...rueidis.Completed) []rueidis.RedisResult {
	t, err := d.resolve(ctx)
	if err != nil {
		return counted.ErrorResults(len(multi), err)
	}
	return t.DoMulti(ctx, multi...)
}

func (d *deferred) DoCache(ctx context.Context, cmd rueidis.Cacheable, ttl time.Duration) rueidis.RedisResult {
	t, err := d.resolve(ctx)
	if err != nil {
		return rueidis.NewErrorResult(err)
	}
	return t.DoCache(ctx, cmd, ttl)
}

func (d *deferred) DoMultiCache(ctx context.Context, multi ...rueidis.CacheableTTL) []rueidis.RedisResult {
	t, err := d.resolve(ctx)
	if err != nil {
		return counted.ErrorResults(len(multi), err)
	}
	return t.DoMultiCache(ctx, multi...)
}

func (d *deferred) DoStream(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResultStream {
	t, err := d.resolve(ctx)
	if err != nil {
		return rueidis.NewErrorResultStream(err)
	}
	return t.DoStream(ctx, cmd)
}

func (d *deferred) DoMultiStream(ctx context.Context, multi ...rueidis.Completed) rueidis.MultiRedisResultStream {
	t, err := d.resolve(ctx)
	if err != nil {
		return rueidis.NewErrorResultStream(err)
	}
	return t.DoMultiStream(ctx, multi...)
}

func (d *deferred) Receive(ctx context.Context, subscribe rueidis.Completed, fn func(msg rueidis.PubSubMessage)) error {
	t, err := d.resolve(ctx)
	if err != nil {
		return err
	}
	return t.Receive(ctx, subscribe, fn)
}

func (d *deferred) Dedicated(fn func(rueidis.DedicatedClient) error) error {
	t, err := d.resolve(context.Background())
	if err != nil {
		return err
	}
	return t.Dedicated(fn)
}

// Dedicate has no error to return: when the connection cannot be made,
// the client it returns answers every call with that error.
func (d *deferred) Dedicate() (rueidis.DedicatedClient, func()) {
	t, err := d.resolve(context.Background())
	if err != nil {
		return failedDedicated{err: err, b: d.r.templateBuilder()}, func() {}
	}
	return t.Dedicate()
}

// failedDedicated is the DedicatedClient of a connection that could not
// be made.
type failedDedicated struct {
	err error
	b   rueidis.Builder
}

func (f failedDedicated) B() rueidis.Builder { return f.b }

func (f failedDedicated) Do(context.Context, rueidis.Completed) rueidis.RedisResult {
	return rueidis.NewErrorResult(f.err)
}

func (f failedDedicated) DoMulti(_ context.Context, multi ...rueidis.Completed) []rueidis.RedisResult {
	return counted.ErrorResults(len(multi), f.err)
}

func (f failedDedicated) Receive(context.Context, rueidis.Completed, func(rueidis.PubSubMessage)) error {
	return f.err
}

func (f failedDedicated) SetPubSubHooks(rueidis.PubSubHooks) <-chan error { return f.closed() }

func (f failedDedicated) SetOnInvalidations(func([]rueidis.RedisMessage)) <-chan error {
	return f.closed()
}

func (f failedDedicated) closed() <-chan error {
	ch := make(chan error, 1)
	ch <- f.err
	close(ch)
	return ch
}

func (failedDedicated) Close() {}

func (d *deferred) Nodes() map[string]rueidis.Client {
	if t := d.c.client.Load(); t != nil {
		return t.Nodes()
	}
	return map[string]rueidis.Client{d.c.addr: d}
}

func (d *deferred) Mode() rueidis.ClientMode {
	if t := d.c.client.Load(); t != nil {
		return t.Mode()
	}
	return rueidis.ClientModeStandalone
}

// Close does nothing: the registry closes the connection.
func (d *deferred) Close() {}
