package feature

// The rewrite of one command: what the key table says of it decides
// how its keys get the prefix (in place, inplace.go; or in a copy,
// rebuild.go), or why it is not sent.

import (
	"context"

	"github.com/redis/rueidis"
	"github.com/wireredis/wireredis/internal/keyspec"
	"github.com/wireredis/wireredis/internal/rueidisx"
)

// where says how a command is sent, for the rules that depend on it.
type where uint8

const (
	// alone: by itself, on the connection the parts share.
	alone where = iota
	// inBatch: in one DoMulti on the shared connection, which rueidis
	// writes with nothing of other parts between its commands.
	inBatch
	// inStream: in one DoMultiStream, a batch on a connection of rueidis's
	// pool, which must keep to one slot on a cluster.
	inStream
	// onDedicated: on a connection the part has to itself (Dedicated).
	onDedicated
	// forReceive: the subscription of the part's Receive, which runs on
	// a connection apart (see receiveApart).
	forReceive
)

// rewrite returns cmd as it must be sent in the namespace: the command
// itself for keyless commands; for the others, cmd with its keys prefixed
// in place, or a copy when cmd is pinned (see handedOver), with the
// cluster slot of the prefixed keys; or an error when it must not be sent,
// cmd then left as it was.
// names says where its reply carries the part's names (see replyNames).
func (c *Client) rewrite(ctx context.Context, cmd rueidis.Completed, at where) (rueidis.Completed, replyNames, error) {
	args := cmd.Commands()
	spec, skip, err := c.lookup(ctx, args)
	if err != nil {
		return cmd, replyNames{}, err
	}
	cmd, err = c.rewriteAs(cmd, args, spec, skip, nil, at)
	return cmd, namesOf(spec), err
}

// rewriteAs is rewrite for a command already looked up: spec is its entry
// and skip how many leading arguments name it. With a non-nil later, keys
// prefixed in place are only written when later.apply runs, so that a
// batch is left untouched when one of its commands fails.
func (c *Client) rewriteAs(cmd rueidis.Completed, args []string, spec *keyspec.Command, skip int, later *heldWrites, at where) (rueidis.Completed, error) {
	if spec.Transaction && at == alone {
		return cmd, c.fail(spec.Name, "sent alone on the connection the parts share, it would take in other parts' commands (or end their transactions); send the whole WATCH/MULTI...EXEC in one DoMulti, or use Dedicated", ErrRefused)
	}
	switch spec.Class {
	case keyspec.Keyless:
		return c.routable(cmd, args), nil
	case keyspec.Keys:
		inPlace, slotted := c.handedOver(&cmd)
		return c.rewriteKeys(cmd, args, spec, inPlace, slotted, later)
	case keyspec.Scoped:
		return c.scope(cmd, args, spec, skip, later, at)
	case keyspec.Refused:
		return cmd, c.fail(spec.Name, "refused: "+spec.Reason, ErrRefused)
	case keyspec.Channels:
		return c.channels(cmd, args, spec, skip, at)
	}
	return cmd, c.fail(spec.Name, "the key table has no class for it", ErrUnknownCommand)
}

// routable returns a command sent as it is (one without keys) in a form
// the shared client can route: one built by a single-node builder (a
// hash-tag part's, on a cluster) is copied, as a cluster client cannot
// route it.
func (c *Client) routable(cmd rueidis.Completed, args []string) rueidis.Completed {
	if cmd.Slot() == rueidisx.SingleNodeMark && c.isCluster() {
		return finish(cmd, c.shared.B().Arbitrary(args...))
	}
	return cmd
}

// rewriteKeys rewrites a command of the Keys class; inPlace and slotted
// are what handedOver says of it.
//
// A command the server may block on (BLPOP, XREAD ... BLOCK) but built
// without rueidis's blocking flag (Arbitrary(...).Build()) is copied with
// the flag: rueidis would send it on the connection the parts share, and
// every other part's command would wait behind it.
func (c *Client) rewriteKeys(cmd rueidis.Completed, args []string, spec *keyspec.Command, inPlace, slotted bool, later *heldWrites) (rueidis.Completed, error) {
	block := spec.Blocking && !cmd.IsBlock() && mayBlock(spec, args)
	if block {
		inPlace = false
	}
	if at := spec.SingleKey(); inPlace && at > 0 && at < len(args) {
		// Most commands: one key, at a fixed place.
		return setKey(cmd, args, at, c.prefix+args[at], slotted, later), nil
	}
	var p keyspec.Positions
	if err := spec.Find(args, &p); err != nil {
		return cmd, c.fail(spec.Name, err.Error(), err)
	}
	if inPlace {
		return c.prefixInPlace(cmd, args, spec, &p, slotted, later)
	}
	if spec.Name == "XREAD" && (block || cmd.IsBlock() && cmd.IsReadOnly()) {
		return c.rebuildBlockingXread(cmd, args, spec, &p)
	}
	return c.rebuild(cmd, args, spec, &p, block)
}

