package respguard

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"unsafe"

	"github.com/redis/rueidis"
)

// chunky hands out its bytes in pieces of random sizes, as a socket does.
type chunky struct {
	b   []byte
	rng *rand.Rand
}

func (c *chunky) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(c.b), 1+c.rng.IntN(64))
	if c.rng.IntN(4) == 0 {
		n = min(len(p), len(c.b)) // sometimes all there is
	}
	copy(p, c.b[:n])
	c.b = c.b[n:]
	return n, nil
}

// through reads stream through a Reader, in reads of random sizes.
func through(stream []byte, seed uint64) ([]byte, error) {
	rng := rand.New(rand.NewPCG(seed, 1))
	g := NewReader(&chunky{b: stream, rng: rng})
	var out []byte
	for {
		buf := make([]byte, 1+rng.IntN(256))
		n, err := g.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			return out, err
		}
	}
}

// Replies Redis and Valkey send, RESP2 and RESP3.
var good = []string{
	"+OK\r\n",
	"+\r\n",
	"-ERR unknown command 'FOO', with args beginning with: \r\n",
	":0\r\n", ":-1\r\n", ":9223372036854775807\r\n", ":-9223372036854775808\r\n",
	"$-1\r\n", "$0\r\n\r\n", "$5\r\nhello\r\n", "$4\r\n\r\n\r\n\r\n",
	"*-1\r\n", "*0\r\n", "*2\r\n$1\r\na\r\n:1\r\n",
	"_\r\n", "#t\r\n", "#f\r\n", ",3.14\r\n", ",inf\r\n", ",-nan\r\n",
	"(3492890328409238509324850943850943825024385\r\n",
	"!21\r\nSYNTAX invalid syntax\r\n",
	"=15\r\ntxt:Some string\r\n",
	"%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n",
	"%0\r\n", "~3\r\n:1\r\n:2\r\n:3\r\n", "~0\r\n",
	">3\r\n$10\r\ninvalidate\r\n*1\r\n$3\r\nkey\r\n_\r\n",
	// An attribute before a reply, and one before an element.
	"|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*2\r\n:2039123\r\n:9543892\r\n",
	"*2\r\n|1\r\n+ttl\r\n:3600\r\n:1\r\n:2\r\n",
	"|0\r\n+OK\r\n",
	// Redis 7.0 writes a notification inside an EXEC's reply.
	"*3\r\n+OK\r\n>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nx\r\n:1\r\n",
	// What DEBUG PROTOCOL attrib sends.
	"|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n$39\r\nSome real reply following the attribute\r\n",
	// A Lua table nested 7,000 deep (Redis refuses 8,000), and as deep as
	// allowed.
	strings.Repeat("*1\r\n", 7000) + ":1\r\n",
	strings.Repeat("*1\r\n", MaxDepth) + ":1\r\n",
}

