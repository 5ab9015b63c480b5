package feature

// Telemetry: a part opened from a registry with hooks (the telemetry
// package's) reports each command it sends, and each batch, to its
// observer. Without one, each entry point costs one comparison.

import (
	"context"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/seam"
)

// withObserver reports the part's operations to obs (nil: none).
func withObserver(obs seam.Part) Option { return func(c *Client) { c.obs = obs } }

// opName names a command for telemetry, never by its arguments: the name
// the key table, a registration or the server (REDIS_LEARN_COMMANDS) gives
// it (GET, CLIENT SETNAME). A command none of them knows is refused
// unsent, and named UNKNOWN: its first word may be a key or a value passed
// by mistake, and names chosen by callers would make the metrics' series
// unbounded. It is read before the command is rewritten; the rewrite's own
// lookup then finds it in the memory of recent commands (or the learner's).
func (c *Client) opName(ctx context.Context, args []string) string {
	if spec, _, err := c.find(ctx, args); err == nil {
		return spec.Name
	}
	return unknownOp
}

// unknownOp names every command the part does not know.
const unknownOp = "UNKNOWN"

// batchName is the name the commands of a batch share, or "".
func batchName[T any](ctx context.Context, c *Client, multi []T, args func(T) []string) string {
	name := ""
	for i, m := range multi {
		n := c.opName(ctx, args(m))
		if i > 0 && n != name {
			return ""
		}
		name = n
	}
	return name
}

// begin starts the observation of n commands named name (see
// seam.Part.Begin): one command is no batch.
func (c *Client) begin(ctx context.Context, name string, n int) (context.Context, seam.Op) {
	if n == 1 {
		n = 0
	}
	return c.obs.Begin(ctx, name, n)
}

// outcome is how one command ended.
func outcome(r *rueidis.RedisResult, cached bool) seam.Outcome {
	o := seam.Outcome{Cached: cached}
	if err := r.Error(); err != nil && !rueidis.IsRedisNil(err) {
		o.Err, o.Failed = err, 1
	}
	if cached && r.IsCacheHit() {
		o.CacheHits = 1
	}
	return o
}

// outcomes is how a batch ended.
func outcomes(rs []rueidis.RedisResult, cached bool) seam.Outcome {
	o := seam.Outcome{Cached: cached}
	for i := range rs {
		one := outcome(&rs[i], cached)
		if o.Err == nil {
			o.Err = one.Err
		}
		o.Failed += one.Failed
		o.CacheHits += one.CacheHits
	}
	return o
}

func failure(err error) seam.Outcome {
	if err == nil {
		return seam.Outcome{}
	}
	return seam.Outcome{Err: err, Failed: 1}
}

func completedArgs(cmd rueidis.Completed) []string { return cmd.Commands() }

func cacheableArgs(m rueidis.CacheableTTL) []string { return m.Cmd.Commands() }

func (c *Client) observedDo(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	ctx, op := c.begin(ctx, c.opName(ctx, cmd.Commands()), 1)
	r := c.do(ctx, cmd)
	c.obs.End(ctx, op, outcome(&r, false))
	return r
}

func (c *Client) observedDoMulti(ctx context.Context, multi []rueidis.Completed) []rueidis.RedisResult {
	if len(multi) == 0 {
		return c.doMulti(ctx, multi) // nothing is sent
	}
	ctx, op := c.begin(ctx, batchName(ctx, c, multi, completedArgs), len(multi))
	rs := c.doMulti(ctx, multi)
	c.obs.End(ctx, op, outcomes(rs, false))
	return rs
}

func (c *Client) observedDoCache(ctx context.Context, cmd rueidis.Cacheable, ttl time.Duration) rueidis.RedisResult {
	ctx, op := c.begin(ctx, c.opName(ctx, cmd.Commands()), 1)
	r := c.doCache(ctx, cmd, ttl)
	c.obs.End(ctx, op, outcome(&r, true))
	return r
}

func (c *Client) observedDoMultiCache(ctx context.Context, multi []rueidis.CacheableTTL) []rueidis.RedisResult {
	if len(multi) == 0 {
		return c.doMultiCache(ctx, multi)
	}
	ctx, op := c.begin(ctx, batchName(ctx, c, multi, cacheableArgs), len(multi))
	rs := c.doMultiCache(ctx, multi)
	c.obs.End(ctx, op, outcomes(rs, true))
	return rs
}

// A streamed reply is read after DoStream returns: its operation ends
// when the command is sent, or fails.
func (c *Client) observedDoStream(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResultStream {
	ctx, op := c.begin(ctx, c.opName(ctx, cmd.Commands()), 1)
	s := c.doStream(ctx, cmd)
	c.obs.End(ctx, op, failure(s.Error()))
	return s
}

func (c *Client) observedDoMultiStream(ctx context.Context, multi []rueidis.Completed) rueidis.MultiRedisResultStream {
	if len(multi) == 0 {
		return c.doMultiStream(ctx, multi)
	}
	ctx, op := c.begin(ctx, batchName(ctx, c, multi, completedArgs), len(multi))
	s := c.doMultiStream(ctx, multi)
	c.obs.End(ctx, op, failure(s.Error()))
	return s
}

// A subscription is one operation, from the subscribe command to the end
// of Receive; the messages it receives are not observed.
func (c *Client) observedReceive(ctx context.Context, subscribe rueidis.Completed, fn func(msg rueidis.PubSubMessage)) error {
	ctx, op := c.begin(ctx, c.opName(ctx, subscribe.Commands()), 1)
	err := c.receive(ctx, subscribe, fn)
	c.obs.End(ctx, op, failure(err))
	return err
}

// A dedicated connection's commands are the part's.

func (d *dedicated) observedDo(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	ctx, op := d.c.begin(ctx, d.c.opName(ctx, cmd.Commands()), 1)
	r := d.do(ctx, cmd)
	d.c.obs.End(ctx, op, outcome(&r, false))
	return r
}

func (d *dedicated) observedDoMulti(ctx context.Context, multi []rueidis.Completed) []rueidis.RedisResult {
	ctx, op := d.c.begin(ctx, batchName(ctx, d.c, multi, completedArgs), len(multi))
	rs := d.doMulti(ctx, multi)
	d.c.obs.End(ctx, op, outcomes(rs, false))
	return rs
}

func (d *dedicated) observedReceive(ctx context.Context, subscribe rueidis.Completed, fn func(msg rueidis.PubSubMessage)) error {
	ctx, op := d.c.begin(ctx, d.c.opName(ctx, subscribe.Commands()), 1)
	err := d.receive(ctx, subscribe, fn)
	d.c.obs.End(ctx, op, failure(err))
	return err
}

// sendObserved sends cmd, already in the namespace, to node (Scan's SCAN,
// its CLUSTER SLOTS), observed as the part's command named name.
func (c *Client) sendObserved(ctx context.Context, node rueidis.Client, cmd rueidis.Completed, name string) rueidis.RedisResult {
	if c.obs == nil {
		return node.Do(ctx, cmd)
	}
	ctx, op := c.begin(ctx, name, 1)
	r := node.Do(ctx, cmd)
	c.obs.End(ctx, op, outcome(&r, false))
	return r
}
