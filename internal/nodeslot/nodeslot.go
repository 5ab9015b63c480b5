// Package nodeslot makes rueidis command builders of the single-node kind,
// which rueidis does not export a constructor for: their commands carry no
// cluster-slot check. wireredis uses one where a command is built before
// the connection is known (deferred parts) or where the keys the caller
// writes are not the keys sent (hash-tag parts, whose prefixed keys share
// a slot that the unprefixed ones do not).
package nodeslot

import (
	"context"
	"crypto/tls"
	"errors"
	"net"

	"github.com/redis/rueidis"
)

// Mark is set in the Slot() of commands built by a single-node builder
// (rueidis's internal cmds.NoSlot). A cluster client must not be handed
// such a command as it is.
const Mark = 1 << 15

// Builder returns a single-node builder. It makes (and closes) a
// ForceSingleClient client whose dial always fails: no connection is
// attempted.
func Builder() rueidis.Builder {
	c, _ := rueidis.NewClient(rueidis.ClientOption{
		InitAddress: []string{"nodeslot:0"}, ForceSingleClient: true, DisableCache: true,
		DialCtxFn: func(context.Context, string, *net.Dialer, *tls.Config) (net.Conn, error) {
			return nil, errNoDial
		},
	})
	if c == nil {
		return rueidis.Builder{}
	}
	defer c.Close()
	return c.B()
}

var errNoDial = errors.New("nodeslot: no dial")
