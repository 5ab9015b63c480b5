package feature

// Dedicated connections: a connection the part has to itself, for
// WATCH/MULTI/EXEC and blocking reads; what it may send, and what it
// closes before rueidis takes it back.

import (
	"context"
	"sync"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/keyspec"
	"github.com/wireredis/wireredis/internal/rueidisx"
)

// Dedicated runs fn with a connection of its own (for WATCH/MULTI/EXEC);
// the DedicatedClient fn gets is namespaced too.
//
// A transaction fn may have left open (MULTI without EXEC, WATCH without
// EXEC or UNWATCH) is closed before rueidis takes the connection back.
func (c *Client) Dedicated(fn func(rueidis.DedicatedClient) error) error {
	return c.shared.Dedicated(func(d rueidis.DedicatedClient) error {
		dd := &dedicated{d: d, c: c}
		defer dd.close()
		return fn(dd)
	})
}

// Dedicate is Dedicated without a callback: call cancel to give the
// connection back.
func (c *Client) Dedicate() (rueidis.DedicatedClient, func()) {
	d, cancel := c.shared.Dedicate()
	dd := &dedicated{d: d, c: c}
	return dd, func() {
		dd.close()
		cancel()
	}
}

// dedicated is a namespaced rueidis.DedicatedClient. Like rueidis's, it
// may be used by several goroutines (a Receive beside commands, say).
type dedicated struct {
	d  rueidis.DedicatedClient
	c  *Client
	mu sync.Mutex
	// state follows the connection's transaction and slot; guarded by mu.
	state dedicatedState
	// invalidations is set once SetOnInvalidations installed a hook;
	// guarded by mu.
	invalidations bool
}

// close ends what a transaction left open, before rueidis takes the
// connection back.
func (d *dedicated) close() {
	d.mu.Lock()
	txn, invalidations := d.state.txn, d.invalidations
	d.mu.Unlock()
	txn.close(d.d)
	if invalidations {
		d.d.SetOnInvalidations(nil) // see SetOnInvalidations
	}
}

// rewrite rewrites commands for the connection, and follows its state.
func (d *dedicated) rewrite(ctx context.Context, multi []rueidis.Completed) ([]rueidis.Completed, []replyNames, int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.c.rewriteAll(ctx, multi, onDedicated, &d.state)
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
	if d.c.obs != nil {
		return d.observedDo(ctx, cmd)
	}
	return d.do(ctx, cmd)
}

func (d *dedicated) do(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	out, names, _, err := d.rewrite(ctx, []rueidis.Completed{cmd})
	if err != nil {
		return rueidis.NewErrorResult(err)
	}
	return d.c.unprefix(d.d.Do(ctx, out[0]), names[0], false)
}

func (d *dedicated) DoMulti(ctx context.Context, multi ...rueidis.Completed) []rueidis.RedisResult {
	if d.c.obs != nil && len(multi) > 0 {
		return d.observedDoMulti(ctx, multi)
	}
	return d.doMulti(ctx, multi)
}

func (d *dedicated) doMulti(ctx context.Context, multi []rueidis.Completed) []rueidis.RedisResult {
	out, names, at, err := d.rewrite(ctx, multi)
	if err != nil {
		return batchFailed(len(multi), at, err)
	}
	return d.c.unprefixAll(d.d.DoMulti(ctx, out...), names, false)
}

func (d *dedicated) Receive(ctx context.Context, subscribe rueidis.Completed, fn func(msg rueidis.PubSubMessage)) error {
	if d.c.obs != nil {
		return d.observedReceive(ctx, subscribe, fn)
	}
	return d.receive(ctx, subscribe, fn)
}

func (d *dedicated) receive(ctx context.Context, subscribe rueidis.Completed, fn func(msg rueidis.PubSubMessage)) error {
	subscribe, err := d.rewriteReceive(ctx, subscribe)
	if err != nil {
		return err
	}
	return d.d.Receive(ctx, subscribe, d.c.stripMessage(fn))
}

// rewriteReceive rewrites a subscription for the connection, and follows
// its state.
func (d *dedicated) rewriteReceive(ctx context.Context, subscribe rueidis.Completed) (rueidis.Completed, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
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
