package feature

import (
	"context"
	"strings"
	"time"

	"github.com/redis/rueidis"
)

// txnState follows a connection's transaction through the commands sent
// on it: MULTI, EXEC, DISCARD, WATCH and UNWATCH. On the shared
// connection a batch must close what it opens, since the commands after
// it are other parts'; on a dedicated connection the part closes what
// its caller may have left open before rueidis takes the connection back.
//
// The state is what the server's own is only if the server takes each
// command as the part reads it: names are read in ASCII case (see
// keyspec.Upper), and a transaction command with the wrong number of
// arguments, which the server would refuse while keeping its state, is
// refused.
type txnState struct {
	multi, watching bool
	// touched is set once a transaction command went out on a dedicated
	// connection: close then ends whatever may be open.
	touched bool
	// subscribed is set once a subscription went out on a dedicated
	// connection, and stays until rueidis takes the connection back (the
	// part does not count the server's subscriptions): only Pub/Sub
	// commands and PING are sent there from then on (see next).
	subscribed bool
}

// next applies the command name, with argc arguments (its name
// included), to s. strict (the shared connection) refuses what would act
// on another part's transaction. A subscription inside MULTI is refused
// everywhere: the server rejects it, and rueidis then stops the process
// (it panics in its reading goroutine).
func (s *txnState) next(c *Client, name string, argc int, strict bool) error {
	switch name {
	case "MULTI", "EXEC", "DISCARD", "UNWATCH":
		if argc != 1 {
			return c.fail(name, "it takes no arguments (the server would refuse it, and keep the transaction as it is)", ErrBadArguments)
		}
		s.touched = true
	case "WATCH":
		if argc < 2 {
			return c.fail(name, "it takes at least one key", ErrBadArguments)
		}
		s.touched = true
	}
	if s.subscribed && !subscribedMay(name) {
		// Redis 7.0 writes a Pub/Sub message (a keyspace event of a read
		// that expires a key, say) inside the reply of MGET, EXEC, ...
		// on a subscribed connection, and rueidis's reading goroutine
		// then panics: the process ends (TestFaultDedicatedSubscribedTransaction,
		// TestFaultSubscribedConnectionReads).
		return c.fail(name, "a dedicated connection that has subscribed takes only Pub/Sub commands and PING: Redis 7.0 may write a message inside another command's reply, which rueidis cannot read; send it on another connection", ErrRefused)
	}
	switch name {
	case "MULTI":
		if s.multi && strict {
			return c.fail(name, "MULTI inside MULTI", ErrBadArguments)
		}
		s.multi = true
	case "EXEC", "DISCARD":
		if !s.multi && strict {
			return c.fail(name, "there is no MULTI before it in the batch: on the connection the parts share it would end another part's transaction", ErrRefused)
		}
		s.multi, s.watching = false, false
	case "WATCH":
		if s.multi && strict {
			return c.fail(name, "WATCH inside MULTI", ErrBadArguments)
		}
		if !s.multi {
			s.watching = true
		}
	case "UNWATCH":
		if !s.multi {
			s.watching = false
		}
	case "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE":
		if s.multi {
			return c.fail(name, "Pub/Sub commands are not allowed inside MULTI (the server refuses them, and rueidis stops the process on that reply)", ErrBadArguments)
		}
		if !strict && !strings.Contains(name, "UNSUB") {
			s.subscribed = true
		}
	}
	return nil
}

// subscribedMay reports whether a subscribed connection may send the
// command name: what RESP2 allows there.
func subscribedMay(name string) bool {
	switch name {
	case "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE", "PING":
		return true
	}
	return false
}

// end refuses a batch on the shared connection that leaves a transaction
// open.
func (s *txnState) end(c *Client) error {
	switch {
	case s.multi:
		return c.fail("MULTI", "the batch leaves the transaction open: on the connection the parts share, the next commands would be other parts'; end it with EXEC or DISCARD in the same batch", ErrRefused)
	case s.watching:
		return c.fail("WATCH", "the batch leaves keys watched: on the connection the parts share, other parts' transactions would fail; end it with EXEC, DISCARD or UNWATCH in the same batch, or use Dedicated", ErrRefused)
	}
	return nil
}

// closeTimeout bounds what closing a dedicated connection's transaction
// may take.
const closeTimeout = 5 * time.Second

// close ends what a dedicated connection's caller may have left open: a
// pooled connection that rueidis takes back in MULTI would fail its next
// user (and a subscription on it would stop the process). Once any
// transaction command went out, it sends DISCARD and UNWATCH whatever the
// part thinks is open: the server's word, not the part's reading, is
// what counts (DISCARD without MULTI is a harmless error).
func (s *txnState) close(ctx context.Context, d rueidis.DedicatedClient) {
	if !s.touched {
		return
	}
	for _, r := range d.DoMulti(ctx, d.B().Discard().Build(), d.B().Unwatch().Build()) {
		_ = r.Error() // a broken connection is rueidis's to drop
	}
	*s = txnState{}
}
