package feature

// A part's command deadline: REDIS_COMMAND_TIMEOUT, or the part's own
// REDIS_<PART>_COMMAND_TIMEOUT, bounds each command; a caller's earlier
// deadline ends the command first. It is not part of the
// connection's identity: parts with other deadlines share a connection.
//
// A deadline must end the part's call, never the connection its
// neighbours share. rueidis v1.0.79 sends a command synchronously when
// nothing else is under way (pipe.go, syncDo): it puts the context's
// deadline on the socket, and when it passes it closes the connection,
// failing every command in flight on it. A context that can be cancelled
// but has no deadline goes through rueidis's queue instead, and its
// cancellation only abandons the call: the reply, when it comes, is read
// and dropped. So on the shared, pipelined connection the part hands
// rueidis such a context: the caller's without its deadline, or one
// cancelled by the part's own timer as well; and it says which deadline
// ended the call. Commands that rueidis sends on a pooled connection of
// their own (blocking commands, streams, very large pipelines) ignore a
// cancellation: they get a real deadline, which closes only that pooled
// connection.

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/rueidisx"
	"github.com/wireredis/wireredis/internal/seam"
)

// withCommandTimeout bounds the part's commands by d (0: no bound); by
// names the setting that chose it, for the errors.
func withCommandTimeout(d time.Duration, by string) Option {
	return func(c *Client) { c.timeout, c.timeoutBy = d, by }
}

// WithCommandTimeout bounds each command of the part by d (0: no bound),
// or by its caller's deadline when that comes first; a blocking command
// gets d plus its own timeout. Part.Open sets it from REDIS_COMMAND_TIMEOUT
// (REDIS_<PART>_COMMAND_TIMEOUT).
func WithCommandTimeout(d time.Duration) Option { return withCommandTimeout(d, "") }

// bounded reports whether a call needs bounding: the part has a command
// timeout, or the caller a deadline (which rueidis must not see on the
// shared connection).
func (c *Client) bounded(ctx context.Context) bool {
	if c.timeout > 0 {
		return true
	}
	_, ok := ctx.Deadline()
	return ok
}

// pooledMulti is rueidis's ClientOption.BlockingPipeline default: a
// DoMulti of this many commands goes on a pooled connection of its own.
const pooledMulti = 2000

// bound is one bounded call: ctx is what rueidis gets.
type bound struct {
	ns     string
	ctx    context.Context
	caller context.Context
	cancel context.CancelCauseFunc
	stop   func() bool // ends the timer or the watch of the caller's context
	// own is the error of the part's deadline on a pooled connection, at
	// ownDeadline.
	own         *DeadlineError
	ownDeadline time.Time
	// ends is the error the part's own timer or deadline cancels ctx
	// with: the call's own end, unlike a cause the caller's context holds.
	ends *DeadlineError
}

// shape is what bounding a call needs to know of it: whether rueidis
// sends it on a pooled connection of its own (see the top of this file),
// and its own blocking time, forever when it blocks without end.
type shape struct {
	pooled  bool
	block   time.Duration
	forever bool
}

// limit bounds a call of the shape s: by the caller's deadline and by the
// part's, whichever comes first.
func (c *Client) limit(ctx context.Context, s shape) bound {
	b := bound{ns: c.ns, ctx: ctx, caller: ctx}
	callerDeadline, hasCaller := ctx.Deadline()
	own := c.timeout > 0 && !s.forever
	if own {
		b.ownDeadline = time.Now().Add(c.timeout + s.block)
		own = !hasCaller || b.ownDeadline.Before(callerDeadline)
	}
	if own {
		b.own = c.deadlineError(c.timeout + s.block)
	}
	if s.pooled {
		// A connection of the call's own: the earlier deadline goes to
		// rueidis as it is (it bounds the dial of that connection too).
		// There rueidis waits on the socket, and sees a cancellation only
		// at the deadline.
		if own {
			var cancel context.CancelFunc
			b.ctx, cancel = context.WithDeadlineCause(seam.Honest(ctx), b.ownDeadline, b.own)
			b.cancel, b.ends = func(error) { cancel() }, b.own
		}
		return b
	}
	if hasCaller {
		// rueidis gets the caller's context without its deadline, which
		// still ends when the caller's does: a view, not a derived context
		// (those cost a cache hit six allocations, four times its time).
		b.ctx = withoutDeadline{ctx}
	}
	timer, cause := c.timeout, b.own
	if !own && hasCaller && ctx.Done() == nil {
		// A deadline that nothing ends (a context that breaks its
		// contract, Done nil): without it, rueidis would wait forever.
		own, timer, cause = true, time.Until(callerDeadline), &DeadlineError{Namespace: c.ns, By: callersDeadline}
	}
	if own {
		var cancel context.CancelCauseFunc
		b.ctx, cancel = context.WithCancelCause(seam.Honest(b.ctx))
		b.cancel, b.ends = cancel, cause
		if timer <= 0 { // passed already: rueidis must send nothing
			cancel(cause)
			return b
		}
		b.stop = time.AfterFunc(timer, func() { cancel(cause) }).Stop
	}
	return b
}

