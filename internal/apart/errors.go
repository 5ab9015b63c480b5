package apart

import (
	"errors"
	"fmt"
)

// ErrSubscription is the error of a subscription sent other than through
// Receive (or on a Dedicated connection), of a Receive of another
// command, and of a Pub/Sub command renamed after it was built.
var ErrSubscription = errors.New("wireredis: subscriptions go through Receive")

// ErrSubscribeWithDo is what Do and DoMulti return for a subscription: on
// the pipelined connection its commands share, Redis 7.0 and 6.2 write its
// messages inside other commands' replies, and rueidis's reader goroutine
// panics on them.
var ErrSubscribeWithDo = fmt.Errorf("%w: a subscription sent with Do would hold the connection other commands share, where its messages reach no one (and, on Redis 7.0 and 6.2, end the process when one comes inside another reply); use Receive, or a Dedicated connection with SetPubSubHooks", ErrSubscription)

// errRenamed is the error of a command whose name was changed after it
// was built, so that rueidis reads its reply as one kind of command (a
// Pub/Sub one, or not) and the server runs another; rueidis's reader
// goroutine panics on the replies that follow.
var errRenamed = fmt.Errorf("%w: a Pub/Sub command whose name was changed after it was built (rueidis would read its reply as another command's); build it with the client's builder", ErrSubscription)

// errNotSubscription is what Receive returns for a command other than
// SUBSCRIBE, PSUBSCRIBE and SSUBSCRIBE, spelt as rueidis's builders spell
// them (rueidis panics on it).
var errNotSubscription = fmt.Errorf("%w: Receive takes SUBSCRIBE, PSUBSCRIBE or SSUBSCRIBE, from the client's builder; send other commands with Do", ErrSubscription)
