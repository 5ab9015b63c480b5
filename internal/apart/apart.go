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
	"github.com/wireredis/wireredis/internal/rueidisx"
)

// Kind is what the server and rueidis make of a command, for the rules
// of a connection rueidis pipelines.
type Kind uint8

const (
	// Other commands get one reply each, which rueidis pairs with them.
	Other Kind = iota
	// Subscription is a SUBSCRIBE, PSUBSCRIBE or SSUBSCRIBE, however it
	// was built: on a shared connection it goes through Receive; a
	// Dedicated connection takes it with SetPubSubHooks.
	Subscription
	// Unsubscription is an UNSUBSCRIBE, PUNSUBSCRIBE or SUNSUBSCRIBE built
	// by rueidis's builder.
	Unsubscription
	// Renamed is a Pub/Sub command whose name was changed after it was
	// built, or another command renamed as one: rueidis reads its reply as
	// the command it was built as, the server answers the other.
	Renamed
	// Unreadable commands turn what the connection reads next into
	// something rueidis cannot pair with commands (MONITOR's stream, the
	// replication protocol of SYNC, PSYNC and REPLCONF, replies silenced by
	// CLIENT REPLY): its reader goroutine then panics, or callers get
	// each other's replies.
	Unreadable
)

// Err is the error of a command of kind k sent with Do, DoMulti, DoCache
// or a stream (onDedicated: on a Dedicated connection), or nil.
func (k Kind) Err(onDedicated bool) error {
	switch k {
	case Subscription:
		if !onDedicated {
			return ErrSubscribeWithDo
		}
	case Renamed:
		return errRenamed
	case Unreadable:
		return errUnreadable
	}
	return nil
}

// Classify says what cmd is, judged as the server reads its name (ASCII
// letters fold, a NUL ends it: see keyspec; a name holding a NUL may also
// run no command at all, as the server finds it by a hash of the whole
// name) and as rueidis's builder flagged it.
func Classify(cmd *rueidis.Completed) Kind {
	if cmd.NoReply() || !cmd.IsEmpty() && MayBeSpecial(cmd.Commands()[0]) {
		return classify(cmd)
	}
	return Other
}

// MayBeSpecial reports whether a command of that name can be of a kind
// other than Other, by its name's first letter in either case: Classify's
// first step, which a caller on a hot path (a cache hit) writes out so
// that most commands stop at it without a call (the call cost a cache
// hit 4 %, BenchmarkCacheHitPaired). Unflagged commands only: see
// Classify.
func MayBeSpecial(name string) bool {
	return name != "" && specialLetters&(1<<(name[0]&0x1f)) != 0
}

// specialLetters has the bit of the first letter of each name special
// reads, by its low five bits (the same for both cases; a digit or sign
// may share them, and then goes the long way).
const specialLetters = 1<<('s'&0x1f) | 1<<('p'&0x1f) | 1<<('c'&0x1f) | 1<<('m'&0x1f) | 1<<('r'&0x1f) | 1<<('u'&0x1f)

func classify(cmd *rueidis.Completed) Kind {
	if cmd.IsEmpty() {
		return Other // a zero Completed, whose Commands panics
	}
	named := special(cmd.Commands())
	switch {
	case cmd.NoReply() && !cmd.IsUnsub(): // built as a subscription
		return Subscription // whatever its name: rueidis waits for pushes
	case cmd.IsUnsub():
		if named == Unsubscription || named == Subscription {
			return named
		}
		return Renamed
	case named == Unsubscription:
		return Renamed
	}
	return named
}

// special returns the kind of the command args names, as the server reads
// the name: Other for all but the few Classify looks at. It compares at
// most two names, of the length read: Do asks it of every command.
func special(args []string) Kind {
	name := keyspec.CString(args[0])
	is := func(s string) bool { return keyspec.CaseCompare(name, s) == 0 }
	switch len(name) {
	case 4:
		if is("SYNC") {
			return Unreadable
		}
	case 5:
		if is("PSYNC") {
			return Unreadable
		}
	case 6:
		if is("CLIENT") && len(args) > 1 && keyspec.Keyword(args[1], "REPLY") {
			return Unreadable
		}
	case 7:
		if is("MONITOR") {
			return Unreadable
		}
	case 8:
		if is("REPLCONF") {
			return Unreadable
		}
	case 9:
		if is("SUBSCRIBE") {
			return Subscription
		}
	case 10:
		if is("PSUBSCRIBE") || is("SSUBSCRIBE") {
			return Subscription
		}
	case 11:
		if is("UNSUBSCRIBE") {
			return Unsubscription
		}
	case 12:
		if is("PUNSUBSCRIBE") || is("SUNSUBSCRIBE") {
			return Unsubscription
		}
	}
	return Other
}

// subscriptions are the commands Receive takes, as rueidis's builders
// spell them (rueidis compares them so).
var subscriptions = []string{"SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE"}

// RetryDelay wraps next, a rueidis.ClientOption's RetryDelay (nil:
// rueidis's default), so that rueidis never recycles a command it retries
// (see rueidisx.MarkRetried), and does not retry a subscription: with
// RESP2 its dedicated client retried a Receive on the subscription
// connection that broke, for ever, and Receive here never got the error
// that makes it subscribe again on a new connection.
func RetryDelay(next rueidis.RetryDelayFn) rueidis.RetryDelayFn {
	return func(attempts int, cmd rueidis.Completed, err error) time.Duration {
		// Whether or not it is retried, rueidis recycles it no more: the
		// broken connection's writer may still read it (rueidisx.MarkRetried).
		rueidisx.MarkRetried(cmd)
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
	kind  string   // SUBSCRIBE, PSUBSCRIBE or SSUBSCRIBE
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
	if !subscribe.NoReply() || subscribe.IsUnsub() || !slices.Contains(subscriptions, subscribe.Commands()[0]) {
		// rueidis panics on another name, in the caller's goroutine (the
		// connection taken for it would never be given back), and reads
		// the replies of a command built as another as that command's.
		return errNotSubscription
	}
	args := subscribe.Commands()
	r := &receive{kind: args[0], names: slices.Clone(args[1:])}
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
	// The subscription it ends: UNSUBSCRIBE ends SUBSCRIBE, PUNSUBSCRIBE
	// PSUBSCRIBE, SUNSUBSCRIBE SSUBSCRIBE.
	kind := strings.Replace(keyspec.Upper(keyspec.CString(args[0])), "UN", "", 1)
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
