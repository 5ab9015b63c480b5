package respguard

import (
	"bytes"
	"io"
	"math"
)

const (
	// MaxDepth is how deeply a reply's aggregates may nest (arrays, maps,
	// sets, pushes and attributes). rueidis reads each level with a
	// recursive call; a script's reply nests as deep as Lua's stack allows,
	// about 8,000 levels (7.0.15: 7,000 pass, 8,000 are refused with "ERR
	// reached lua stack limit").
	MaxDepth = 10000

	// messageSize is rueidis's RedisMessage: what it allocates for each
	// element of an aggregate as soon as it reads the aggregate's length
	// (a test checks it).
	messageSize = 40
	// allocPerByte and allocSlack bound what rueidis may allocate for a
	// reply against the bytes of it that arrived. Every element of an
	// aggregate takes 3 bytes at least ("_\r\n"), and rueidis allocates 40
	// for it (80 for a map's pair of 6); a bulk string's length is its
	// payload's. So a reply that Redis sends never allocates more than 16
	// times its size, and is never held once it is all there. The slack
	// is per socket, and rueidis may open a thousand (its pool of blocking
	// connections): it is kept small.
	allocPerByte = 16
	allocSlack   = 64 << 10
	// maxAlloc is the most a reply may make rueidis allocate, however
	// many bytes come: beyond it rueidis's make panics, or the runtime
	// fails for want of memory.
	maxAlloc = 1 << 40
)

// Reader checks a server's replies on their way to rueidis. Like any
// reader, it is not for concurrent Reads (rueidis has one reader per
// connection).
type Reader struct {
	src io.Reader
	p   parser

	// held are bytes read from src and not handed on yet, from held[off]
	// on, which is at offset heldAt in the stream: the first ready of
	// them may go, the rest wait for more of their reply (a length ran
	// ahead of the bytes).
	held   []byte
	off    int
	ready  int
	heldAt int64
	// srcErr is src's last error, handed on once the ready bytes are
	// gone; refused ends the stream at a reply rueidis must not read.
	srcErr  error
	refused *Error

	// cmds follows the commands written on the socket (nil: FollowCommands
	// was not called, and replies are not paired with commands).
	cmds *commands
}

// NewReader returns a Reader of src, the stream of a connection's
// replies from its start.
func NewReader(src io.Reader) *Reader { return &Reader{src: src} }

// FollowCommands makes g pair each reply with a command written on the
// socket, which Sent must then be told of (commands.go). It must be
// called before the first Read or Sent.
func (g *Reader) FollowCommands() {
	g.cmds = new(commands)
	g.p.cmds = g.cmds
}

// Read reads checked bytes into b.
func (g *Reader) Read(b []byte) (int, error) {
	for {
		if g.ready > 0 {
			n := copy(b, g.held[g.off:g.off+g.ready])
			g.off += n
			g.ready -= n
			g.heldAt += int64(n)
			if g.off == len(g.held) {
				g.held, g.off = g.held[:0], 0
				if cap(g.held) > 1<<20 {
					g.held = nil // what a large reply needed, given back
				}
			}
			return n, nil
		}
		switch {
		case g.refused != nil:
			return 0, g.refused
		case g.srcErr != nil:
			// Once: a read that timed out may be tried again.
			err := g.srcErr
			g.srcErr = nil
			return 0, err
		case len(b) == 0:
			return 0, nil
		}
		if g.off == len(g.held) {
			// Nothing waits: read into b, and keep only what must wait.
			base := g.p.pos
			n, err := g.src.Read(b)
			g.srcErr = err
			goes := g.scan(b[:n], base)
			if goes < n && g.refused == nil {
				g.held = append(g.held[:0], b[goes:n]...)
				g.off, g.heldAt = 0, base+int64(goes)
			}
			if goes > 0 {
				return goes, nil
			}
			continue
		}
		// Bytes wait for more of their reply: read after them.
		if g.off > 0 && g.off >= len(g.held)/2 {
			g.held = g.held[:copy(g.held, g.held[g.off:])]
			g.off = 0
		}
		end := len(g.held)
		if cap(g.held)-end < 4096 {
			g.held = append(g.held, make([]byte, max(4096, end))...)[:end]
		}
		base := g.p.pos
		n, err := g.src.Read(g.held[end:cap(g.held)])
		g.srcErr = err
		g.held = g.held[:end+n]
		g.scan(g.held[end:], base)
		g.ready = len(g.held) - g.off
		if g.p.held {
			g.ready = int(min(int64(g.ready), max(0, g.p.holdFrom-g.heldAt)))
		}
		if g.refused != nil {
			g.ready = int(min(int64(g.ready), max(0, g.refused.Offset-g.heldAt)))
			g.held = g.held[:g.off+g.ready]
		}
	}
}

