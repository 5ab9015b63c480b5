package feature

// Prefixing keys in the command itself, when its caller handed it over.

import (
	"strings"

	"github.com/redis/rueidis"
	"github.com/wireredis/wireredis/internal/keyspec"
	"github.com/wireredis/wireredis/internal/rueidisx"
)

// handedOver reports whether cmd may be rewritten in place: rueidis
// recycles an unpinned command once sent, so its caller has given it up
// for good. A pinned command stays its caller's, who may send it again or
// from other goroutines; and a command from the single-node builder of a
// hash-tag part needs a cluster slot, which only a rebuild gives it.
//
// slotted tells whether the command's slot must then be that of its
// prefixed keys: a cluster routes by it. A single node does not (rueidis
// only spreads cached reads over its pipelined connections by it), so
// there the slot the builder computed stays, which saves hashing the
// prefixed key.
func (c *Client) handedOver(cmd *rueidis.Completed) (inPlace, slotted bool) {
	if !rueidisx.Unpinned(cmd) {
		return false, false
	}
	if cmd.Slot()&rueidisx.SingleNodeMark == 0 {
		return true, true // a cluster builder's
	}
	return !c.isCluster(), false
}

// prefixInPlace prefixes the keys and patterns that p marks in the
// arguments of cmd itself, all of them joined in one allocation; slotted,
// it returns cmd with the slot of its first prefixed key. It checks
// everything before it writes: a command it refuses is left as it was.
func (c *Client) prefixInPlace(cmd rueidis.Completed, args []string, spec *keyspec.Command, p *keyspec.Positions, slotted bool, later *heldWrites) (rueidis.Completed, error) {
	kinds := p.Kinds(len(args))
	n := 0
	for i, arg := range args {
		if kinds.At(i) != 0 {
			n += len(c.prefix) + len(arg)
		}
	}
	var b strings.Builder
	b.Grow(n)
	for i, arg := range args {
		if kinds.At(i) != 0 {
			b.WriteString(c.prefix)
			b.WriteString(arg)
		}
	}
	joined := b.String()
	out := cmd
	if slotted {
		// As Arbitrary's Keys does on a cluster, insist on one slot.
		keyed, off := false, 0
		for i, arg := range args {
			kind := kinds.At(i)
			if kind == 0 {
				continue
			}
			key := joined[off : off+len(c.prefix)+len(arg)]
			off += len(key)
			switch {
			case kind != keyspec.Key:
			case !keyed:
				out, keyed = cmd.SetSlot(key), true
			case slotOf(cmd, key) != out.Slot():
				return cmd, c.crossSlot(spec.Name, "")
			}
		}
	}
	if later != nil {
		*later = append(*later, heldWrite{args: args, spec: spec, joined: joined})
	} else {
		writeKeys(args, &kinds, len(c.prefix), joined)
	}
	return out, nil
}

// setKey puts prefixed, the key at args[at] with the prefix, in its place,
// now or when later is written, and returns cmd, with the slot of the key
// when slotted.
func setKey(cmd rueidis.Completed, args []string, at int, prefixed string, slotted bool, later *heldWrites) rueidis.Completed {
	if later != nil {
		*later = append(*later, heldWrite{args: args, at: at, joined: prefixed})
	} else {
		args[at] = prefixed
	}
	if slotted {
		return cmd.SetSlot(prefixed)
	}
	return cmd
}

// slotOf returns the cluster slot of key, as rueidis computes it.
func slotOf(cmd rueidis.Completed, key string) uint16 {
	withKey := cmd.SetSlot(key)
	return withKey.Slot()
}

// writeKeys puts the prefixed keys of joined in the places kinds marks.
func writeKeys(args []string, kinds *keyspec.Kinds, prefixLen int, joined string) {
	off := 0
	for i, arg := range args {
		if kinds.At(i) != 0 {
			n := prefixLen + len(arg)
			args[i] = joined[off : off+n]
			off += n
		}
	}
}

// heldWrites holds the in-place writes of a batch until every command of
// the batch has been checked.
type heldWrites []heldWrite

// heldWrite is one command's keys: at is the place of a single key
// (joined is then that key), or 0 when spec.Find places them.
type heldWrite struct {
	args   []string
	at     int
	spec   *keyspec.Command
	joined string
}

// writeHeld writes the keys held in w. Each command was checked when
// it was added, so Find cannot fail now.
func (c *Client) writeHeld(w heldWrites) {
	for _, pw := range w {
		if pw.at > 0 {
			pw.args[pw.at] = pw.joined
			continue
		}
		var p keyspec.Positions
		if pw.spec.Find(pw.args, &p) == nil {
			kinds := p.Kinds(len(pw.args))
			writeKeys(pw.args, &kinds, len(c.prefix), pw.joined)
		}
	}
}
