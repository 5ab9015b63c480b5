package respguard

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/wireredis/wireredis/internal/testsupport"
)

// guarded is a connection whose replies go through a Reader that
// follows the commands written, as the registry's sockets do.
type guarded struct {
	net.Conn
	replies *Reader
}

func newGuarded(c net.Conn) guarded {
	g := guarded{Conn: c, replies: NewReader(c)}
	g.replies.FollowCommands()
	return g
}

func (c guarded) Read(b []byte) (int, error) { return c.replies.Read(b) }

func (c guarded) Write(b []byte) (int, error) {
	c.replies.Sent(b)
	return c.Conn.Write(b)
}

// serveOnce plays a Redis server of version on conn: it answers the
// handshake, then writes reply to the first other command and hangs up.
func serveOnce(conn net.Conn, reply []byte, version string) {
	defer func() { _ = conn.Close() }()
	r := bufio.NewReader(conn)
	for {
		args, err := testsupport.ReadCommand(r)
		if err != nil {
			return
		}
		switch strings.ToUpper(args[0]) {
		case "HELLO":
			_, _ = conn.Write([]byte("%2\r\n+proto\r\n:3\r\n+version\r\n+" + version + "\r\n"))
		case "CLIENT", "SELECT", "AUTH", "PING":
			_, _ = conn.Write([]byte("+OK\r\n"))
		default:
			_, _ = conn.Write(reply)
			return
		}
	}
}

// readThroughRueidis has a rueidis client read reply, through a Reader,
// as the reply to a GET; it returns what the GET got. inReader has the
// GET sent without a deadline, so that rueidis's reader goroutine reads
// the reply and whatever comes after it (under a deadline, an idle
// connection reads one reply in the caller's goroutine); the server says
// it is Redis 7.0.15, or 6.2.16 with redis6 (rueidis then mends replies
// with pushes inside).
func readThroughRueidis(t testing.TB, reply []byte, inReader, redis6 bool) rueidis.RedisResult {
	t.Helper()
	client, err := rueidis.NewClient(rueidis.ClientOption{
		InitAddress:       []string{"fake:6379"},
		ForceSingleClient: true,
		DisableRetry:      true,
		DialCtxFn: func(context.Context, string, *net.Dialer, *tls.Config) (net.Conn, error) {
			ours, theirs := net.Pipe()
			version := "7.0.15"
			if redis6 {
				version = "6.2.16"
			}
			go serveOnce(theirs, reply, version)
			return newGuarded(ours), nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if inReader {
		ctx, cancel = context.WithCancel(context.Background()) // serveOnce hangs up
	}
	defer cancel()
	return client.Do(ctx, client.B().Get().Key("k").Build())
}

// Whatever a server writes, rueidis reading it through a Reader neither
// panics nor runs out of memory: it reads the reply, or fails the command.
func FuzzRueidisReadsWhatPasses(f *testing.F) {
	for _, s := range good {
		f.Add([]byte(s))
	}
	for _, s := range []string{"$-2\r\n", "*-2\r\n", "%-1\r\n", "$99999999999999999\r\n", "*4000000000\r\n",
		"$1099511627776\r\n", "$?\r\n;-4\r\n", strings.Repeat("*1\r\n", 10000)} {
		f.Add([]byte(s))
	}
	// Replies to no command, and pushes rueidis acts on.
	for _, s := range []string{"+OK\r\n+OK\r\n", "*2\r\n>1\r\n+i\r\n$1\r\nv\r\n$1\r\nw\r\n:1\r\n", "*1\r\n>1\r\n+i\r\n>1\r\n+i\r\n", "$1\r\nv\r\n:1\r\n", ">3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n+OK\r\n",
		">3\r\n$11\r\nunsubscribe\r\n$1\r\nc\r\n:0\r\n+OK\r\n", "+OK\r\n>2\r\n-psubscribe\r\n:1\r\n", "*1\r\n>1\r\n+x\r\n:1\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, reply []byte) {
		_ = readThroughRueidis(t, reply, false, false).Error()
		_ = readThroughRueidis(t, reply, true, false).Error()
		_ = readThroughRueidis(t, reply, true, true).Error()
	})
}

// Each reply that once ended the process (checked with rueidis v1.0.80
// unguarded) now fails the command: refused, or, when only its length is
// wrong, held until the server hangs up.
func TestRepliesThatEndedTheProcessFailTheCommand(t *testing.T) {
	for _, tc := range []struct {
		reply   string
		refused bool
	}{
		{"$-2\r\n", true},                       // makeslice: len out of range
		{"*-2\r\n", true},                       // the same
		{"%-1\r\n", true},                       // the same: rueidis reads -2 elements
		{"$99999999999999999\r\n", true},        // the same
		{"*99999999999999999\r\n", true},        // the same
		{"$?\r\n;-4\r\nabcd\r\n", true},         // strings.Builder.Grow: negative count
		{strings.Repeat("*1\r\n", 1<<22), true}, // fatal error: stack overflow
		{"*4000000000\r\n", false},              // fatal error: runtime: out of memory
		{"$1099511627776\r\n", false},           // the same
	} {
		err := readThroughRueidis(t, []byte(tc.reply), false, false).Error()
		if tc.refused && !errors.Is(err, ErrRefused) || !tc.refused && !errors.Is(err, io.EOF) {
			t.Errorf("%.20q...: %v, want the refusal (%v) or the server's hang-up", tc.reply, err, tc.refused)
		}
	}
}
