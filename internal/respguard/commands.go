package respguard

import (
	"strings"
	"sync"
)

// What the commands sent tell about the replies to come.
//
// rueidis pairs each reply with the command at the head of its queue, and
// panics in its reader goroutine when a reply comes for no command
// ("protocol bug, message handled out of order"), or when a subscription's
// confirmation answers a command that is not a subscription. Its cached
// read sends MULTI, PTTL, the read and EXEC, and indexes the EXEC reply
// by the commands it queued: a shorter one panics in the caller or in the
// reader. So the guard follows the commands written on the socket, and
// refuses:
//
//   - a reply when every command sent has had its reply;
//   - a push confirming a subscription (subscribe, psubscribe,
//     ssubscribe) on a socket that never subscribed;
//   - an EXEC reply that is not an array (or null, or an error) of one
//     reply for each command of the transaction, or in it an MGET reply
//     that is not an array of one value for each key;
//   - "QUEUED" answering a subscription command (rueidis panics);
//   - a push inside a reply: rueidis reads the reply short and its last
//     elements as replies to the commands after it, or, told by HELLO
//     that the server is Redis 6, mends it in its reader goroutine but
//     not in a call that reads its own reply (Redis 7.0 and 6.2 write
//     notifications there to a connection that subscribed; 7.2 and later
//     never).
//
// Redis sends exactly one reply for every command but a few: MONITOR,
// replication's SYNC, PSYNC and REPLCONF, CLIENT REPLY, which turns
// replies off, and the subscription commands, which rueidis answers with
// a confirmation (or a reply) and then reads in ways of its own. Once one
// of the first is written on a socket, or a subscription command on it is
// answered, the guard stops following its commands, for good: a guard
// that cannot tell never refuses.

// commandNameMax is the longest command name the guard tells apart.
const commandNameMax = 12

// expected is what the guard knows of the replies to commands sent: a
// run of plain commands (one reply each, of any shape), a subscription
// command, or else an EXEC sent in a transaction, with the commands it
// queued and its MGETs.
type expected struct {
	plain int64
	// sub is set for a subscription command (SUBSCRIBE, UNSUBSCRIBE and
	// their pattern and shard kinds): rueidis takes a confirmation or a
	// reply as its answer, and panics on "QUEUED".
	sub   bool
	count int64
	mgets []mgetAt
}

// mgetAt is an MGET queued in a transaction: its place there, and the
// number of keys it reads.
type mgetAt struct {
	at   int64
	keys int64
}

// commands follows the commands written on a socket. The writer (Sent)
// and the reader (the parser) meet in mu only: the reader takes what was
// sent in one go when it needs more.
type commands struct {
	mu       sync.Mutex
	sent     []expected // guarded by mu: not yet taken by the reader
	untraced bool       // guarded by mu: the guard stopped following

	// The writer's side, touched by Sent only.
	out outgoing

	// The reader's side, touched by the parser only.
	taken   []expected // from the writer, the next reply's first
	next    int
	stopped bool // the reader saw untraced
}

// Sent records the commands in b, the next bytes written to the socket.
// It must be called before they are written: a reply may come as soon as
// they are. Like the writes, calls to Sent must not overlap; they may
// overlap Reads.
func (g *Reader) Sent(b []byte) {
	c := g.cmds
	if c == nil {
		return
	}
	batch, stop := c.out.scan(b)
	if len(batch) == 0 && !stop {
		return
	}
	c.mu.Lock()
	switch {
	case stop:
		c.untraced = true
		c.sent = nil
	case c.untraced:
	default:
		if last := len(c.sent) - 1; last >= 0 && c.sent[last].plain > 0 && batch[0].plain > 0 {
			c.sent[last].plain += batch[0].plain
			batch = batch[1:]
		}
		c.sent = append(c.sent, batch...)
	}
	c.mu.Unlock()
}

// nextReply returns what the reply starting now answers: a subscription
// command's or an EXEC's expectation, or nil for a plain command; ok is false when no command is
// waiting for a reply. untraced reports that the guard stopped following
// the socket. The EXEC's expectation stays valid until the next call.
func (c *commands) nextReply() (e *expected, ok, untraced bool) {
	if c.stopped {
		return nil, true, true
	}
	if c.next == len(c.taken) {
		c.mu.Lock()
		if c.untraced {
			c.mu.Unlock()
			c.stopped, c.taken = true, nil
			return nil, true, true
		}
		// Swap: the reader's spent slice goes back to the writer.
		clear(c.taken)
		c.taken, c.sent = c.sent, c.taken[:0]
		c.next = 0
		c.mu.Unlock()
		if len(c.taken) == 0 {
			return nil, false, false
		}
	}
	e = &c.taken[c.next]
	if e.plain > 0 {
		if e.plain--; e.plain == 0 {
			c.next++
		}
		return nil, true, false
	}
	c.next++
	return e, true, false
}

