package feature

// Dedicated connections: a connection the part has to itself, for
// WATCH/MULTI/EXEC and blocking reads; what it may send, and what it
// closes before rueidis takes it back.

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/keyspec"
	"github.com/wireredis/wireredis/internal/rueidisx"
)

// Dedicated runs fn with a connection of its own (for WATCH/MULTI/EXEC);
// the DedicatedClient fn gets is namespaced too.
//
// A transaction fn may have left open (MULTI without EXEC, WATCH without
// EXEC or UNWATCH) is closed before rueidis takes the connection back;
// commands sent on it after fn returned fail with
// rueidis.ErrDedicatedClientRecycled.
func (c *Client) Dedicated(fn func(rueidis.DedicatedClient) error) error {
	return c.shared.Dedicated(func(d rueidis.DedicatedClient) error {
		dd := newDedicated(d, c)
		defer dd.close()
		return fn(dd)
	})
}

// Dedicate is Dedicated without a callback: call cancel to give the
// connection back.
func (c *Client) Dedicate() (rueidis.DedicatedClient, func()) {
	d, cancel := c.shared.Dedicate()
	dd := newDedicated(d, c)
	return dd, func() {
		dd.close()
		cancel()
	}
}

// dedicated is a namespaced rueidis.DedicatedClient. Like rueidis's, it
// may be used by several goroutines (a Receive beside commands, say), but
// its commands go one at a time: each holds the turn from its check to
// its reply, so that the part follows the connection's state (its
// transaction, its subscription, its cluster slot) in the order the
// server runs the commands. Checked under a lock and sent after it, a
// long batch checked first could run after a short command checked
// second, and rueidis then stopped the process (a read on a connection
// that had just subscribed, a PING that bound no slot, a SUBSCRIBE
// inside a MULTI the part thought ended: feature/attack2_test.go).
type dedicated struct {
	d rueidis.DedicatedClient
	c *Client
	// turn is held (a value in it) by the command under way, and by
	// close; state is guarded by it.
	turn  chan struct{}
	state dedicatedState
	// queued follows an open transaction's commands, whose replies
	// come in EXEC's; guarded by turn.
	queued queuedNames
	// givenBack is set once close began: commands after it fail.
	givenBack atomic.Bool
	mu        sync.Mutex
	// invalidations is set once SetOnInvalidations installed a hook;
	// guarded by mu.
	invalidations bool
}

func newDedicated(d rueidis.DedicatedClient, c *Client) *dedicated {
	return &dedicated{d: d, c: c, turn: make(chan struct{}, 1)}
}

