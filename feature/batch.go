package feature

// Batches: checked whole before any of their commands is written.

import (
	"context"
	"fmt"
	"unsafe"

	"github.com/redis/rueidis"
	"github.com/wireredis/wireredis/internal/rueidisx"
)

// rewriteAll rewrites a batch; when a command cannot be sent, it returns
// its error and index, and leaves the batch as it was. On the shared
// connection (at is inBatch or inStream) a batch must leave no
// transaction open behind it (see txnState); on a dedicated connection
// (ded not nil) its transaction and slot are followed from ded, which is
// updated when the batch can go.
func (c *Client) rewriteAll(ctx context.Context, multi []rueidis.Completed, at where, ded *dedicatedState) ([]rueidis.Completed, []replyNames, int, error) {
	out := make([]rueidis.Completed, len(multi))
	names := make([]replyNames, len(multi))
	later := make(heldWrites, 0, len(multi))
	if i := sentTwice(multi); i >= 0 {
		return nil, nil, i, c.fail(commandName(multi[i]), "the same command is in the batch twice: rueidis recycles a command once it is sent, and would give both the same recycled arguments; Pin a command to send it more than once", ErrBadArguments)
	}
	var state dedicatedState
	if ded != nil {
		state = *ded
	}
	shared := at == inBatch || at == inStream
	for i, cmd := range multi {
		args := cmd.Commands()
		spec, skip, err := c.lookup(ctx, args)
		if err == nil {
			err = state.txn.next(c, spec.Name, len(args), shared)
		}
		if err == nil {
			out[i], err = c.rewriteAs(cmd, args, spec, skip, &later, at)
			names[i] = namesOf(spec)
			markTransaction(names, i, spec.Name)
		}
		if err != nil {
			return nil, nil, i, err
		}
		if shared && spec.Name == "MULTI" {
			out[i] = apartFromSubscriptions(c.shared.B(), out[i])
		}
	}
	var err error
	switch {
	case shared:
		if err = state.txn.end(c); err == nil {
			err = c.oneNodeBatch(out, at == inStream)
		}
	case ded != nil:
		err = c.dedicatedSlot(out, &state)
	}
	if err != nil {
		return nil, nil, len(multi) - 1, err
	}
	c.writeHeld(later)
	if ded != nil {
		*ded = state
	}
	return out, names, 0, nil
}

// sentTwice returns the index of an unpinned command that the batch holds
// a second time (the same arguments, not equal ones), or -1.
func sentTwice(multi []rueidis.Completed) int {
	return sentTwiceOf(len(multi), func(i int) *rueidis.Completed { return &multi[i] })
}

func sentTwiceOf(n int, cmd func(int) *rueidis.Completed) int {
	const small = 16 // compared pairwise; a larger batch gets a map
	var seen map[*string]bool
	if n > small {
		seen = make(map[*string]bool, n)
	}
	for i := range n {
		args := cmd(i).Commands()
		if len(args) == 0 || !rueidisx.Unpinned(cmd(i)) {
			continue
		}
		p := unsafe.SliceData(args)
		if seen != nil {
			if seen[p] {
				return i
			}
			seen[p] = true
			continue
		}
		for j := range i {
			if a := cmd(j).Commands(); len(a) > 0 && unsafe.SliceData(a) == p {
				return i
			}
		}
	}
	return -1
}

// oneNodeBatch refuses, on a cluster, a batch that rueidis cannot route: a
// command without keys (MULTI, PING, ...) goes to the node of the keyed
// commands around it, so these must all share one slot (rueidis panics
// otherwise), and so must a streamed batch's (oneSlot).
func (c *Client) oneNodeBatch(out []rueidis.Completed, oneSlot bool) error {
	if !c.isCluster() {
		return nil
	}
	unslotted, slot, slots := false, uint16(0), 0
	for _, cmd := range out {
		switch s := cmd.Slot(); {
		case s >= rueidisx.InitSlot:
			unslotted = true
		case slots == 0 || s != slot:
			slot = s
			slots++
		}
	}
	switch {
	case oneSlot && slots > 1:
		return c.crossSlot("DoMultiStream", "a streamed batch is sent to one node")
	case unslotted && slots > 1:
		return c.crossSlot("DoMulti", "a batch with a command without keys, such as MULTI, is sent to one node")
	}
	return nil
}

// rewriteAllCacheable is rewriteAll for DoMultiCache.
func (c *Client) rewriteAllCacheable(ctx context.Context, multi []rueidis.CacheableTTL) ([]rueidis.CacheableTTL, []replyNames, int, error) {
	out := make([]rueidis.CacheableTTL, len(multi))
	names := make([]replyNames, len(multi))
	later := make(heldWrites, 0, len(multi))
	if i := sentTwiceOf(len(multi), func(i int) *rueidis.Completed { return (*rueidis.Completed)(&multi[i].Cmd) }); i >= 0 {
		return nil, nil, i, c.fail(commandName(rueidis.Completed(multi[i].Cmd)), "the same command is in the batch twice: rueidis recycles a command once it is sent; Pin a command to send it more than once", ErrBadArguments)
	}
	for i, m := range multi {
		if m.Cmd.IsMGet() {
			return nil, nil, i, c.fail("MGET", "rueidis caches an MGET through DoCache only (in DoMultiCache it panics); send its keys as GETs here", ErrBadArguments)
		}
		cmd, n, err := c.rewriteCacheable(ctx, m.Cmd, &later)
		if err != nil {
			return nil, nil, i, err
		}
		out[i], names[i] = rueidis.CacheableTTL{Cmd: cmd, TTL: m.TTL}, n
	}
	c.writeHeld(later)
	return out, names, 0, nil
}

func batchFailed(n, failed int, err error) []rueidis.RedisResult {
	results := make([]rueidis.RedisResult, n)
	notSent := fmt.Errorf("wireredis: %w: command %d of the batch was refused: %w", ErrNotSent, failed+1, err)
	for i := range results {
		if i == failed {
			results[i] = rueidis.NewErrorResult(err)
		} else {
			results[i] = rueidis.NewErrorResult(notSent)
		}
	}
	return results
}

// apartFromSubscriptions marks a transaction's MULTI blocking, so that
// rueidis sends its batch on a pooled connection of its own rather than
// on the pipeline the parts share. Redis 7.0 may write a Pub/Sub message
// in the middle of an EXEC reply, which rueidis v1.0.79 cannot read: its
// reading goroutine panics and the process ends, whichever part sent the
// transaction (TestPubSubClusterAttackSharedTransactionCrash). A part's
// own Receive no longer runs on the pipeline (receiveApart), but the
// rueidis client given to New may carry its owner's subscriptions.
func apartFromSubscriptions(b rueidis.Builder, multi rueidis.Completed) rueidis.Completed {
	if multi.IsBlock() {
		return multi
	}
	return finishBlocking(multi, b.Arbitrary(multi.Commands()...))
}
