package counted

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/rueidisx"
)

// maxBatch bounds a batch: rueidis sends a pipeline of BlockingPipeline
// (2000) commands or more over a pooled connection of its own, and a
// bounded batch lets the next one form while it is on the wire.
const maxBatch = 256

// batchesInFlight is how many batches the calls under way are spread
// over: one at a time would leave the client idle while the server works
// (and the server while the client reads). Measured with 64 to 1024
// goroutines (exploring runs of bench/, see the notes of
// docs/benchmarks.md): 4 and 8 alike, 2 and 1 slower.
const batchesInFlight = 4

// minBatch is the smallest batch sent: a DoMulti costs three allocations
// (rueidis's results), so a smaller one would cost its commands more than
// they save. The calls of a smaller batch are sent one by one, each by its
// caller, as rueidis sends them.
const minBatch = 4

// minLoad is the number of Do calls under way from which a call joins a
// batch rather than going straight to rueidis: enough for batches of
// minBatch, batchesInFlight at a time. With fewer, batches would be small
// and sent one at a time, and their hand-offs cost more than the writes
// they save (8 goroutines measured 0.88 × raw rueidis batching from two
// calls under way, pinned).
const minLoad = minBatch * batchesInFlight

// call is one Do waiting in a batch. Its done channel is buffered, so the
// batch's sender never waits for the caller; state says who recycles it
// when the caller's context ends first.
type call struct {
	cmd    rueidis.Completed
	result rueidis.RedisResult
	// alone, when done is signalled, sends the command back to its caller
	// to send by itself: its batch was too small.
	alone bool
	done  chan struct{}
	state atomic.Uint32
}

// The states of a call.
const (
	waiting   uint32 = iota
	answered         // the sender delivered the result; the caller recycles the call
	abandoned        // the caller left (its context ended); the sender recycles the call
)

var calls = sync.Pool{New: func() any { return &call{done: make(chan struct{}, 1)} }}

func getCall(cmd rueidis.Completed) *call {
	c := calls.Get().(*call)
	c.cmd = cmd
	return c
}

func putCall(c *call) {
	c.cmd, c.result, c.alone = rueidis.Completed{}, rueidis.RedisResult{}, false
	c.state.Store(waiting)
	calls.Put(c)
}

// batch is the calls that one DoMulti sends.
type batch struct {
	calls []*call
}

var batches = sync.Pool{New: func() any { return new(batch) }}

func putBatch(b *batch) {
	clear(b.calls)
	b.calls = b.calls[:0]
	batches.Put(b)
}

// lane collects one kind of call into the batch being filled.
type lane struct {
	mu      sync.Mutex
	filling *batch // nil: the next call starts a batch and leads it
	// closed counts the batches closed, so that a leader knows whether
	// its batch is still filling (batches are recycled: the pointer may
	// be another's by then).
	closed uint64
}

// batcher joins the concurrent Do calls of a connection into DoMulti
// pipelines while other commands are in flight.
//
// The first call of a batch leads it: it yields to the goroutines that
// are ready to run (runtime.Gosched), which add their calls, then sends
// the batch. There is no timer: the batch is what the other goroutines
// had ready, so it grows with the load and is empty of waiting at rest.
type batcher struct {
	client rueidis.Client
	n      *Counters
	// busy counts the batchable Do calls under way: one alone goes
	// straight to rueidis.
	busy atomic.Int64
	// split puts retryable commands in batches of their own, on a single
	// node: rueidis's DoMulti retries a pipeline only when all of its
	// commands may be retried, and sends it to a replica (Sentinel with
	// SendToReplicas) only when all of them are read-only. Read-only
	// commands, the other retryable ones and the rest each have a lane. A
	// cluster client retries and routes each command of a pipeline by
	// itself.
	split bool
	lanes [3]lane
}

func newBatcher(client rueidis.Client, n *Counters, mode rueidis.ClientMode) *batcher {
	return &batcher{client: client, n: n, split: mode != rueidis.ClientModeCluster}
}

// do sends cmd straight to rueidis, or, with minLoad calls under way, in a
// batch; either way it counts it finished.
func (b *batcher) do(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	defer b.busy.Add(-1)
	if b.busy.Add(1) > minLoad {
		return b.join(ctx, cmd)
	}
	r := b.client.Do(ctx, cmd)
	b.n.done(1, failed(&r))
	return r
}