// callersDeadline is DeadlineError.By for the caller's deadline.
const callersDeadline = "the caller's context deadline"

// withoutDeadline is a context without its deadline: its Done and values
// are those of the context it holds, and its Err as seam.Honest's, so a
// call given it still ends when that context ends, but rueidis puts no
// deadline on the socket.
type withoutDeadline struct{ context.Context }

func (withoutDeadline) Deadline() (time.Time, bool) { return time.Time{}, false }

func (w withoutDeadline) Err() error { return seam.ContextErr(w.Context) }

// failed turns the error of a result that a deadline ended into one that
// says which deadline it was: a *DeadlineError (matching
// context.DeadlineExceeded), or the caller's cancellation. On a pooled
// connection rueidis's socket deadline may fire before the context's
// timer marks the context done: the deadline's time tells then.
func (b bound) failed(r rueidis.RedisResult) rueidis.RedisResult {
	err := r.Error()
	if err == nil {
		return r
	}
	if _, ok := rueidis.IsRedisErr(err); ok {
		return r // the server's reply
	}
	callerErr := seam.ContextErr(b.caller)
	if callerErr == nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return r // no context ended it: a connection's error, say
	}
	// Only the part's own timer's cause is taken at its word: a cause the
	// caller's context carries (errgroup's first error, another part's
	// DeadlineError) is not this call's.
	if b.ends != nil && errors.Is(context.Cause(b.ctx), b.ends) {
		return rueidis.NewErrorResult(b.ends)
	}
	now := time.Now()
	if b.own != nil && !now.Before(b.ownDeadline) {
		return rueidis.NewErrorResult(b.own)
	}
	if dl, ok := b.caller.Deadline(); ok && !now.Before(dl) || errors.Is(callerErr, context.DeadlineExceeded) {
		return rueidis.NewErrorResult(&DeadlineError{Namespace: b.ns, By: callersDeadline})
	}
	if callerErr != nil {
		return rueidis.NewErrorResult(callerErr)
	}
	return r
}

// end releases what limit took.
func (b bound) end() {
	if b.stop != nil {
		b.stop()
	}
	if b.cancel != nil {
		b.cancel(nil)
	}
}

// deadlineError is the error of a command the part's timeout d ended.
func (c *Client) deadlineError(d time.Duration) *DeadlineError {
	by := c.timeoutBy
	if by == "" {
		by = "the part's command timeout"
	}
	return &DeadlineError{Namespace: c.ns, Timeout: d, By: by}
}

// blockTime is how long a blocking command asks the server to wait:
// BLPOP's seconds, XREAD's BLOCK milliseconds; forever for 0 and for a
// command whose timeout cannot be read.
func blockTime(args []string) (d time.Duration, forever bool) {
	if len(args) == 0 {
		return 0, true
	}
	seconds := func(s string) (time.Duration, bool) {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f <= 0 {
			return 0, true
		}
		return time.Duration(f * float64(time.Second)), false
	}
	millis := func(s string) (time.Duration, bool) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			return 0, true
		}
		return time.Duration(n) * time.Millisecond, false
	}
	last := args[len(args)-1]
	switch strings.ToUpper(args[0]) {
	case "BLPOP", "BRPOP", "BZPOPMIN", "BZPOPMAX", "BRPOPLPUSH", "BLMOVE":
		return seconds(last)
	case "BLMPOP", "BZMPOP":
		if len(args) > 1 {
			return seconds(args[1])
		}
	case "WAIT":
		if len(args) > 2 {
			return millis(args[2])
		}
	case "WAITAOF":
		if len(args) > 3 {
			return millis(args[3])
		}
	case "XREAD", "XREADGROUP":
		for i := 1; i+1 < len(args); i++ {
			if strings.EqualFold(args[i], "STREAMS") {
				break
			}
			if strings.EqualFold(args[i], "BLOCK") {
				return millis(args[i+1])
			}
		}
	}
	return 0, true
}

