package feature

import (
	"strings"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/keyspec"
)

// channels rewrites the Pub/Sub commands: channel names get the prefix,
// patterns the glob-escaped prefix. The SUBSCRIBE family cannot go through
// rueidis's Arbitrary builder, so the typed builders rebuild them.
func (c *Client) channels(cmd rueidis.Completed, args []string, spec *keyspec.Command, skip int) (rueidis.Completed, error) {
	names := args[skip:]
	b := c.shared.B()
	switch spec.Name {
	case "SUBSCRIBE", "SSUBSCRIBE", "PSUBSCRIBE", "UNSUBSCRIBE", "SUNSUBSCRIBE", "PUNSUBSCRIBE":
		if len(names) == 0 {
			return cmd, c.fail(spec.Name, "name the channels: without them it would act on the subscriptions of every part on the connection", ErrBadArguments)
		}
	}
	switch spec.Name {
	case "SUBSCRIBE":
		return b.Subscribe().Channel(c.prefixAll(names, c.prefix)...).Build(), nil
	case "SSUBSCRIBE":
		return b.Ssubscribe().Channel(c.prefixAll(names, c.prefix)...).Build(), nil
	case "PSUBSCRIBE":
		return b.Psubscribe().Pattern(c.prefixAll(names, c.globPrefix)...).Build(), nil
	case "UNSUBSCRIBE":
		return b.Unsubscribe().Channel(c.prefixAll(names, c.prefix)...).Build(), nil
	case "SUNSUBSCRIBE":
		return b.Sunsubscribe().Channel(c.prefixAll(names, c.prefix)...).Build(), nil
	case "PUNSUBSCRIBE":
		return b.Punsubscribe().Pattern(c.prefixAll(names, c.globPrefix)...).Build(), nil
	case "PUBLISH":
		if len(names) != 2 {
			return cmd, c.fail(spec.Name, "it takes a channel and a message", ErrBadArguments)
		}
		return finish(cmd, b.Arbitrary(args[0]).Args(c.prefix+names[0], names[1])), nil
	case "SPUBLISH":
		if len(names) != 2 {
			return cmd, c.fail(spec.Name, "it takes a channel and a message", ErrBadArguments)
		}
		// The shard channel decides the cluster slot, like a key.
		return finish(cmd, b.Arbitrary(args[0]).Keys(c.prefix+names[0]).Args(names[1])), nil
	case "PUBSUB NUMSUB", "PUBSUB SHARDNUMSUB":
		return finish(cmd, b.Arbitrary(args[:skip]...).Args(c.prefixAll(names, c.prefix)...)), nil
	case "PUBSUB CHANNELS", "PUBSUB SHARDCHANNELS":
		pattern := "*"
		switch len(names) {
		case 0:
		case 1:
			pattern = names[0]
		default:
			return cmd, c.fail(spec.Name, "it takes at most one pattern", ErrBadArguments)
		}
		return finish(cmd, b.Arbitrary(args[:skip]...).Args(c.globPrefix+pattern)), nil
	}
	return cmd, c.fail(spec.Name, "the key table has no rule for this Pub/Sub command", ErrUnknownCommand)
}

func (c *Client) prefixAll(names []string, prefix string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = prefix + n
	}
	return out
}

// stripMessage hands fn messages with the namespace taken off the channel
// and the pattern.
func (c *Client) stripMessage(fn func(rueidis.PubSubMessage)) func(rueidis.PubSubMessage) {
	if fn == nil {
		return nil
	}
	return func(m rueidis.PubSubMessage) {
		m.Channel = strings.TrimPrefix(m.Channel, c.prefix)
		m.Pattern = strings.TrimPrefix(m.Pattern, c.globPrefix)
		fn(m)
	}
}

// stripHooks is stripMessage for SetPubSubHooks.
func (c *Client) stripHooks(h rueidis.PubSubHooks) rueidis.PubSubHooks {
	h.OnMessage = c.stripMessage(h.OnMessage)
	if on := h.OnSubscription; on != nil {
		h.OnSubscription = func(s rueidis.PubSubSubscription) {
			if strings.HasPrefix(s.Kind, "p") { // psubscribe, punsubscribe: a pattern
				s.Channel = strings.TrimPrefix(s.Channel, c.globPrefix)
			} else {
				s.Channel = strings.TrimPrefix(s.Channel, c.prefix)
			}
			on(s)
		}
	}
	return h
}