func TestGoodRepliesPassUnchanged(t *testing.T) {
	stream := []byte(strings.Join(good, ""))
	// Larger ones too: a bulk string of 20 MiB and an array of a million
	// elements, each longer than the bytes of the first read.
	big := append([]byte("$20971520\r\n"), bytes.Repeat([]byte("x"), 20<<20)...)
	big = append(big, "\r\n*1000000\r\n"...)
	big = append(big, bytes.Repeat([]byte("_\r\n"), 1e6)...)
	stream = append(stream, big...)
	for seed := range uint64(5) {
		out, err := through(stream, seed)
		if !errors.Is(err, io.EOF) {
			t.Fatalf("seed %d: %v, want io.EOF", seed, err)
		}
		if !bytes.Equal(out, stream) {
			t.Fatalf("seed %d: %d bytes out of %d, first difference at %d", seed, len(out), len(stream), firstDiff(out, stream))
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestBadRepliesAreRefused(t *testing.T) {
	for _, tc := range []struct{ name, reply, reason string }{
		{"negative bulk length", "$-2\r\n", "a negative length"},
		{"negative array length", "*-2\r\n", "a negative length"},
		{"null map", "%-1\r\n", "a negative length"},
		{"null attribute", "|-1\r\n", "a negative length"},
		{"bulk beyond memory", "$1099511627777\r\n", "beyond what a client can hold"},
		{"array beyond memory", "*4000000000000\r\n", "beyond what a client can hold"},
		{"map beyond memory", "%4611686018427387904\r\n", "beyond what a client can hold"},
		{"overflowing length", "$99999999999999999999\r\n", "beyond 64 bits"},
		{"overflowing integer", ":9223372036854775808\r\n", "beyond 64 bits"},
		{"too deep", strings.Repeat("*1\r\n", MaxDepth+1) + ":1\r\n", "nested too deeply"},
		{"too deep, attributes", strings.Repeat("|1\r\n:1\r\n", MaxDepth+1) + ":1\r\n", "nested too deeply"},
		{"streamed string", "$?\r\n;4\r\nHell\r\n;0\r\n", "streamed length"},
		{"streamed array", "*?\r\n:1\r\n.\r\n", "streamed length"},
		{"end of a stream", ".\r\n", "unknown type"},
		{"unknown type", "@5\r\n", "unknown type"},
		{"no digits", "$\r\n", "not a digit"},
		{"letters in a length", "*1x\r\n", "not a digit"},
		{"bare LF after a length", "$1\nx\r\n", "not a digit"},
		{"bare LF in a line", "+OK\n", "not ended by \\r\\n"},
		{"payload longer than its length", "$1\r\nab\r\n", "not ended by \\r\\n"},
		{"boolean", "#x\r\n", "neither t nor f"},
		{"null with content", "_x\r\n", "not ended by \\r\\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// After a good reply, which must still go through whole.
			stream := []byte("+OK\r\n" + tc.reply + "+never read\r\n")
			for seed := range uint64(10) {
				out, err := through(stream, seed)
				var re *Error
				if !errors.As(err, &re) || !errors.Is(err, ErrRefused) || !strings.Contains(re.Reason, tc.reason) {
					t.Fatalf("seed %d: %v, want a refusal for %q", seed, err, tc.reason)
				}
				if !bytes.HasPrefix(stream, out) || len(out) < len("+OK\r\n") || int64(len(out)) > re.Offset {
					t.Fatalf("seed %d: handed on %q, want the good reply and nothing from byte %d on", seed, out, re.Offset)
				}
				if strings.Contains(err.Error(), "never read") {
					t.Fatalf("the error quotes the reply: %v", err)
				}
			}
		})
	}
}

// A length may not run ahead of the bytes: rueidis would allocate for it
// at once. It is held back until enough of the reply came.
func TestLengthsWaitForTheirBytes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header string
		// after is the bytes that follow, and need how many of them must
		// have come before the header's line is handed on.
		after []byte
		need  int
	}{
		// 10^7 elements, for which rueidis allocates 400 MB, and a fifth
		// of their bytes: the header never goes.
		{"array", "*10000000\r\n", bytes.Repeat([]byte("_\r\n"), 2e6), (1e7*messageSize - allocSlack) / allocPerByte},
		// 400 MB, and a tenth of them: the header goes once a 16th came.
		{"bulk", "$400000000\r\n", bytes.Repeat([]byte("x"), 4e7), (4e8 - allocSlack) / allocPerByte},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stream := append([]byte(tc.header), tc.after...)
			g := NewReader(&chunky{b: stream, rng: rand.New(rand.NewPCG(1, 2))})
			var out int
			buf := make([]byte, 64<<10)
			for {
				n, err := g.Read(buf)
				if out < len(tc.header) && out+n >= len(tc.header) {
					// The header's '\n' goes now: what came after it
					// must cover the length.
					came := int(g.p.pos) - len(tc.header)
					if came < tc.need {
						t.Fatalf("the header went with %d bytes after it, want %d", came, tc.need)
					}
				}
				out += n
				if err != nil {
					break
				}
			}
			if out < len(tc.header)-1 {
				t.Fatalf("%d bytes handed on, want the header but its '\\n'", out)
			}
			if tc.need > len(tc.after) && out >= len(tc.header) {
				t.Fatalf("handed on %d bytes: the header went though its bytes never came", out)
			}
		})
	}
}

// messageSize is what rueidis allocates per element.
func TestMessageSizeIsRueidiss(t *testing.T) {
	if got := unsafe.Sizeof(rueidis.RedisMessage{}); got != messageSize {
		t.Fatalf("rueidis.RedisMessage is %d bytes, the guard counts %d", got, messageSize)
	}
}

// replyByReply hands out one reply a Read, and notes when it is asked for
// the next while the last has not all been handed on.
type replyByReply struct {
	replies          [][]byte
	delivered, taken int
	early            bool
}

func (r *replyByReply) Read(p []byte) (int, error) {
	if r.taken < r.delivered {
		r.early = true
	}
	if len(r.replies) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.replies[0])
	if r.replies[0] = r.replies[0][n:]; len(r.replies[0]) == 0 {
		r.replies = r.replies[1:]
	}
	r.delivered += n
	return n, nil
}

// A complete reply is never held, however many came before it: what
// rueidis allocates is counted reply by reply.
func TestCompleteRepliesAreNeverHeld(t *testing.T) {
	one := append([]byte("*100000\r\n"), bytes.Repeat([]byte("_\r\n"), 100000)...) // 4 MB for rueidis
	src := &replyByReply{}
	for range 200 {
		src.replies = append(src.replies, one)
	}
	g := NewReader(src)
	buf := make([]byte, 1<<20)
	for {
		n, err := g.Read(buf)
		src.taken += n
		if src.early {
			t.Fatalf("after %d bytes, a complete reply was held", src.taken)
		}
		if err != nil {
			break
		}
	}
	if src.taken != 200*len(one) {
		t.Fatalf("%d bytes handed on, want %d", src.taken, 200*len(one))
	}
}