// serverTick is added to a blocking command's own time: Redis before 7.0
// ends a blocked client's wait on its 10 Hz tick, up to 100 ms after the
// time asked (TestBlockingCommandGetsItsOwnTimeToo failed on 6.2.16 with
// a 100 ms part timeout).
const serverTick = 100 * time.Millisecond

// shapeOf is the shape of one command.
func shapeOf(cmd rueidis.Completed) shape {
	if !cmd.IsBlock() {
		return shape{}
	}
	block, forever := blockTime(cmd.Commands())
	return shape{pooled: true, block: block + serverTick, forever: forever}
}

// batchShape is the shape of a DoMulti: pooled when one command blocks
// (the longest blocking time counts) or the batch is very large.
func batchShape(multi []rueidis.Completed) shape {
	s := shape{pooled: len(multi) >= pooledMulti}
	for _, cmd := range multi {
		if one := shapeOf(cmd); one.pooled {
			s = shape{pooled: true, block: max(s.block, one.block), forever: s.forever || one.forever}
		}
	}
	return s
}

// callerFailed is bound.failed for a call that only its caller's context
// bounds: it says which deadline ended the call, and gives a call that its
// context ended its own error (a cached read waiting for another caller's
// fetch gets that caller's error, and rueidis retries it only while its
// own context is alive).
//
// When the part has no timeout of its own, a call under its caller's
// deadline takes a shorter way than limit: rueidis gets the caller's
// context without its deadline, and there is no bound to build and end
// (through limit, a cache hit under a deadline cost 1.7 times as much,
// BenchmarkCacheHitPaired).
func (c *Client) callerFailed(caller context.Context, r *rueidis.RedisResult) {
	if !rueidisx.Plain(r) {
		*r = bound{ns: c.ns, caller: caller}.failed(*r)
	}
}

// boundedDo is the shared connection's Do, bounded.
func (c *Client) boundedDo(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	if c.timeout == 0 && !cmd.IsBlock() && ctx.Done() != nil { // not pooled: see callerFailed
		r := c.shared.Do(withoutDeadline{ctx}, cmd)
		c.callerFailed(ctx, &r)
		return r
	}
	b := c.limit(ctx, shapeOf(cmd))
	defer b.end()
	return b.failed(c.shared.Do(b.ctx, cmd))
}

// boundedDoMulti is the shared connection's DoMulti, bounded.
func (c *Client) boundedDoMulti(ctx context.Context, multi []rueidis.Completed) []rueidis.RedisResult {
	b := c.limit(ctx, batchShape(multi))
	defer b.end()
	rs := c.shared.DoMulti(b.ctx, multi...)
	for i := range rs {
		rs[i] = b.failed(rs[i])
	}
	return rs
}

// boundedDoCache is the shared connection's DoCache, bounded.
func (c *Client) boundedDoCache(ctx context.Context, cmd rueidis.Cacheable, ttl time.Duration) rueidis.RedisResult {
	if c.timeout == 0 && ctx.Done() != nil { // see callerFailed
		r := c.shared.DoCache(withoutDeadline{ctx}, cmd, ttl)
		c.callerFailed(ctx, &r)
		return r
	}
	b := c.limit(ctx, shape{})
	defer b.end()
	return b.failed(c.shared.DoCache(b.ctx, cmd, ttl))
}

// boundedDoMultiCache is the shared connection's DoMultiCache, bounded.
func (c *Client) boundedDoMultiCache(ctx context.Context, multi []rueidis.CacheableTTL) []rueidis.RedisResult {
	// Never pooled, however large: rueidis sends a DoMultiCache on the
	// shared connection (without a cache, as its DoMulti), so it must not
	// see a deadline.
	b := c.limit(ctx, shape{})
	defer b.end()
	rs := c.shared.DoMultiCache(b.ctx, multi...)
	for i := range rs {
		rs[i] = b.failed(rs[i])
	}
	return rs
}