// scan checks chunk, the bytes of the stream from offset base on, and
// returns how many of them may go to rueidis now; the rest are held
// (g.p.held), or refused (g.refused).
func (g *Reader) scan(chunk []byte, base int64) int {
	err := g.p.scan(chunk)
	goes := len(chunk)
	if g.p.held {
		goes = int(min(int64(goes), max(0, g.p.holdFrom-base)))
	}
	if err != nil {
		g.refused = err
		goes = int(min(int64(goes), max(0, err.Offset-base)))
	}
	return goes
}

// parser follows the stream, message by message.
type parser struct {
	pos   int64 // the stream's offset of the next byte
	state state
	typ   byte // the message whose first line is being read

	// The number of a length or integer line: its magnitude.
	n      uint64
	neg    bool
	digits int

	cr     bool    // the line's last byte so far was '\r'
	remain int64   // payload bytes still to come
	levels []level // the aggregates open, innermost last

	// The reply under way: its first byte's offset, and what rueidis
	// allocates for it.
	start, alloc int64

	// held is set while a length ran ahead of the bytes: holdFrom is the
	// offset of the first byte held, the '\n' that ends that length's
	// line (rueidis acts on no line before its '\n').
	held     bool
	holdFrom int64

	// cmds follows the commands sent (nil: replies are not paired).
	cmds *commands
	// The message under way at the top: a push, or a reply and what it
	// answers.
	push bool
	exec *expected // the EXEC the reply answers (nil: another command)
	// word holds the first bytes of an element while capture is set
	// (wordLen counts them all): the kind of a push, or the reply to a
	// subscription command.
	word      []byte
	wordLen   int64
	capture   bool
	captureAt int  // the depth of the element captured
	line      bool // the element captured is a line, its '\r' included

	// sub: the reply under way answers a subscription command.
	sub bool
	// elemAt is the place in the EXEC reply of the element under way.
	elemAt int64
}

// level is an open aggregate: the elements still to come, and whether it
// is an attribute (which comes before a message rather than being one).
type level struct {
	left, total int64
	attr        bool
}

type state uint8

const (
	stType     state = iota // a message's type byte
	stSign                  // a number's first byte: '-' or a digit
	stDigits                // its digits
	stNumberLF              // the '\n' after them
	stLine                  // a simple string, error, double or big number, to its '\n'
	stBoolean               // 't' or 'f'
	stPayload               // a bulk string's bytes
	stCR                    // the '\r' that ends a message
	stLF                    // the '\n' that ends a message
)

// scan follows chunk, the stream's next bytes.
func (p *parser) scan(chunk []byte) *Error {
	base := p.pos
	for i := 0; i < len(chunk); i++ {
		c := chunk[i]
		switch p.state {
		case stPayload:
			// The payload is skipped, not read.
			skip := min(p.remain, int64(len(chunk)-i))
			if p.capture {
				p.keepWord(chunk[i : i+int(skip)])
			}
			p.remain -= skip
			i += int(skip) - 1
			if p.remain == 0 {
				p.state = stCR
			}
		case stLine:
			// So is a line: rueidis reads it to its first '\n', which
			// must follow a '\r'.
			j := bytes.IndexByte(chunk[i:], '\n')
			if j < 0 {
				if p.capture {
					p.keepWord(chunk[i:])
				}
				p.cr = chunk[len(chunk)-1] == '\r'
				i = len(chunk) - 1
				break
			}
			if p.capture {
				p.keepWord(chunk[i : i+j])
			}
			if j > 0 {
				p.cr = chunk[i+j-1] == '\r'
			}
			i += j
			if !p.cr {
				return p.refuse(base+int64(i), "a line not ended by \\r\\n")
			}
			p.cr = false
			p.state = stType
			if err := p.finish(base + int64(i) + 1); err != "" {
				return p.refuse(base+int64(i), err)
			}
		case stType:
			if err := p.begin(c); err != "" {
				return p.refuse(base+int64(i), err)
			}
		case stSign:
			switch {
			case c == '-':
				p.neg = true
				p.state = stDigits
			case c >= '0' && c <= '9':
				p.n, p.digits = uint64(c-'0'), 1
				p.state = stDigits
			case c == '?':
				return p.refuse(base+int64(i), "a streamed length (\"?\"), which Redis never sends")
			default:
				return p.refuse(base+int64(i), "a number with a byte that is not a digit")
			}
		case stDigits:
			switch {
			case c >= '0' && c <= '9':
				// At most 19 digits, as an int64 has (math.MinInt64's
				// magnitude is one more than MaxInt64's); rueidis reads a
				// number line in its read buffer.
				d := uint64(c - '0')
				limit := uint64(math.MaxInt64)
				if p.neg {
					limit++
				}
				if p.digits == 19 || p.n > (limit-d)/10 {
					return p.refuse(base+int64(i), "a number beyond 64 bits")
				}
				p.n = p.n*10 + d
				p.digits++
			case c == '\r' && p.digits > 0:
				p.state = stNumberLF
			default:
				return p.refuse(base+int64(i), "a number with a byte that is not a digit")
			}
		case stNumberLF:
			at := base + int64(i)
			if c != '\n' {
				return p.refuse(at, "a line not ended by \\r\\n")
			}
			if err := p.number(at + 1); err != "" {
				return p.refuse(at, err)
			}
			if !p.held && !p.covered(at+1) {
				p.held, p.holdFrom = true, at
			}
		case stLF:
			if c != '\n' {
				return p.refuse(base+int64(i), "a message not ended by \\r\\n")
			}
			p.state = stType
			if err := p.finish(base + int64(i) + 1); err != "" {
				return p.refuse(base+int64(i), err)
			}
		case stBoolean:
			if c != 't' && c != 'f' {
				return p.refuse(base+int64(i), "a boolean neither t nor f")
			}
			p.state = stCR
		case stCR:
			if c != '\r' {
				return p.refuse(base+int64(i), "a message not ended by \\r\\n")
			}
			p.state = stLF
		}
		if p.held && p.covered(base+int64(i)+1) {
			p.held = false
		}
	}
	p.pos = base + int64(len(chunk))
	return nil
}

