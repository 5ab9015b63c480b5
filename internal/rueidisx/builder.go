package rueidisx

import (
	"context"
	"crypto/tls"
	"errors"
	"net"

	"github.com/redis/rueidis"
)

// The slots rueidis gives commands besides the 16384 of a cluster
// (its internal cmds.InitSlot and cmds.NoSlot).
const (
	// InitSlot is the slot of a cluster command without a key, where the
	// cluster's slots end: such a command may go to any node.
	InitSlot = 1 << 14
	// SingleNodeMark is set in the Slot() of commands built by a
	// single-node builder. A cluster client must not be handed such a
	// command as it is.
	SingleNodeMark = 1 << 15
)

// SingleNodeBuilder returns a builder of the single-node kind, whose
// commands carry no cluster-slot check: for commands built before the
// connection is known (deferred parts), or whose keys as written are not
// the keys sent (hash-tag parts, whose prefixed keys share a slot that the
// unprefixed ones do not). It makes, and closes, a ForceSingleClient
// client whose dial always fails, so no connection is attempted.
func SingleNodeBuilder() rueidis.Builder {
	c, err := rueidis.NewClient(rueidis.ClientOption{
		InitAddress: []string{"rueidisx:0"}, ForceSingleClient: true, DisableCache: true,
		DialCtxFn: func(context.Context, string, *net.Dialer, *tls.Config) (net.Conn, error) {
			return nil, errNoDial
		},
	})
	if c == nil {
		// rueidis creates a single client without dialling (the dial
		// fails lazily); if that ever changes, no builder of the kind can
		// be made, and rueidis.Builder{} would be a cluster builder pinned
		// to slot 0, wrong for every other slot.
		panic("rueidisx: rueidis no longer makes a single client without dialling: " + err.Error())
	}
	defer c.Close()
	return c.B()
}

var errNoDial = errors.New("rueidisx: no dial")
