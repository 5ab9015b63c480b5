package apart

import (
	"errors"
	"fmt"
)

// ErrSubscription is the error of a subscription sent other than through
// Receive (or on a Dedicated connection), and of a Receive of another
// command.
var ErrSubscription = errors.New("wireredis: subscriptions go through Receive")

// ErrSubscribeWithDo is what Do and DoMulti return for a subscription: on
// the pipelined connection its commands share, Redis 7.0 and 6.2 write its
// messages inside other commands' replies, and rueidis's reader goroutine
// panics on them.
var ErrSubscribeWithDo = fmt.Errorf("%w: a subscription sent with Do would hold the connection other commands share, where its messages reach no one (and, on Redis 7.0 and 6.2, end the process when one comes inside another reply); use Receive, or a Dedicated connection with SetPubSubHooks", ErrSubscription)

// errNotSubscription is what Receive returns for a command other than
// SUBSCRIBE, PSUBSCRIBE and SSUBSCRIBE, spelt as rueidis's builders spell
// them (rueidis panics on it).
var errNotSubscription = fmt.Errorf("%w: Receive takes SUBSCRIBE, PSUBSCRIBE or SSUBSCRIBE, from the client's builder; send other commands with Do", ErrSubscription)