// outgoing parses the commands written: arrays of bulk strings, as
// rueidis writes them. It reads lengths and skips payloads, keeping only
// the first two arguments' first bytes.
type outgoing struct {
	state  outState
	n      int64 // the number being read
	digits int
	left   int64 // the command's arguments still to come
	args   int64 // the command's arguments
	arg    int64 // the argument under way
	remain int64 // its payload bytes still to come
	argLen int64 // its length

	// The command's name, upper-cased and cut short, and its length; and
	// the same of its second argument, kept for CLIENT only.
	name, sub       [commandNameMax]byte
	nameLen, subLen int64

	// The transaction under way: MULTI sent, EXEC not yet.
	inMulti bool
	queued  int64
	mgets   []mgetAt
	batch   []expected
}

type outState uint8

const (
	outArray   outState = iota // '*' of a command
	outCount                   // its number of arguments, to '\r'
	outCountLF                 // '\n'
	outBulk                    // '$' of an argument
	outLen                     // its length, to '\r'
	outLenLF                   // '\n'
	outPayload                 // its bytes
	outCR                      // '\r' after them
	outLF                      // '\n'
	outLost                    // not a command as rueidis writes them
)

// scan reads b, the next bytes written, and returns what the commands
// completed in it expect; stop means the guard must stop following.
func (o *outgoing) scan(b []byte) (batch []expected, stop bool) {
	o.batch = o.batch[:0]
	for i := 0; i < len(b); i++ {
		c := b[i]
		if o.state == outArray {
			// Most commands come whole in one write: read them at once.
			if n := o.whole(b[i:]); n > 0 {
				if !o.command() {
					return nil, true
				}
				i += n - 1
				continue
			}
		}
		switch o.state {
		case outPayload:
			take := min(o.remain, int64(len(b)-i))
			if o.arg < 2 {
				o.keep(b[i:i+int(take)], o.argLen-o.remain)
			}
			o.remain -= take
			i += int(take) - 1
			if o.remain == 0 {
				o.state = outCR
			}
		case outArray, outBulk:
			want := byte('*')
			if o.state == outBulk {
				want = '$'
			}
			if c != want {
				o.state = outLost
				return nil, true
			}
			o.n, o.digits = 0, 0
			o.state++
		case outCount, outLen:
			switch {
			case c >= '0' && c <= '9' && o.digits < 18:
				o.n = o.n*10 + int64(c-'0')
				o.digits++
			case c == '\r' && o.digits > 0:
				o.state++
			default:
				o.state = outLost
				return nil, true
			}
		case outCountLF:
			if c != '\n' || o.n == 0 {
				o.state = outLost
				return nil, true
			}
			o.args, o.left, o.arg = o.n, o.n, 0
			o.nameLen, o.subLen = 0, 0
			o.state = outBulk
		case outLenLF:
			if c != '\n' {
				o.state = outLost
				return nil, true
			}
			o.argument(o.n)
			o.remain, o.argLen = o.n, o.n
			o.state = outPayload
			if o.remain == 0 {
				o.state = outCR
			}
		case outCR:
			if c != '\r' {
				o.state = outLost
				return nil, true
			}
			o.state = outLF
		case outLF:
			if c != '\n' {
				o.state = outLost
				return nil, true
			}
			o.arg++
			if o.left--; o.left > 0 {
				o.state = outBulk
				break
			}
			o.state = outArray
			if !o.command() {
				return nil, true
			}
		case outLost:
			return nil, true
		}
	}
	return o.batch, false
}

// argument notes the length of the argument under way, if it is the name
// or the second argument.
func (o *outgoing) argument(length int64) {
	switch o.arg {
	case 0:
		o.nameLen = length
	case 1:
		o.subLen = length
	}
}

// keep keeps the bytes p of the argument under way, which begin at
// offset from in it: of the name, and of CLIENT's second argument.
func (o *outgoing) keep(p []byte, from int64) {
	switch {
	case o.arg == 0:
		upper(o.name[:], p, from)
	case o.arg == 1 && o.is("CLIENT"):
		upper(o.sub[:], p, from)
	}
}

