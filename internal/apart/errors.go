package apart

import (
	"errors"
	"fmt"
)

// ErrRefused is matched by the errors of the commands a connection
// rueidis pipelines must not carry (see Kind), and of a Receive of a
// command other than a subscription.
var ErrRefused = errors.New("wireredis: refused")

// ErrSubscribeWithDo is what Do and DoMulti return for a subscription: on
// the pipelined connection its commands share, Redis 7.0 and 6.2 write its
// messages inside other commands' replies, and rueidis's reader goroutine
// panics on them.
var ErrSubscribeWithDo = fmt.Errorf("%w: a subscription sent with Do would hold the connection other commands share, where its messages reach no one (and, on Redis 7.0 and 6.2, end the process when one comes inside another reply); use Receive, or a Dedicated connection with SetPubSubHooks", ErrRefused)

// errRenamed is the error of a command whose name was changed after it
// was built, so that rueidis reads its reply as one kind of command (a
// Pub/Sub one, or not) and the server runs another; rueidis's reader
// goroutine panics on the replies that follow.
var errRenamed = fmt.Errorf("%w: a Pub/Sub command whose name was changed after it was built (rueidis would read its reply as another command's); build it with the client's builder", ErrRefused)

// errUnreadable is the error of MONITOR, SYNC, PSYNC, REPLCONF and CLIENT
// REPLY: rueidis pairs each reply with a command, and after them the
// connection carries a stream of lines, the replication protocol, or
// silenced replies, which no rueidis client can pair (its reader goroutine
// panicked on MONITOR's lines).
var errUnreadable = fmt.Errorf("%w: after it the connection carries no longer one reply for each command (a stream, the replication protocol, silenced replies), which rueidis cannot read; use redis-cli for MONITOR", ErrRefused)

// errNotSubscription is what Receive returns for a command other than
// SUBSCRIBE, PSUBSCRIBE and SSUBSCRIBE, spelt as rueidis's builders spell
// them (rueidis panics on it).
var errNotSubscription = fmt.Errorf("%w: Receive takes SUBSCRIBE, PSUBSCRIBE or SSUBSCRIBE, from the client's builder; send other commands with Do", ErrRefused)