// mayBlock reports whether the server may block on args: a blocking
// command, or XREAD and XREADGROUP with a BLOCK option.
func mayBlock(spec *keyspec.Command, args []string) bool {
	if spec.Rule != keyspec.XreadRule {
		return true
	}
	for _, a := range args[1:] {
		if keyspec.Keyword(a, "BLOCK") {
			return true // or a stream named BLOCK: the blocking pool serves it too
		}
	}
	return false
}

// hotKey prefixes in place the key of a one-key command handed over
// whose key the part read before (see hotKeys): the common case of a
// cache hit, without a lookup. It is rewriteCacheable's first step,
// apart and small: the calls and results of the whole rewrite cost a
// hit about a tenth of its time (BenchmarkServer/CacheHit). false leaves
// cmd as it was.
func (c *Client) hotKey(cmd *rueidis.Cacheable) bool {
	completed := (*rueidis.Completed)(cmd)
	args := completed.Commands()
	if len(args) != 2 {
		return false
	}
	inPlace, slotted := c.handedOver(completed)
	if !inPlace {
		return false
	}
	prefixed, ok := c.hot.find(args[0], args[1])
	if !ok {
		return false
	}
	args[1] = prefixed
	if slotted {
		*completed = completed.SetSlot(prefixed)
	}
	return true
}

// rewriteCacheable is rewrite for DoCache; later is as for rewriteAs.
func (c *Client) rewriteCacheable(ctx context.Context, cmd rueidis.Cacheable, later *heldWrites) (rueidis.Cacheable, replyNames, error) {
	out, spec, err := c.rewriteCacheableSpec(ctx, cmd, later)
	if spec == nil {
		return out, replyNames{keyed: true}, err // a hot key: a one-key read
	}
	return out, namesOf(spec), err
}

// rewriteCacheableSpec is rewriteCacheable, which it tells the command's
// entry (nil for a hot key).
func (c *Client) rewriteCacheableSpec(ctx context.Context, cmd rueidis.Cacheable, later *heldWrites) (rueidis.Cacheable, *keyspec.Command, error) {
	completed := rueidis.Completed(cmd)
	args := completed.Commands()
	inPlace, slotted := c.handedOver(&completed)
	if inPlace && len(args) == 2 {
		if prefixed, ok := c.hot.find(args[0], args[1]); ok {
			// A hot key (see hotKeys): a one-key command read before.
			return rueidis.Cacheable(setKey(completed, args, 1, prefixed, slotted, later)), nil, nil
		}
	}
	spec, _, err := c.lookup(ctx, args)
	if err != nil {
		return cmd, nil, err
	}
	if spec.Class != keyspec.Keys {
		// rueidis tracks cached replies by key: one without keys would
		// never be invalidated (and on a cluster, rueidis panics on it).
		if spec.Class == keyspec.Refused {
			return cmd, spec, c.fail(spec.Name, "refused: "+spec.Reason, ErrRefused)
		}
		return cmd, spec, c.fail(spec.Name, "DoCache caches replies by key, and it has none; send it with Do", ErrBadArguments)
	}
	switch spec.Name {
	case "EVAL_RO", "EVALSHA_RO", "FCALL_RO":
		// NAME script|sha|function 1 key arg...: rueidis caches these only
		// with exactly one key (and panics on more).
		if len(args) < 4 || args[2] != "1" {
			return cmd, spec, c.fail(spec.Name, "DoCache of a read-only script takes exactly one key (numkeys 1)", ErrBadArguments)
		}
		// Always rebuilt: only rueidis's read-only script tag, which the
		// typed builders set and a command cast from Arbitrary lacks,
		// makes the cache key on the key; without it rueidis keys on the
		// script and sends PTTL <script> unprefixed.
		return c.rebuildScriptCache(args, spec), spec, nil
	}
	if inPlace && len(args) == 2 && spec.SingleKey() == 1 {
		prefixed := c.prefix + args[1]
		c.hot.remember(args[0], args[1], prefixed)
		return rueidis.Cacheable(setKey(completed, args, 1, prefixed, slotted, later)), spec, nil
	}
	// rueidis caches a reply under the second argument (MGET: each of
	// its keys) and sends PTTL of it: that argument must be a key, or the
	// server would read and track a name outside the namespace
	// (SINTERCARD 1 k: PTTL 1). Checked before anything is written.
	var p keyspec.Positions
	if err := spec.Find(args, &p); err == nil {
		if p.Empty() {
			// ZDIFF 0 ...: no key, no slot (rueidis panics on a cluster).
			return cmd, spec, c.fail(spec.Name, "DoCache caches replies by key, and none is given; send it with Do", ErrBadArguments)
		}
		if p.At(1) != keyspec.Key {
			return cmd, spec, c.fail(spec.Name, "DoCache caches a reply under the command's first argument, which is not a key here; send it with Do", ErrBadArguments)
		}
	}
	out, err := c.rewriteKeys(completed, args, spec, inPlace, slotted, later)
	return rueidis.Cacheable(out), spec, err
}
