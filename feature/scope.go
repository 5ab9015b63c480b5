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
	first := patternAt(spec.Name, args, 0)
	if inPlace, _ := c.handedOver(&cmd); inPlace && first > 0 {
		for at := first; at > 0; at = patternAt(spec.Name, args, at+1) {
			setKey(cmd, args, at, c.prefix+args[at], false, later)
		}
		return c.toTagNode(cmd), nil
	}
	a := c.shared.B().Arbitrary()
	next := first
	for i, arg := range args {
		if next > 0 && i == next {
			arg = c.prefix + arg
			next = patternAt(spec.Name, args, i+1)
		}
		a = a.Args(arg)
	}
	if first == 0 { // a SCAN without MATCH
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

// patternAt returns the place of the first pattern at or after from of a
// KEYS or SCAN command (whose length scope has checked): the argument of
// KEYS, the one after a MATCH of SCAN; 0 when there is none.
func patternAt(name string, args []string, from int) int {
	if name == "KEYS" {
		if from <= 1 {
			return 1
		}
		return 0
	}
	for i := max(from, 2); i+1 < len(args); i++ {
		if keyspec.EqualFold(args[i], "MATCH") {
			return i + 1
		}
	}
	return 0
}
