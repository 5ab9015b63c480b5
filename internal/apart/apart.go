package apart

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/keyspec"
)

// Kind is what the server and rueidis make of a command, for Pub/Sub.
type Kind uint8

const (
	// Other commands neither subscribe nor unsubscribe.
	Other Kind = iota
	// Unsubscribe is an UNSUBSCRIBE, PUNSUBSCRIBE or SUNSUBSCRIBE built
	// by rueidis's builder.
	Unsubscribe
)

// pubSubNames are the commands Classify reads, as the server reads a
// name: the subscriptions first. Receive takes the first three as
// rueidis's builders spell them (rueidis compares them so).
var pubSubNames = [...]string{"SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE"}

const subscriptions = 3 // pubSubNames[:subscriptions] subscribe

// Classify says what cmd is for Pub/Sub: Other, Unsubscribe, or an error:
// ErrSubscribeWithDo for a subscription, however it was built; and
// errRenamed for a command whose name was changed after it was built, so
// that rueidis's flags (which say how it reads the reply) and the name
// (which says what the server does) disagree about Pub/Sub.
func Classify(cmd *rueidis.Completed) (Kind, error) {
	flagged := cmd.NoReply() // the builder's SUBSCRIBE and UNSUBSCRIBE families
	if !flagged && (cmd.IsEmpty() || len(cmd.Commands()[0]) < len("SUBSCRIBE")) {
		return Other, nil // most commands: no more than a length compared
	}
	return classify(cmd, flagged)
}

func classify(cmd *rueidis.Completed, flagged bool) (Kind, error) {
	named := -1
	if !cmd.IsEmpty() {
		named = pubSubName(cmd.Commands()[0])
	}
	unsub := cmd.IsUnsub()
	switch {
	case named >= 0 && named < subscriptions, flagged && !unsub:
		return Other, ErrSubscribeWithDo
	case unsub && named >= subscriptions:
		return Unsubscribe, nil
	case unsub, named >= 0:
		return Other, errRenamed
	}
	return Other, nil
}

// pubSubName returns the index in pubSubNames of the command the server
// reads name as, or -1: ASCII letters fold, and a NUL ends the name (see
// keyspec; a name holding a NUL may also run no command at all: the
// server finds it by a hash of the whole name).
func pubSubName(name string) int {
	if i := strings.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	if len(name) < len("SUBSCRIBE") || len(name) > len("PUNSUBSCRIBE") {
		return -1
	}
	for i, s := range pubSubNames {
		if keyspec.CaseCompare(name, s) == 0 {
			return i
		}
	}
	return -1
}

// RetryDelay wraps next, a rueidis.ClientOption's RetryDelay (nil:
// rueidis's default), so that rueidis does not retry a subscription: with
// RESP2 its dedicated client retried a Receive on the subscription
// connection that broke, for ever, and Receive here never got the error
// that makes it subscribe again on a new connection.
func RetryDelay(next rueidis.RetryDelayFn) rueidis.RetryDelayFn {
	return func(attempts int, cmd rueidis.Completed, err error) time.Duration {
		if cmd.NoReply() && !cmd.IsUnsub() {
			return -1
		}
		if next != nil {
			return next(attempts, cmd, err)
		}
		return defaultRetryDelay(attempts)
	}
}

// defaultRetryDelay is rueidis v1.0.80's defaultRetryDelayFn, which it
// does not export: exponential, with equal jitter, at most a second.
func defaultRetryDelay(attempts int) time.Duration {
	base := 1 << min(20, attempts)
	return min(time.Second, time.Duration(base+rand.IntN(base))*time.Microsecond)
}

// Bounds of the wait between two attempts of Receive.
const (
	firstWait = 10 * time.Millisecond
	maxWait   = time.Second
)

// Dedicator hands out a dedicated connection and the func that gives it
// back: a rueidis.Client.
type Dedicator interface {
	Dedicate() (rueidis.DedicatedClient, func())
}

// Receives are the Receives of one client running on connections of
// their own. The zero value is ready to use.
type Receives struct {
	mu  sync.Mutex
	all map[*receive]struct{} // guarded by mu
}

// receive is one Receive of Receives.
type receive struct {
	kind  int      // its index in pubSubNames
	names []string // the channels or patterns, as sent
	// conn is the connection it runs on; nil between two. ended is set by
	// an UNSUBSCRIBE of one of its names, which closes conn: rueidis ends a
	// Receive when any of its channels is unsubscribed. Both guarded by
	// Receives.mu.
	conn  rueidis.DedicatedClient
	ended bool
}