// take waits for the turn, or for ctx, and fails once the connection is
// being given back.
func (d *dedicated) take(ctx context.Context) error {
	select {
	case d.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	if d.givenBack.Load() {
		d.give()
		return rueidis.ErrDedicatedClientRecycled
	}
	// The select picks at random when both are ready: a context already
	// done sends nothing, for sure, so that the part's view of an open
	// transaction stays the server's (see queuedNames).
	if err := ctx.Err(); err != nil {
		d.give()
		return err
	}
	return nil
}

// give ends the turn.
func (d *dedicated) give() { <-d.turn }

// close ends what a transaction left open, before rueidis takes the
// connection back. It waits (closeTimeout at most) for the command under
// way; a connection still busy after that (a blocking command) is closed
// rather than given back in a state the part cannot vouch for.
func (d *dedicated) close() {
	d.givenBack.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	select {
	case d.turn <- struct{}{}:
		d.state.txn.close(ctx, d.d)
		d.give()
	case <-ctx.Done():
		d.d.Close()
	}
	d.mu.Lock()
	invalidations := d.invalidations
	d.mu.Unlock()
	if invalidations {
		d.d.SetOnInvalidations(nil) // see SetOnInvalidations
	}
}

// dedicatedState is what a dedicated connection keeps between commands.
type dedicatedState struct {
	txn txnState
	// slot is the cluster slot a dedicated connection serves once a
	// command went out on it (rueidis binds it to the first); 0 before:
	// slot+1 is kept, so that the zero value means none, and keylessSlot
	// when the first command had no key.
	slot uint16
}

// keylessSlot marks a dedicated connection whose first command had no key
// (SUBSCRIBE, PING): rueidis binds it to any node, and panics on a keyed
// command after.
const keylessSlot = ^uint16(0)

// dedicatedSlot checks, on a cluster, that the commands of a dedicated
// connection keep to one slot: rueidis binds the connection to the slot
// of its first command and panics on another. A hash-tag part's commands
// without keys get its tag's slot (all its keys are there). A plain
// part's connection whose first command has no key (a subscriber's
// SUBSCRIBE) serves no slot: rueidis would panic on a keyed command after,
// which is refused instead.
func (c *Client) dedicatedSlot(out []rueidis.Completed, state *dedicatedState) error {
	if !c.isCluster() {
		return nil
	}
	for i := range out {
		s := out[i].Slot()
		if s >= rueidisx.InitSlot {
			switch {
			case c.hashTag:
				out[i] = out[i].SetSlot(c.prefix)
				s = out[i].Slot()
			case state.slot == 0:
				state.slot = keylessSlot
				continue
			default:
				continue
			}
		}
		switch {
		case state.slot == 0:
			state.slot = s + 1
		case state.slot == keylessSlot:
			return c.fail(commandName(out[i]), "on a cluster, a dedicated connection whose first command had no key serves no slot, and takes no keyed command; send a keyed command first (WATCH k), or use a hash-tag part", ErrBadArguments)
		case state.slot != s+1:
			return c.crossSlot(commandName(out[i]), "a dedicated connection on a cluster serves one slot")
		}
	}
	return nil
}

// B is the part's builder: a hash-tag part's callers write keys of other
// slots than the prefixed keys it sends.
func (d *dedicated) B() rueidis.Builder { return d.c.B() }

// Do sends cmd as a batch of one: its keys are written only once every
// check passed, the slot one included.
func (d *dedicated) Do(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	if cmd.IsEmpty() {
		return rueidis.NewErrorResult(d.c.empty())
	}
	if d.c.obs != nil {
		return d.observedDo(ctx, cmd)
	}
	return d.do(ctx, cmd)
}

func (d *dedicated) do(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	if err := d.take(ctx); err != nil {
		return rueidis.NewErrorResult(err)
	}
	defer d.give()
	out, names, _, err := d.c.rewriteAll(ctx, []rueidis.Completed{cmd}, onDedicated, &d.state)
	if err != nil {
		return rueidis.NewErrorResult(err)
	}
	return d.c.unprefixAll([]rueidis.RedisResult{d.d.Do(ctx, out[0])}, names, false, &d.queued)[0]
}

func (d *dedicated) DoMulti(ctx context.Context, multi ...rueidis.Completed) []rueidis.RedisResult {
	if i := firstEmpty(multi); i >= 0 {
		return batchFailed(len(multi), i, d.c.empty())
	}
	if d.c.obs != nil && len(multi) > 0 {
		return d.observedDoMulti(ctx, multi)
	}
	return d.doMulti(ctx, multi)
}

func (d *dedicated) doMulti(ctx context.Context, multi []rueidis.Completed) []rueidis.RedisResult {
	if err := d.take(ctx); err != nil {
		return errorResults(len(multi), err)
	}
	defer d.give()
	out, names, at, err := d.c.rewriteAll(ctx, multi, onDedicated, &d.state)
	if err != nil {
		return batchFailed(len(multi), at, err)
	}
	return d.c.unprefixAll(d.d.DoMulti(ctx, out...), names, false, &d.queued)
}

func (d *dedicated) Receive(ctx context.Context, subscribe rueidis.Completed, fn func(msg rueidis.PubSubMessage)) error {
	if subscribe.IsEmpty() {
		return d.c.empty()
	}
	if d.c.obs != nil {
		return d.observedReceive(ctx, subscribe, fn)
	}
	return d.receive(ctx, subscribe, fn)
}

// receive checks the subscription in its turn, marking the connection
// subscribed, and ends the turn before it subscribes: commands checked
// after it see the mark, and those before it have had their replies.
// Only Pub/Sub commands and PING may then run beside it (an UNSUBSCRIBE
// that ends it, say).
func (d *dedicated) receive(ctx context.Context, subscribe rueidis.Completed, fn func(msg rueidis.PubSubMessage)) error {
	if err := d.take(ctx); err != nil {
		return err
	}
	subscribe, err := d.rewriteReceive(ctx, subscribe)
	d.give()
	if err != nil {
		return err
	}
	return d.d.Receive(ctx, subscribe, d.c.stripMessage(fn))
}

// rewriteReceive rewrites a subscription for the connection, and follows
// its state; the caller holds the turn.
func (d *dedicated) rewriteReceive(ctx context.Context, subscribe rueidis.Completed) (rueidis.Completed, error) {
	state := d.state
	err := state.txn.next(d.c, commandName(subscribe), len(subscribe.Commands()), false)
	if err == nil {
		subscribe, err = d.c.rewriteSubscribe(ctx, subscribe, onDedicated)
	}
	if err == nil {
		one := []rueidis.Completed{subscribe}
		err = d.c.dedicatedSlot(one, &state)
		subscribe = one[0]
	}
	if err != nil {
		return subscribe, err
	}
	d.state = state
	return subscribe, nil
}

// SetPubSubHooks installs hooks that get channels and patterns with the
// namespace taken off.
func (d *dedicated) SetPubSubHooks(hooks rueidis.PubSubHooks) <-chan error {
	return d.d.SetPubSubHooks(d.c.stripHooks(hooks))
}

// SetOnInvalidations installs fn on the connection. close takes it off
// again before rueidis takes the connection back: rueidis answers an
// invalidation hook left on a connection with CLIENT TRACKING OFF, and the
// pooled connection would then serve other parts with tracking off. (A
// part cannot change the connection's tracking itself: CLIENT TRACKING is
// refused.)
func (d *dedicated) SetOnInvalidations(fn func([]rueidis.RedisMessage)) <-chan error {
	d.mu.Lock()
	d.invalidations = d.invalidations || fn != nil
	d.mu.Unlock()
	return d.d.SetOnInvalidations(fn)
}

// Close closes the dedicated connection only, as rueidis does; the shared
// client stays open.
func (d *dedicated) Close() { d.d.Close() }

// commandName is the name of a command, in upper case.
func commandName(cmd rueidis.Completed) string {
	if args := cmd.Commands(); len(args) > 0 {
		return keyspec.Upper(args[0])
	}
	return ""
}