// begin reads a message's type byte.
func (p *parser) begin(c byte) string {
	p.typ = c
	p.n, p.neg, p.digits = 0, false, 0
	switch c {
	case '$', '!', '=', '*', '~', '>', '%', '|', ':':
		p.state = stSign
	case '+', '-', ',', '(':
		p.state = stLine
	case '#':
		p.state = stBoolean
	case '_':
		p.state = stCR
	default:
		return "a message of unknown type"
	}
	if p.cmds != nil && !p.cmds.stopped {
		return p.answering(c)
	}
	return ""
}

// number acts on a complete length or integer line, which ends at offset
// end.
func (p *parser) number(end int64) string {
	n := int64(p.n) // math.MinInt64's magnitude wraps to itself
	if p.neg {
		n = -n
	}
	p.state = stType
	switch p.typ {
	case '$', '!', '=':
		switch {
		case n == -1: // a null
		case n < 0:
			return "a negative length"
		case !p.allocate(n):
			return "a length beyond what a client can hold"
		case n == 0:
			p.state = stCR
			return ""
		default:
			if p.capture {
				p.wordLen = n
			}
			p.remain = n
			p.state = stPayload
			return ""
		}
	case '*', '~', '>':
		switch {
		case n == -1: // a null
		case n < 0:
			return "a negative length"
		default:
			if err := p.arrayLength(n); err != "" {
				return err
			}
			return p.open(n, false, end)
		}
	case '%', '|':
		// rueidis reads twice the length: -1 would be -2.
		if n < 0 {
			return "a negative length"
		}
		if n > maxAlloc {
			return "a length beyond what a client can hold"
		}
		return p.open(2*n, p.typ == '|', end)
	}
	return p.finish(end) // an integer or a null
}

// open opens an aggregate of n elements, whose length line ends at end.
func (p *parser) open(n int64, attr bool, end int64) string {
	if len(p.levels) == MaxDepth {
		return "aggregates nested too deeply"
	}
	if n > maxAlloc/messageSize || !p.allocate(n*messageSize) {
		return "a length beyond what a client can hold"
	}
	switch {
	case n > 0:
		p.levels = append(p.levels, level{left: n, total: n, attr: attr})
	case !attr: // an empty attribute is nothing; an empty aggregate, a message
		return p.finish(end)
	}
	return ""
}

// allocate counts n bytes that rueidis allocates for the reply; false
// means more than it can hold.
func (p *parser) allocate(n int64) bool {
	if n > maxAlloc-p.alloc {
		return false
	}
	p.alloc += n
	return true
}

// covered reports whether what rueidis allocates for the reply is covered
// by its bytes up to offset end.
func (p *parser) covered(end int64) bool {
	return p.alloc <= allocPerByte*(end-p.start)+allocSlack
}

// finish ends a message whose last byte is before offset end: an element
// of the aggregates open, or the reply. It returns why the message must
// not reach rueidis, or "".
func (p *parser) finish(end int64) string {
	if p.capture && len(p.levels) == p.captureAt {
		if err := p.captured(); err != "" {
			return err
		}
	}
	for len(p.levels) > 0 {
		top := &p.levels[len(p.levels)-1]
		if top.left--; top.left > 0 {
			return ""
		}
		attr := top.attr
		p.levels = p.levels[:len(p.levels)-1]
		if attr {
			return "" // the message it comes before is still to come
		}
	}
	p.start, p.alloc, p.held = end, 0, false
	if p.sub && !p.cmds.stopped {
		p.cmds.stop() // answered: rueidis takes what comes next its own way
	}
	p.push, p.exec, p.sub = false, nil, false
	return ""
}

// refuse ends the stream at offset at.
func (p *parser) refuse(at int64, reason string) *Error {
	return &Error{Offset: at, Reason: reason}
}