// Receive runs subscribe on a connection of its own from client and calls
// fn for each message. Like rueidis's Receive on a shared client, it
// subscribes again when the connection breaks, on a new one, until ctx
// ends, the client closes, the server refuses the subscription, or an
// UNSUBSCRIBE sent through Unsubscribe ends it (then it returns nil).
func (a *Receives) Receive(ctx context.Context, client Dedicator, subscribe rueidis.Completed, fn func(rueidis.PubSubMessage)) error {
	if !subscribe.NoReply() || subscribe.IsUnsub() || !slices.Contains(pubSubNames[:subscriptions], subscribe.Commands()[0]) {
		// rueidis panics on another name, in the caller's goroutine (the
		// connection taken for it would never be given back), and reads
		// the replies of a command built as another as that command's.
		return errNotSubscription
	}
	args := subscribe.Commands()
	r := &receive{kind: slices.Index(pubSubNames[:], args[0]), names: slices.Clone(args[1:])}
	a.add(r)
	defer a.remove(r)
	wait := firstWait
	for {
		d, give := client.Dedicate()
		if !a.attach(r, d) {
			give()
			return nil // unsubscribed meanwhile
		}
		began := time.Now()
		err := d.Receive(ctx, subscribe, fn)
		ended := !a.attach(r, nil)
		// Closed, not given back: rueidis leaves the subscription on the
		// connection when ctx ends, or when an UNSUBSCRIBE ends one of
		// several names (with RESP2 on a pooled connection that nothing
		// cleans), and the server would go on counting a subscriber.
		d.Close()
		give()
		switch {
		case ended:
			return nil // Unsubscribe closed the connection
		case ctx.Err() != nil:
			return ctx.Err() // the caller ended it, whatever broke meanwhile
		case !resubscribe(ctx, err):
			return err
		}
		if time.Since(began) > maxWait {
			wait = firstWait // it ran a while: a new break
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, maxWait)
	}
}

func (a *Receives) add(r *receive) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.all == nil {
		a.all = map[*receive]struct{}{}
	}
	a.all[r] = struct{}{}
}

func (a *Receives) remove(r *receive) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.all, r)
}

// attach records the connection r runs on (nil: none); false means an
// UNSUBSCRIBE ended r.
func (a *Receives) attach(r *receive, conn rueidis.DedicatedClient) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	r.conn = conn
	return !r.ended
}

// Unsubscribe ends the Receives that an UNSUBSCRIBE (PUNSUBSCRIBE,
// SUNSUBSCRIBE) names, or without names every Receive of its kind, and
// reports whether it ended any: it closes their connections, which ends
// their subscriptions on the server whether or not their SUBSCRIBE was
// written yet (an UNSUBSCRIBE could come first, and leave the Receive
// running). Call it before the command is sent: rueidis recycles a
// command it sent.
func (a *Receives) Unsubscribe(unsubscribe rueidis.Completed) bool {
	if unsubscribe.IsEmpty() {
		return false
	}
	args := unsubscribe.Commands()
	kind := pubSubName(args[0]) - subscriptions // the subscription it ends
	names := args[1:]
	var closing []rueidis.DedicatedClient
	held := false
	a.mu.Lock()
	for r := range a.all {
		if r.kind != kind || len(names) > 0 && !slices.ContainsFunc(names, func(n string) bool { return slices.Contains(r.names, n) }) {
			continue
		}
		held = true
		r.ended = true
		if r.conn != nil {
			closing = append(closing, r.conn)
		}
	}
	a.mu.Unlock()
	for _, conn := range closing {
		conn.Close()
	}
	return held
}

// Unsubscribed is the reply to an UNSUBSCRIBE (PUNSUBSCRIBE, SUNSUBSCRIBE)
// that also went to the shared connection. When Receives held its names
// (held: true), the shared connection holds no subscription, and a server
// that says so (Valkey 8: "NOSUB ... not in subscribed mode") speaks of
// the connection, not of what the caller asked: the caller's
// subscriptions did end.
func Unsubscribed(r rueidis.RedisResult, held bool) rueidis.RedisResult {
	if re, ok := rueidis.IsRedisErr(r.Error()); held && ok && strings.HasPrefix(re.Error(), "NOSUB") {
		return rueidis.NewResult(rueidis.RedisMessage{}, nil)
	}
	return r
}

// resubscribe reports whether a Receive that ended with err should be
// tried again on a new connection: the connection broke, and nothing else
// (the caller, the server, the closing client) ended it.
func resubscribe(ctx context.Context, err error) bool {
	var redisErr *rueidis.RedisError
	switch {
	case err == nil, ctx.Err() != nil, errors.As(err, &redisErr),
		errors.Is(err, rueidis.ErrClosing), errors.Is(err, rueidis.ErrDedicatedClientRecycled):
		return false
	}
	return true
}
