package feature

// Commands that look into the keyspace without naming keys (KEYS, SCAN)
// are scoped to the namespace.

import (
	"github.com/redis/rueidis"
	"github.com/wireredis/wireredis/internal/keyspec"
)

// scope rewrites KEYS, SCAN and PUBSUB CHANNELS so that they only see the
// namespace. A KEYS, or a SCAN with a MATCH, handed over (see handedOver)
// gets its patterns prefixed in place, now or with later; the others are
// copied.
func (c *Client) scope(cmd rueidis.Completed, args []string, spec *keyspec.Command, skip int, later *heldWrites, at where) (rueidis.Completed, error) {
	switch spec.Name {
	case "ROLE": // scoped in its reply (see replyNames)
		return c.toTagNode(c.routable(cmd, args)), nil
	case "KEYS":
		if len(args) != 2 {
			return cmd, c.fail(spec.Name, "it takes one pattern", ErrBadArguments)
		}
	case "SCAN":
		if len(args) < 2 {
			return cmd, c.fail(spec.Name, "it needs a cursor", ErrBadArguments)
		}
	default: // PUBSUB CHANNELS, PUBSUB SHARDCHANNELS
		return c.channels(cmd, args, spec, skip, at)
	}
	patterns := []int{1} // KEYS pattern
	if spec.Name == "SCAN" {
		var err error
		if patterns, err = keyspec.ScanPatterns(args); err != nil {
			return cmd, c.fail(spec.Name, err.Error(), err)
		}
	}
	if inPlace, _ := c.handedOver(&cmd); inPlace && len(patterns) > 0 {
		for _, at := range patterns {
			setKey(cmd, args, at, c.prefix+args[at], false, later)
		}
		return c.toTagNode(cmd), nil
	}
	noMatch := len(patterns) == 0
	a := c.shared.B().Arbitrary()
	for i, arg := range args {
		if len(patterns) > 0 && i == patterns[0] {
			arg = c.prefix + arg
			patterns = patterns[1:]
		}
		a = a.Args(arg)
	}
	if noMatch { // a SCAN without MATCH
		a = a.Args("MATCH", c.prefix+"*")
	}
	return c.toTagNode(finish(cmd, a)), nil
}

// toTagNode sends a command that names no key to the primary that holds a
// hash-tag part's keys on a cluster, when the command looks into the
// keyspace (KEYS, SCAN), into one node's Pub/Sub (SUBSCRIBE, PUBLISH's
// count of receivers, PUBSUB) or its replication (ROLE): the part's keys
// all live in the slot of its tag, and its subscriptions, keyspace events
// and questions then meet on one node. Elsewhere it is cmd.
func (c *Client) toTagNode(cmd rueidis.Completed) rueidis.Completed {
	if c.hashTag && c.isCluster() {
		return cmd.SetSlot(c.prefix)
	}
	return cmd
}
