package feature

// Copying a command with its keys prefixed, when it may not be changed
// in place.

import (
	"fmt"

	"github.com/redis/rueidis"
	"github.com/wireredis/wireredis/internal/keyspec"
)

// rebuild copies args into a new command with the keys and patterns that p
// marks prefixed, keeping cmd's flags.
func (c *Client) rebuild(cmd rueidis.Completed, args []string, spec *keyspec.Command, p *keyspec.Positions, block bool) (out rueidis.Completed, err error) {
	defer func() {
		// A cluster builder panics when the keys of one command hash to
		// different slots.
		if r := recover(); r != nil {
			err = c.crossSlot(spec.Name, fmt.Sprint(r))
		}
	}()
	a := c.shared.B().Arbitrary()
	for i, arg := range args {
		switch p.At(i) {
		case keyspec.Key:
			a = a.Keys(c.prefix + arg)
		case keyspec.Pattern:
			a = a.Args(c.prefix + arg)
		default:
			a = a.Args(arg)
		}
	}
	if block {
		return finishBlocking(cmd, a), nil
	}
	return finish(cmd, a), nil
}

// rebuildBlockingXread rebuilds XREAD ... BLOCK with rueidis's typed
// builder: Arbitrary's Blocking() would drop the read-only flag, which
// sends reads to replicas (REDIS_READ_FROM_REPLICAS). XREAD is the only
// blocking read-only command.
func (c *Client) rebuildBlockingXread(cmd rueidis.Completed, args []string, spec *keyspec.Command, p *keyspec.Positions) (rueidis.Completed, error) {
	var count, block int64 = -1, -1
	var keys, ids []string
	for i := 1; i < len(args); i++ {
		switch {
		case p.At(i) == keyspec.Key:
			keys = append(keys, c.prefix+args[i])
		case len(keys) > 0:
			ids = append(ids, args[i])
		case keyspec.Keyword(args[i], "COUNT") && i+1 < len(args):
			// Numbers as the server reads them; one it refuses leaves
			// count or block negative.
			n, ok := keyspec.ParseInt(args[i+1])
			count = max(n, 0) // the server reads a negative count as 0
			if !ok {
				count = -2
			}
			i++
		case keyspec.Keyword(args[i], "BLOCK") && i+1 < len(args):
			n, ok := keyspec.ParseInt(args[i+1])
			block = n
			if !ok {
				block = -1
			}
			i++
		}
	}
	if block < 0 || count < -1 || len(keys) == 0 || len(ids) != len(keys) {
		// Arguments the server will refuse: the copy need not be exact.
		return c.rebuild(cmd, args, spec, p, true)
	}
	b := c.shared.B()
	var out rueidis.Completed
	if count >= 0 {
		out = b.Xread().Count(count).Block(block).Streams().Key(keys...).Id(ids...).Build()
	} else {
		out = b.Xread().Block(block).Streams().Key(keys...).Id(ids...).Build()
	}
	if cmd.IsPipe() {
		out = out.ToPipe()
	}
	if cmd.IsUnblockOnCancel() {
		out = out.UnblockOnCancel()
	}
	return out, nil
}

// arbitrary is what finish needs of rueidis's Arbitrary builder, whose
// type rueidis does not export.
type arbitrary interface {
	Build() rueidis.Completed
	Blocking() rueidis.Completed
	ReadOnly() rueidis.Completed
	MultiGet() rueidis.Completed
}

// finish builds a with the flags of the original cmd.
func finish[A arbitrary](cmd rueidis.Completed, a A) rueidis.Completed {
	return flags(cmd, a, cmd.IsBlock())
}

// finishBlocking is finish for a command that lacked the blocking flag.
func finishBlocking[A arbitrary](cmd rueidis.Completed, a A) rueidis.Completed {
	return flags(cmd, a, true)
}

func flags[A arbitrary](cmd rueidis.Completed, a A, block bool) rueidis.Completed {
	var out rueidis.Completed
	switch {
	case block:
		out = a.Blocking()
	case (*rueidis.Cacheable)(&cmd).IsMGet(): // rueidis's MGET tag (MGET, JSON.MGET)
		out = a.MultiGet()
	case cmd.IsReadOnly():
		out = a.ReadOnly()
	default:
		out = a.Build()
	}
	if cmd.IsPipe() {
		out = out.ToPipe()
	}
	if cmd.IsRetryable() {
		out = out.ToRetryable()
	}
	if cmd.IsUnblockOnCancel() {
		out = out.UnblockOnCancel()
	}
	return out
}

func (c *Client) rebuildScriptCache(args []string, spec *keyspec.Command) rueidis.Cacheable {
	b, key, rest := c.shared.B(), c.prefix+args[3], args[4:]
	switch spec.Name {
	case "EVAL_RO":
		return b.EvalRo().Script(args[1]).Numkeys(1).Key(key).Arg(rest...).Cache()
	case "EVALSHA_RO":
		return b.EvalshaRo().Sha1(args[1]).Numkeys(1).Key(key).Arg(rest...).Cache()
	default:
		return b.FcallRo().Function(args[1]).Numkeys(1).Key(key).Arg(rest...).Cache()
	}
}
