package feature

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/keyspec"
)

// Keyspace notifications come on channels named after the database and
// the key (__keyspace@0__:user:1, message "set") or after the event
// (__keyevent@0__:set, message "user:1").
const (
	keyspaceChannel = "__keyspace@"
	keyeventChannel = "__keyevent@"
)

// rewriteSubscribe is rewrite for Receive, which takes the SUBSCRIBE
// family only (rueidis panics on anything else).
func (c *Client) rewriteSubscribe(ctx context.Context, subscribe rueidis.Completed, at where) (rueidis.Completed, error) {
	args := subscribe.Commands()
	if len(args) > 0 {
		switch keyspec.Upper(args[0]) {
		case "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE":
			out, _, err := c.rewrite(ctx, subscribe, at)
			return out, err
		}
	}
	name := "(empty command)"
	if len(args) > 0 {
		name = args[0]
	}
	return subscribe, c.fail(name, "Receive takes SUBSCRIBE, PSUBSCRIBE or SSUBSCRIBE; send other commands with Do", ErrBadArguments)
}

// channels rewrites the Pub/Sub commands: channel names get the prefix,
// patterns the glob-escaped prefix. The SUBSCRIBE family cannot go through
// rueidis's Arbitrary builder, so the typed builders rebuild them.
func (c *Client) channels(cmd rueidis.Completed, args []string, spec *keyspec.Command, skip int, at where) (out rueidis.Completed, err error) {
	defer func() {
		// A cluster builder panics on shard channels of two slots (the
		// caller's, built with a builder that does not check slots).
		if r := recover(); r != nil {
			out, err = cmd, c.crossSlot(spec.Name, fmt.Sprint(r))
		}
	}()
	names := args[skip:]
	b := c.shared.B()
	switch spec.Name {
	case "SUBSCRIBE", "SSUBSCRIBE", "PSUBSCRIBE":
		if len(names) == 0 {
			return cmd, c.fail(spec.Name, "name the channels", ErrBadArguments)
		}
		if at != forReceive && at != onDedicated {
			// Its messages would reach no one, and Redis 7.0 writes a
			// keyspace notification inside the reply of another
			// command on the connection: rueidis's reader then panics,
			// and the process ends.
			return cmd, c.fail(spec.Name, "a subscription sent with Do would hold the connection the parts share, where its messages reach no one (and, on Redis 7.0, ends the process when a keyspace notification comes inside another reply); use Receive, or a Dedicated connection with SetPubSubHooks", ErrRefused)
		}
	case "UNSUBSCRIBE", "SUNSUBSCRIBE", "PUNSUBSCRIBE":
		// Without names it ends every subscription of the connection: on
		// a dedicated connection they are all this part's.
		if len(names) == 0 && at != onDedicated {
			return cmd, c.fail(spec.Name, "name the channels: without them it would end the subscriptions of every part on the connection (on a Dedicated connection it may)", ErrBadArguments)
		}
		for _, n := range names {
			if strings.HasPrefix(n, keyeventChannel) && at != onDedicated {
				return cmd, c.fail(spec.Name, "a keyevent channel is every part's on the connection they share: end the Receive with its context instead (on a Dedicated connection it may)", ErrBadArguments)
			}
		}
	}
	switch spec.Name {
	case "SUBSCRIBE":
		return c.toTagNode(b.Subscribe().Channel(c.subscribed(names)...).Build()), nil
	case "SSUBSCRIBE":
		return b.Ssubscribe().Channel(c.prefixAll(names, c.prefix)...).Build(), nil
	case "PSUBSCRIBE":
		return c.toTagNode(b.Psubscribe().Pattern(c.subscribed(names)...).Build()), nil
	case "UNSUBSCRIBE":
		return c.toTagNode(b.Unsubscribe().Channel(c.subscribed(names)...).Build()), nil
	case "SUNSUBSCRIBE":
		return b.Sunsubscribe().Channel(c.prefixAll(names, c.prefix)...).Build(), nil
	case "PUNSUBSCRIBE":
		return c.toTagNode(b.Punsubscribe().Pattern(c.subscribed(names)...).Build()), nil
	case "PUBLISH":
		if len(names) != 2 {
			return cmd, c.fail(spec.Name, "it takes a channel and a message", ErrBadArguments)
		}
		return c.toTagNode(finish(cmd, b.Arbitrary(args[0]).Args(c.prefix+names[0], names[1]))), nil
	case "SPUBLISH":
		if len(names) != 2 {
			return cmd, c.fail(spec.Name, "it takes a channel and a message", ErrBadArguments)
		}
		// The shard channel decides the cluster slot, like a key.
		return finish(cmd, b.Arbitrary(args[0]).Keys(c.prefix+names[0]).Args(names[1])), nil
	case "PUBSUB NUMSUB":
		return c.toTagNode(finish(cmd, b.Arbitrary(args[:skip]...).Args(c.prefixAll(names, c.prefix)...))), nil
	case "PUBSUB SHARDNUMSUB":
		// Shard channels live on the node of their slot: ask the node of
		// the first (all of a hash-tag part's share its tag's).
		out := finish(cmd, b.Arbitrary(args[:skip]...).Args(c.prefixAll(names, c.prefix)...))
		if len(names) > 0 && c.isCluster() {
			out = out.SetSlot(c.prefix + names[0])
		}
		return out, nil
	case "PUBSUB CHANNELS", "PUBSUB SHARDCHANNELS":
		pattern := "*"
		switch len(names) {
		case 0:
		case 1:
			pattern = names[0]
		default:
			return cmd, c.fail(spec.Name, "it takes at most one pattern", ErrBadArguments)
		}
		out := finish(cmd, b.Arbitrary(args[:skip]...).Args(c.prefix+pattern))
		return c.toTagNode(out), nil
	}
	return cmd, c.fail(spec.Name, "the key table has no rule for this Pub/Sub command", ErrUnknownCommand)
}

