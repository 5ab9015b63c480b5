package feature

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unsafe"

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
func (c *Client) rewriteAs(cmd rueidis.Completed, args []string, spec *keyspec.Command, skip int, later *pendingKeys, at where) (rueidis.Completed, error) {
	if spec.Transaction && at == alone {
		return cmd, c.fail(spec.Name, "sent alone on the connection the parts share, it would take in other parts' commands (or end their transactions); send the whole WATCH/MULTI...EXEC in one DoMulti, or use Dedicated", ErrRefused)
	}
	switch spec.Class {
	case keyspec.Keyless:
		if cmd.Slot() == rueidisx.SingleNodeMark && c.isCluster() {
			// Built by a single-node builder: a cluster client cannot
			// route it as it is.
			return finish(cmd, c.shared.B().Arbitrary(args...)), nil
		}
		return cmd, nil
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

// rewriteKeys rewrites a command of the Keys class; inPlace and slotted
// are what handedOver says of it.
//
// A command the server may block on (BLPOP, XREAD ... BLOCK) but built
// without rueidis's blocking flag (Arbitrary(...).Build()) is copied with
// the flag: rueidis would send it on the connection the parts share, and
// every other part's command would wait behind it.
func (c *Client) rewriteKeys(cmd rueidis.Completed, args []string, spec *keyspec.Command, inPlace, slotted bool, later *pendingKeys) (rueidis.Completed, error) {
	block := spec.Blocking && !cmd.IsBlock() && mayBlock(spec, args)
	if block {
		inPlace = false
	}
	if at := spec.SingleKey(); inPlace && at > 0 && at < len(args) {
		// Most commands: one key, at a fixed place.
		return setKey(cmd, args, at, join(c.prefix, args[at]), slotted, later), nil
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
		if keyspec.EqualFold(a, "BLOCK") {
			return true // or a stream named BLOCK: the blocking pool serves it too
		}
	}
	return false
}

// lookup finds args in the key table, then among the registered commands,
// then through the learner. The memory of recent commands holds table
// entries named by their first argument alone: no registration or
// learned entry can stand for such a name (RegisterCommand refuses the
// table's names, containers included).
func (c *Client) lookup(ctx context.Context, args []string) (*keyspec.Command, int, error) {
	if len(args) > 0 {
		if spec := c.recent.find(args[0]); spec != nil {
			return spec, 1, nil
		}
	}
	spec, n, err := keyspec.Lookup(args)
	if err == nil {
		if n == 1 {
			c.recent.remember(args[0], spec)
		}
		return spec, n, nil
	}
	if !keyspec.IsUnknown(err) {
		return nil, 0, c.lookupError(args, err)
	}
	if spec, n := lookupRegistered(args); spec != nil {
		return spec, n, nil
	}
	if c.learner != nil {
		spec, n, lerr := c.learner.lookup(ctx, args)
		if lerr != nil {
			return nil, 0, c.fail(args[0], "asking the server where its keys are (COMMAND INFO) failed: "+lerr.Error(), lerr)
		}
		if spec != nil {
			return spec, n, nil
		}
	}
	return nil, 0, c.lookupError(args, err)
}

func (c *Client) lookupError(args []string, err error) error {
	name := "(empty command)"
	if len(args) > 0 {
		name = args[0]
		if len(args) > 1 && keyspec.IsContainer(args[0]) {
			name += " " + args[1]
		}
	}
	reason := err.Error()
	if keyspec.IsUnknown(err) {
		reason = "its keys cannot be placed: it is not in the key table (of redis " + keyspec.ServerVersion() + " commands); describe it with feature.RegisterCommand, or enable REDIS_LEARN_COMMANDS. Nothing is sent unprefixed"
	}
	return c.fail(name, reason, err)
}

func (c *Client) fail(name, reason string, err error) error {
	if c.log != nil {
		c.log.Warn("wireredis: command refused", "namespace", c.ns, "command", name, "reason", reason)
	}
	return &CommandError{Namespace: c.ns, Command: name, Reason: reason, Err: err}
}

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
func (c *Client) prefixInPlace(cmd rueidis.Completed, args []string, spec *keyspec.Command, p *keyspec.Positions, slotted bool, later *pendingKeys) (rueidis.Completed, error) {
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
		*later = append(*later, pendingWrite{args: args, spec: spec, joined: joined})
	} else {
		writeKeys(args, &kinds, len(c.prefix), joined)
	}
	return out, nil
}

// setKey puts prefixed, the key at args[at] with the prefix, in its place,
// now or when later is written, and returns cmd, with the slot of the key
// when slotted.
func setKey(cmd rueidis.Completed, args []string, at int, prefixed string, slotted bool, later *pendingKeys) rueidis.Completed {
	if later != nil {
		*later = append(*later, pendingWrite{args: args, at: at, joined: prefixed})
	} else {
		args[at] = prefixed
	}
	if slotted {
		return cmd.SetSlot(prefixed)
	}
	return cmd
}

// join is prefix+key in one allocation, without the general string
// concatenation's loop over its operands: it runs on every command.
func join(prefix, key string) string {
	b := make([]byte, len(prefix)+len(key))
	copy(b[copy(b, prefix):], key)
	return unsafe.String(unsafe.SliceData(b), len(b))
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

// pendingKeys holds the in-place writes of a batch until every command of
// the batch has been checked.
type pendingKeys []pendingWrite

// pendingWrite is one command's keys: at is the place of a single key
// (joined is then that key), or 0 when spec.Find places them.
type pendingWrite struct {
	args   []string
	at     int
	spec   *keyspec.Command
	joined string
}

// writePending writes the keys held in w. Each command was checked when
// it was added, so Find cannot fail now.
func (c *Client) writePending(w pendingKeys) {
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

func (c *Client) crossSlot(name, detail string) error {
	if detail != "" {
		detail = " (" + detail + ")"
	}
	return c.fail(name, "its keys do not all hash to one cluster slot"+detail+"; use a hash tag such as {user1}", ErrBadArguments)
}

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
		case keyspec.EqualFold(args[i], "COUNT") && i+1 < len(args):
			count, _ = strconv.ParseInt(args[i+1], 10, 64)
			i++
		case keyspec.EqualFold(args[i], "BLOCK") && i+1 < len(args):
			block, _ = strconv.ParseInt(args[i+1], 10, 64)
			i++
		}
	}
	if block < 0 || len(keys) == 0 || len(ids) != len(keys) {
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

// scope rewrites KEYS, SCAN and PUBSUB CHANNELS so that they only see the
// namespace. A KEYS, or a SCAN with a MATCH, handed over (see handedOver)
// gets its patterns prefixed in place, now or with later; the others are
// copied.
func (c *Client) scope(cmd rueidis.Completed, args []string, spec *keyspec.Command, skip int, later *pendingKeys, at where) (rueidis.Completed, error) {
	switch spec.Name {
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
			setKey(cmd, args, at, join(c.prefix, args[at]), false, later)
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

// toTagNode sends a command that names no key, but looks into the keyspace
// (KEYS, SCAN), to the node that holds a hash-tag part's keys on a
// cluster: they all live in the slot of its tag. Elsewhere it is cmd.
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

// rewriteAll rewrites a batch; when a command cannot be sent, it returns
// its error and index, and leaves the batch as it was. On the shared
// connection (at is inBatch or inStream) a batch must leave no
// transaction open behind it (see txnState); on a dedicated connection
// (ded not nil) its transaction and slot are followed from ded, which is
// updated when the batch can go.
func (c *Client) rewriteAll(ctx context.Context, multi []rueidis.Completed, at where, ded *dedicatedState) ([]rueidis.Completed, []replyNames, int, error) {
	out := make([]rueidis.Completed, len(multi))
	names := make([]replyNames, len(multi))
	later := make(pendingKeys, 0, len(multi))
	if i := sentTwice(multi); i >= 0 {
		return nil, nil, i, c.fail(commandName(multi[i]), "the same command is in the batch twice: rueidis recycles a command once it is sent, and would give both the same recycled arguments; Pin a command to send it more than once", ErrBadArguments)
	}
	var state dedicatedState
	if ded != nil {
		state = *ded
	}
	shared := at == inBatch || at == inStream
	for i, cmd := range multi {
		args := cmd.Commands()
		spec, skip, err := c.lookup(ctx, args)
		if err == nil {
			err = state.txn.next(c, spec.Name, len(args), shared)
		}
		if err == nil {
			out[i], err = c.rewriteAs(cmd, args, spec, skip, &later, at)
			names[i] = namesOf(spec)
		}
		if err != nil {
			return nil, nil, i, err
		}
	}
	var err error
	switch {
	case shared:
		if err = state.txn.end(c); err == nil {
			err = c.oneNodeBatch(out, at == inStream)
		}
	case ded != nil:
		err = c.dedicatedSlot(out, &state)
	}
	if err != nil {
		return nil, nil, len(multi) - 1, err
	}
	c.writePending(later)
	if ded != nil {
		*ded = state
	}
	return out, names, 0, nil
}

// sentTwice returns the index of an unpinned command that the batch holds
// a second time (the same arguments, not equal ones), or -1.
func sentTwice(multi []rueidis.Completed) int {
	return sentTwiceOf(len(multi), func(i int) *rueidis.Completed { return &multi[i] })
}

func sentTwiceOf(n int, cmd func(int) *rueidis.Completed) int {
	const small = 16 // compared pairwise; a larger batch gets a map
	var seen map[*string]bool
	if n > small {
		seen = make(map[*string]bool, n)
	}
	for i := range n {
		args := cmd(i).Commands()
		if len(args) == 0 || !rueidisx.Unpinned(cmd(i)) {
			continue
		}
		p := unsafe.SliceData(args)
		if seen != nil {
			if seen[p] {
				return i
			}
			seen[p] = true
			continue
		}
		for j := range i {
			if a := cmd(j).Commands(); len(a) > 0 && unsafe.SliceData(a) == p {
				return i
			}
		}
	}
	return -1
}

// dedicatedState is what a dedicated connection keeps between commands.
type dedicatedState struct {
	txn txnState
	// slot is the cluster slot a dedicated connection serves once a
	// keyed command went out on it (rueidis binds it to the first); 0
	// before: slot+1 is kept, so that the zero value means none.
	slot uint16
}

// dedicatedSlot checks, on a cluster, that the commands of a dedicated
// connection keep to one slot: rueidis binds the connection to the slot
// of its first command and panics on another. A hash-tag part's commands
// without keys get its tag's slot (all its keys are there); a plain
// part's first command must have a key, or rueidis would bind the
// connection to no slot.
func (c *Client) dedicatedSlot(out []rueidis.Completed, state *dedicatedState) error {
	if !c.isCluster() {
		return nil
	}
	for i := range out {
		s := out[i].Slot()
		if s >= noSlot {
			if c.hashTag {
				out[i] = out[i].SetSlot(c.prefix)
				s = out[i].Slot()
			} else if state.slot == 0 {
				return c.fail(commandName(out[i]), "on a cluster, a dedicated connection serves the slot of its first command, which must have a key (WATCH k first); a hash-tag part has no such limit", ErrBadArguments)
			} else {
				continue
			}
		}
		switch {
		case state.slot == 0:
			state.slot = s + 1
		case state.slot != s+1:
			return c.crossSlot(commandName(out[i]), "a dedicated connection on a cluster serves one slot")
		}
	}
	return nil
}

// noSlot is where cluster slots end: rueidis gives a command without keys
// a slot beyond it.
const noSlot = 16384

// oneNodeBatch refuses, on a cluster, a batch that rueidis cannot route: a
// command without keys (MULTI, PING, ...) goes to the node of the keyed
// commands around it, so these must all share one slot (rueidis panics
// otherwise), and so must a streamed batch's (oneSlot).
func (c *Client) oneNodeBatch(out []rueidis.Completed, oneSlot bool) error {
	if !c.isCluster() {
		return nil
	}
	unslotted, slot, slots := false, uint16(0), 0
	for _, cmd := range out {
		switch s := cmd.Slot(); {
		case s >= noSlot:
			unslotted = true
		case slots == 0 || s != slot:
			slot = s
			slots++
		}
	}
	switch {
	case oneSlot && slots > 1:
		return c.crossSlot("DoMultiStream", "a streamed batch is sent to one node")
	case unslotted && slots > 1:
		return c.crossSlot("DoMulti", "a batch with a command without keys, such as MULTI, is sent to one node")
	}
	return nil
}

// rewriteAllCacheable is rewriteAll for DoMultiCache.
func (c *Client) rewriteAllCacheable(ctx context.Context, multi []rueidis.CacheableTTL) ([]rueidis.CacheableTTL, []replyNames, int, error) {
	out := make([]rueidis.CacheableTTL, len(multi))
	names := make([]replyNames, len(multi))
	later := make(pendingKeys, 0, len(multi))
	if i := sentTwiceOf(len(multi), func(i int) *rueidis.Completed { return (*rueidis.Completed)(&multi[i].Cmd) }); i >= 0 {
		return nil, nil, i, c.fail(commandName(rueidis.Completed(multi[i].Cmd)), "the same command is in the batch twice: rueidis recycles a command once it is sent; Pin a command to send it more than once", ErrBadArguments)
	}
	for i, m := range multi {
		if m.Cmd.IsMGet() {
			return nil, nil, i, c.fail("MGET", "rueidis caches an MGET through DoCache only (in DoMultiCache it panics); send its keys as GETs here", ErrBadArguments)
		}
		cmd, n, err := c.rewriteCacheable(ctx, m.Cmd, &later)
		if err != nil {
			return nil, nil, i, err
		}
		out[i], names[i] = rueidis.CacheableTTL{Cmd: cmd, TTL: m.TTL}, n
	}
	c.writePending(later)
	return out, names, 0, nil
}

func batchFailed(n, failed int, err error) []rueidis.RedisResult {
	results := make([]rueidis.RedisResult, n)
	notSent := fmt.Errorf("wireredis: %w: command %d of the batch was refused: %w", ErrNotSent, failed+1, err)
	for i := range results {
		if i == failed {
			results[i] = rueidis.NewErrorResult(err)
		} else {
			results[i] = rueidis.NewErrorResult(notSent)
		}
	}
	return results
}

// rewriteCacheable is rewrite for DoCache; later is as for rewriteAs.
func (c *Client) rewriteCacheable(ctx context.Context, cmd rueidis.Cacheable, later *pendingKeys) (rueidis.Cacheable, replyNames, error) {
	out, spec, err := c.rewriteCacheableSpec(ctx, cmd, later)
	if spec == nil {
		return out, replyNames{keyed: true}, err // a hot key: a one-key read
	}
	return out, namesOf(spec), err
}

// rewriteCacheableSpec is rewriteCacheable, which it tells the command's
// entry (nil for a hot key).
func (c *Client) rewriteCacheableSpec(ctx context.Context, cmd rueidis.Cacheable, later *pendingKeys) (rueidis.Cacheable, *keyspec.Command, error) {
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
		if !inPlace {
			// Copied through Arbitrary, these would lose rueidis's
			// read-only script tag, and the cache would key on the script
			// instead of the key: the typed builders keep it. (In place,
			// the command keeps every tag rueidis gave it.)
			out, err := c.rebuildScriptCache(args, spec)
			return out, spec, err
		}
	}
	if inPlace && len(args) == 2 && spec.SingleKey() == 1 {
		prefixed := join(c.prefix, args[1])
		c.hot.remember(args[0], args[1], prefixed)
		return rueidis.Cacheable(setKey(completed, args, 1, prefixed, slotted, later)), spec, nil
	}
	if c.isCluster() {
		// Without a key given (ZDIFF 0 ...), there is no slot to route
		// by, and rueidis panics on it. Checked before anything is
		// written.
		var p keyspec.Positions
		if err := spec.Find(args, &p); err == nil && p.Empty() {
			return cmd, spec, c.fail(spec.Name, "DoCache caches replies by key, and none is given; send it with Do", ErrBadArguments)
		}
	}
	out, err := c.rewriteKeys(completed, args, spec, inPlace, slotted, later)
	return rueidis.Cacheable(out), spec, err
}

func (c *Client) rebuildScriptCache(args []string, spec *keyspec.Command) (rueidis.Cacheable, error) {
	b, key, rest := c.shared.B(), c.prefix+args[3], args[4:]
	switch spec.Name {
	case "EVAL_RO":
		return b.EvalRo().Script(args[1]).Numkeys(1).Key(key).Arg(rest...).Cache(), nil
	case "EVALSHA_RO":
		return b.EvalshaRo().Sha1(args[1]).Numkeys(1).Key(key).Arg(rest...).Cache(), nil
	default:
		return b.FcallRo().Function(args[1]).Numkeys(1).Key(key).Arg(rest...).Cache(), nil
	}
}

func formatInt(n int64) string   { return strconv.FormatInt(n, 10) }
func formatUint(n uint64) string { return strconv.FormatUint(n, 10) }