// join sends cmd in a batch with the Do calls that come while it forms,
// and counts it finished (or failed, when ctx ends first: the command is
// then counted finished when its batch is answered).
func (b *batcher) join(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	if err := ctx.Err(); err != nil { // rueidis sends nothing for a context already over
		r := rueidis.NewErrorResult(err)
		b.n.done(1, 1)
		return r
	}
	l := &b.lanes[0]
	if b.split {
		switch {
		case cmd.IsReadOnly():
			l = &b.lanes[1]
		case cmd.IsRetryable():
			l = &b.lanes[2]
		}
	}
	c := getCall(cmd)
	l.mu.Lock()
	bt := l.filling
	lead := bt == nil
	if lead {
		bt = batches.Get().(*batch)
		l.filling = bt
	}
	bt.calls = append(bt.calls, c)
	epoch := l.closed
	// Whoever fills a batch sends it: full, or holding a quarter of the
	// calls under way, so that about four batches are in flight and the
	// server works on one while the client fills the next.
	n := len(bt.calls)
	send := !lead && (n == maxBatch || n >= minBatch && int64(n*batchesInFlight) >= b.busy.Load())
	if send {
		l.filling = nil
		l.closed++
	}
	l.mu.Unlock()
	if lead {
		runtime.Gosched() // the goroutines ready to run add their commands
		l.mu.Lock()
		if l.closed == epoch {
			l.filling = nil
			l.closed++
			send = true
		}
		l.mu.Unlock()
	}
	if send {
		if len(bt.calls) < minBatch {
			// Too few came: each command goes alone, as rueidis sends it.
			for _, o := range bt.calls {
				if o != c {
					o.alone = true
					b.deliver(o)
				}
			}
			putBatch(bt)
			putCall(c)
			r := b.client.Do(ctx, cmd)
			b.n.done(1, failed(&r))
			return r
		}
		// The batch is sent with a context of its own: a caller whose
		// context ends leaves it, and the others carry on. A caller whose
		// context cannot end may send it itself.
		if ctx.Done() == nil {
			b.send(bt)
		} else {
			go b.send(bt)
		}
	}
	return b.wait(ctx, c)
}

// send sends the batch as one DoMulti and hands each call its result.
//
// The commands go in a slice of their own that nobody touches after
// DoMulti returns: on a broken connection rueidis's writer goroutine can
// still be reading it then (it writes every command of a pipeline even
// after a write error), and a slice cleared or reused by the next batch
// handed it a zero command, whose nil dereference ended the process
// (TestFaultBatchKilledConnection). The slice costs one allocation per
// batch, shared by its four or more commands.
func (b *batcher) send(bt *batch) {
	cmds := make([]rueidis.Completed, len(bt.calls))
	for i, c := range bt.calls {
		cmds[i] = c.cmd
	}
	rs := b.doMulti(cmds)
	if rs == nil {
		// rueidis panicked: each command goes alone, from its caller, so
		// that its batch-mates are served and the panic, if it comes
		// again, comes where the caller can see it.
		for _, c := range bt.calls {
			c.alone = true
			b.deliver(c)
		}
		putBatch(bt)
		return
	}
	b.n.batched(len(bt.calls))
	for i, c := range bt.calls {
		c.result = rs[i]
		b.deliver(c)
	}
	putBatch(bt)
}

// doMulti is DoMulti, or nil when it panics: rueidis panics before it
// sends anything (a command it cannot route), and a batch may be sent from
// a goroutine of its own, where a panic would end the program.
func (b *batcher) doMulti(cmds []rueidis.Completed) (rs []rueidis.RedisResult) {
	defer func() {
		if recover() != nil {
			rs = nil
		}
	}()
	since := rueidisx.HoldAll(cmds) // see rueidisx.Hold
	rs = b.client.DoMulti(context.Background(), cmds...)
	rueidisx.RecycleAll(cmds, rs, since)
	return rs
}

// deliver wakes the caller of c, or, when it has left, counts its command
// finished and recycles c.
func (b *batcher) deliver(c *call) {
	if c.state.CompareAndSwap(waiting, answered) {
		c.done <- struct{}{}
		return
	}
	b.n.finished.Add(1)
	putCall(c)
}

// wait returns the call's result, or ctx's error as soon as ctx ends.
func (b *batcher) wait(ctx context.Context, c *call) rueidis.RedisResult {
	if done := ctx.Done(); done != nil {
		select {
		case <-c.done:
		case <-done:
			if c.state.CompareAndSwap(waiting, abandoned) {
				b.n.failed.Add(1)
				return rueidis.NewErrorResult(ctx.Err())
			}
			<-c.done // answered meanwhile
		}
	} else {
		<-c.done
	}
	r, alone, cmd := c.result, c.alone, c.cmd
	putCall(c)
	if alone {
		r = b.client.Do(ctx, cmd)
	}
	b.n.done(1, failed(&r))
	return r
}