// subscribed returns the channels (or patterns) to subscribe to for
// names. A keyspace notification channel keeps its name and gets the
// prefix on the key it names (__keyspace@0__:session:user:1); a keyevent
// channel is the event's, shared by every namespace, and keeps its name:
// stripMessage drops the events of other namespaces' keys. Any other name
// gets the prefix in front. (A prefix holds no glob characters, see
// ValidNamespace: in a pattern it matches itself.)
func (c *Client) subscribed(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = subscribedName(c.prefix, n)
	}
	return out
}

// subscribedName is the channel or pattern a part with prefix subscribes
// to for name (see subscribed).
func subscribedName(prefix, name string) string {
	switch head, key, ok := notification(name); {
	case ok && strings.HasPrefix(name, keyspaceChannel):
		return head + prefix + key
	case ok:
		return name
	}
	return prefix + name
}

// notification splits a keyspace or keyevent channel (or pattern) into
// its head, "__keyspace@<db>__:", and what follows. The database is a
// number or, in a pattern, "*": nothing else of a pattern may come before
// the prefix, or a glob class opened there and closed after the prefix
// ("__keyspace@0[__:]_:cache:*") would swallow it.
func notification(name string) (head, rest string, ok bool) {
	if !strings.HasPrefix(name, keyspaceChannel) && !strings.HasPrefix(name, keyeventChannel) {
		return "", "", false
	}
	db, _, found := strings.Cut(name[len(keyspaceChannel):], "__:")
	if !found || db == "" || db != "*" && strings.Trim(db, "0123456789") != "" {
		return "", "", false
	}
	end := len(keyspaceChannel) + len(db) + len("__:")
	return name[:end], name[end:], true
}

func (c *Client) prefixAll(names []string, prefix string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = prefix + n
	}
	return out
}

// stripMessage hands fn messages with the namespace taken off the channel
// and the pattern, or off the key a keyevent notification names; the
// events of other namespaces' keys are dropped.
func (c *Client) stripMessage(fn func(rueidis.PubSubMessage)) func(rueidis.PubSubMessage) {
	if fn == nil {
		return nil
	}
	return func(m rueidis.PubSubMessage) {
		if head, event, ok := notification(m.Channel); ok && strings.HasPrefix(head, keyeventChannel) {
			key, mine := strings.CutPrefix(m.Message, c.prefix)
			if !mine {
				return
			}
			m.Channel, m.Message = head+event, key
			fn(m)
			return
		}
		if _, key, ok := notification(m.Channel); ok && !strings.HasPrefix(key, c.prefix) {
			return // a keyspace notification of another namespace's key
		}
		m.Channel = c.stripChannel(m.Channel)
		m.Pattern = c.stripChannel(m.Pattern)
		fn(m)
	}
}

// stripChannel takes the prefix off a channel or pattern, after the head
// of a keyspace notification.
func (c *Client) stripChannel(name string) string {
	if head, rest, ok := notification(name); ok {
		if strings.HasPrefix(head, keyeventChannel) {
			return name
		}
		return head + strings.TrimPrefix(rest, c.prefix)
	}
	return strings.TrimPrefix(name, c.prefix)
}

// stripHooks is stripMessage for SetPubSubHooks.
func (c *Client) stripHooks(h rueidis.PubSubHooks) rueidis.PubSubHooks {
	h.OnMessage = c.stripMessage(h.OnMessage)
	if on := h.OnSubscription; on != nil {
		h.OnSubscription = func(s rueidis.PubSubSubscription) {
			s.Channel = c.stripChannel(s.Channel)
			on(s)
		}
	}
	return h
}

// receiveApart runs a subscription on a connection of its own (package
// apart) rather than on the pipelined connection the parts share: Redis
// 7.0 writes a keyspace notification inside the reply of a command of the
// connection that subscribed (an EXEC, an MGET of keys expiring,
// DoCache's MULTI/PTTL/GET/EXEC), and rueidis's reading goroutine then
// panics and the process ends (TestFaultKeyspaceNotificationsRESP3). With
// RESP2 too, so that a Receive behaves alike on both protocols (rueidis's
// own RESP2 path ended a Receive with EOF when the server restarted:
// TestChaos).
func (c *Client) receiveApart(ctx context.Context, subscribe rueidis.Completed, fn func(rueidis.PubSubMessage)) error {
	return c.receives.Receive(ctx, c.shared, subscribe, fn)
}

// unsubscribeApart ends the part's Receives that an UNSUBSCRIBE
// (PUNSUBSCRIBE, SUNSUBSCRIBE) going through the part, already rewritten,
// names: with them apart (receiveApart), the shared connection holds
// none of its subscriptions. It reports whether any Receive held one of
// the names.
func (c *Client) unsubscribeApart(unsubscribe rueidis.Completed) bool {
	return c.receives.Unsubscribe(unsubscribe)
}
