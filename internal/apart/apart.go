package apart

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/keyspec"
)

// Subscribes reports whether the server reads cmd as a subscription
// (SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE): built as one by rueidis's builder,
// or named so, the way the server reads a command's name (see keyspec:
// ASCII letters fold, a NUL ends it).
func Subscribes(cmd *rueidis.Completed) bool {
	if cmd.NoReply() {
		return !cmd.IsUnsub()
	}
	if cmd.IsEmpty() {
		return false // a zero Completed, whose Commands panics
	}
	name := cmd.Commands()[0]
	// Most commands stop here: the subscriptions' names are no shorter.
	return len(name) >= len("SUBSCRIBE") && subscriptionName(name)
}

// subscriptionName reports whether the server reads name as SUBSCRIBE,
// PSUBSCRIBE or SSUBSCRIBE.
func subscriptionName(name string) bool {
	if len(name) > len("PSUBSCRIBE") && name[9] != 0 && name[10] != 0 {
		return false // longer, and no NUL ends it soon enough
	}
	name = keyspec.CString(name)
	for _, s := range subscriptions {
		if keyspec.CaseCompare(name, s) == 0 {
			return true
		}
	}
	return false
}

// subscriptions are the commands rueidis's Receive takes, as it compares
// them.
var subscriptions = []string{"SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE"}

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
	// an UNSUBSCRIBE of one of its names: rueidis ends a Receive when any
	// of its channels is unsubscribed. Both guarded by Receives.mu.
	conn  rueidis.DedicatedClient
	ended bool
}

// Receive runs subscribe on a connection of its own from client and calls
// fn for each message. Like rueidis's Receive on a shared client, it
// subscribes again when the connection breaks, on a new one, until ctx
// ends, the client closes, the server refuses the subscription, or an
// UNSUBSCRIBE sent through Unsubscribe ends it.
func (a *Receives) Receive(ctx context.Context, client Dedicator, subscribe rueidis.Completed, fn func(rueidis.PubSubMessage)) error {
	if subscribe.IsEmpty() || !slices.Contains(subscriptions, subscribe.Commands()[0]) {
		// rueidis panics on it, in the caller's goroutine: the
		// connection taken for it would never be given back.
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
		a.attach(r, nil)
		// Closed, not given back: rueidis leaves the subscription on the
		// connection when ctx ends, or when an UNSUBSCRIBE ends one of
		// several names (with RESP2 on a pooled connection that nothing
		// cleans), and the server would go on counting a subscriber.
		d.Close()
		give()
		if ctx.Err() != nil {
			return ctx.Err() // the caller ended it, whatever broke meanwhile
		}
		if !resubscribe(ctx, err) {
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

// unsubscribedKind is the subscription kind an unsubscribe command ends.
var unsubscribedKind = map[string]string{"UNSUBSCRIBE": "SUBSCRIBE", "PUNSUBSCRIBE": "PSUBSCRIBE", "SUNSUBSCRIBE": "SSUBSCRIBE"}

// Unsubscribe sends an UNSUBSCRIBE (PUNSUBSCRIBE, SUNSUBSCRIBE) to the
// connections of the Receives that hold its names, or, without names, to
// those of every Receive of its kind: the shared connection holds none of
// them. A Receive between two connections is marked ended, so that it does
// not subscribe again. build makes the command each connection gets, of
// kind (SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE) for names (none: all). It
// reports whether any Receive held one of the names. Call it before the
// command is sent: rueidis recycles a command it sent.
func (a *Receives) Unsubscribe(ctx context.Context, unsubscribe rueidis.Completed, build func(kind string, names []string) rueidis.Completed) bool {
	if unsubscribe.IsEmpty() {
		return false
	}
	args := unsubscribe.Commands()
	kind := unsubscribedKind[keyspec.Upper(args[0])]
	names := args[1:]
	type send struct {
		conn  rueidis.DedicatedClient
		names []string
	}
	var sends []send
	held := false
	a.mu.Lock()
	for r := range a.all {
		if r.kind != kind {
			continue
		}
		var common []string
		for _, n := range names {
			if slices.Contains(r.names, n) {
				common = append(common, n)
			}
		}
		if len(common) == 0 && len(names) > 0 {
			continue
		}
		held = true
		r.ended = true
		if r.conn != nil {
			sends = append(sends, send{r.conn, common})
		}
	}
	a.mu.Unlock()
	for _, s := range sends {
		// A connection that broke meanwhile is its Receive's to replace;
		// ended keeps it from subscribing again.
		_ = s.conn.Do(ctx, build(kind, s.names)).Error()
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