// upper copies p, upper-cased, to to from offset from on, as far as to
// goes.
func upper(to, p []byte, from int64) {
	for i, c := range p {
		at := from + int64(i)
		if at >= int64(len(to)) {
			return
		}
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		to[at] = c
	}
}

// is reports whether the command's name is name (upper case).
func (o *outgoing) is(name string) bool {
	return o.nameLen == int64(len(name)) && string(o.name[:len(name)]) == name
}

// whole reads the command at the start of b when all of it is there,
// and returns its length (0: not all there, or not as rueidis writes
// them; the byte-by-byte reading then tells).
func (o *outgoing) whole(b []byte) int {
	n, pos := wholeNumber(b, '*')
	if n <= 0 {
		return 0
	}
	o.args, o.nameLen, o.subLen = n, 0, 0
	for arg := range n {
		l, at := wholeNumber(b[pos:], '$')
		if l < 0 || l > int64(len(b)) {
			return 0
		}
		start := pos + at
		end := start + int(l)
		if end+2 > len(b) || b[end] != '\r' || b[end+1] != '\n' {
			return 0
		}
		o.arg = arg
		o.argument(l)
		o.keep(b[start:end], 0)
		pos = end + 2
	}
	return pos
}

// wholeNumber reads a line "<typ><digits>\r\n" at the start of b: its
// number and length (-1: not such a line, or not all there).
func wholeNumber(b []byte, typ byte) (int64, int) {
	if len(b) < 4 || b[0] != typ {
		return -1, 0
	}
	var n int64
	for i := 1; i < len(b) && i < 20; i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9':
			n = n*10 + int64(c-'0')
		case c == '\r' && i > 1 && i+1 < len(b) && b[i+1] == '\n':
			return n, i + 2
		default:
			return -1, 0
		}
	}
	return -1, 0
}

// command acts on a command written whole; false: the guard must stop
// following.
func (o *outgoing) command() bool {
	var name []byte // a longer name is none of those below
	if o.nameLen <= commandNameMax {
		name = o.name[:o.nameLen]
	}
	switch string(name) {
	case "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE",
		"UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE":
		// Followed until it is answered (parser.finish), then not.
		o.batch = append(o.batch, expected{sub: true})
		return true
	case "MONITOR", "SYNC", "PSYNC", "REPLCONF":
		return false
	case "CLIENT":
		if o.subLen == 5 && string(o.sub[:5]) == "REPLY" {
			return false
		}
	}
	if o.inMulti || string(name) == "MULTI" {
		return o.transaction(name)
	}
	o.plain()
	return true
}

// plain counts a command of one reply, of any shape.
func (o *outgoing) plain() {
	if last := len(o.batch) - 1; last >= 0 && o.batch[last].plain > 0 {
		o.batch[last].plain++
		return
	}
	o.batch = append(o.batch, expected{plain: 1})
}

// transaction acts on a command that begins a transaction or is in one.
func (o *outgoing) transaction(name []byte) bool {
	switch string(name) {
	case "MULTI":
		if !o.inMulti { // nested, it is refused and queues nothing
			o.inMulti, o.queued, o.mgets = true, 0, nil
		}
	case "EXEC":
		o.batch = append(o.batch, expected{count: o.queued, mgets: o.mgets})
		o.inMulti, o.mgets = false, nil
		return true
	case "DISCARD", "RESET":
		o.inMulti, o.mgets = false, nil
	case "WATCH": // refused in a transaction, not queued
	case "MGET":
		o.mgets = append(o.mgets, mgetAt{at: o.queued, keys: o.args - 1})
		o.queued++
	case "JSON.MGET": // its last argument is a path
		o.mgets = append(o.mgets, mgetAt{at: o.queued, keys: o.args - 2})
		o.queued++
	default:
		o.queued++
	}
	o.plain()
	return true
}

// answering pairs a message that begins with type byte c with the command
// it answers, and checks what is known of its shape.
func (p *parser) answering(c byte) string {
	depth := len(p.levels)
	if depth == 0 {
		if c == '|' { // an attribute: the message it comes before is to come
			return ""
		}
		p.push, p.exec, p.sub = false, nil, false
		if c == '>' {
			p.push = true
			return ""
		}
		e, ok, untraced := p.cmds.nextReply()
		switch {
		case !ok:
			return "a reply when every command sent had had its reply"
		case untraced || e == nil:
		case e.sub:
			p.sub = true
			p.captureText(c) // "QUEUED"?
		case strings.IndexByte("*_-!", c) < 0:
			return "an EXEC reply that is not an array"
		default:
			p.exec = e
		}
		return ""
	}
	if c == '>' && !p.push {
		// Redis 7.0 writes a notification inside a reply, Redis 6 an
		// invalidation too: rueidis reads the reply short, and its last
		// elements as replies to the commands after it (or, having been
		// told the server is 6, mends it when its reader goroutine reads
		// it, not when a call reads its own reply).
		return "a push inside a reply"
	}
	if depth != 1 || p.levels[0].attr {
		return "" // rueidis reads deeper elements as they come
	}
	if p.push {
		if p.levels[0].total == p.levels[0].left {
			p.captureText(c) // the kind of push
		}
		return ""
	}
	if p.exec == nil {
		return ""
	}
	p.elemAt = p.levels[0].total - p.levels[0].left
	if _, ok := p.exec.mgetAt(p.elemAt); ok && (c == '~' || c == '%') {
		return "an MGET reply inside an EXEC reply that is not an array"
	}
	return ""
}

// captureText starts keeping an element that begins with type byte c, if
// it is a string rueidis reads as one: a bulk, an error, a line of any
// type.
func (p *parser) captureText(c byte) {
	if strings.IndexByte("$!=+-,(", c) >= 0 {
		p.capture, p.line = true, strings.IndexByte("+-,(", c) >= 0
		p.word, p.wordLen, p.captureAt = p.word[:0], 0, len(p.levels)
	}
}

// arrayLength checks the length of an array (or set, or push) about to
// open.
func (p *parser) arrayLength(n int64) string {
	if p.exec == nil || p.typ == '>' {
		return ""
	}
	switch {
	case len(p.levels) == 0:
		if n != p.exec.count {
			return "an EXEC reply that does not hold one reply for each command of its transaction"
		}
	case len(p.levels) == 1 && !p.levels[0].attr:
		if keys, ok := p.exec.mgetAt(p.elemAt); ok && n != keys {
			return "an MGET reply inside an EXEC reply that does not hold one value for each key"
		}
	}
	return ""
}

// captured acts on a string kept whole (captureText): the kind of a push,
// or the reply to a subscription command.
func (p *parser) captured() string {
	p.capture = false
	word, n := p.word, p.wordLen
	if p.line { // the line's '\r' was kept
		n--
		if int64(len(word)) > n {
			word = word[:max(n, 0)]
		}
	}
	whole := int64(len(word)) == n
	if !p.push { // the reply to a subscription command
		if whole && string(word) == "QUEUED" {
			return "a subscription command queued in a transaction"
		}
		return ""
	}
	// rueidis panics on a subscription confirmed that answers no
	// subscription command (confirmations of unsubscribing it takes from
	// anyone).
	switch string(word) {
	case "subscribe", "psubscribe", "ssubscribe":
		if whole && p.levels[0].total >= 2 && !p.cmds.subscribed() {
			return "a subscription confirmed on a connection that never subscribed"
		}
	}
	return ""
}

// mgetAt returns the number of keys of the MGET at place at of the
// transaction, if one is there.
func (e *expected) mgetAt(at int64) (int64, bool) {
	for _, m := range e.mgets {
		if m.at == at {
			return m.keys, true
		}
	}
	return 0, false
}

// keepWord keeps the first bytes of the element captured.
func (p *parser) keepWord(b []byte) {
	if p.line {
		p.wordLen += int64(len(b))
	}
	if room := commandNameMax - len(p.word); room > 0 {
		p.word = append(p.word, b[:min(room, len(b))]...)
	}
}

// subscribed answers a subscription's confirmation: whether the guard
// stopped following the socket, or the command it waits on first is a
// subscription command, which the confirmation answers (the guard then
// stops following).
func (c *commands) subscribed() bool {
	e, ok, untraced := c.nextReply()
	if !untraced && ok && e != nil && e.sub {
		c.stop()
		return true
	}
	return untraced
}

// stop stops following the socket: rueidis takes a subscribed socket's
// replies in ways the guard does not follow.
func (c *commands) stop() {
	c.stopped, c.taken = true, nil
	c.mu.Lock()
	c.untraced = true
	c.sent = nil
	c.mu.Unlock()
}
