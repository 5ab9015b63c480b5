package respguard

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
)

// command is a command as rueidis writes it.
func command(args ...string) string {
	var b strings.Builder
	b.WriteString("*" + strconv.Itoa(len(args)) + "\r\n")
	for _, a := range args {
		b.WriteString("$" + strconv.Itoa(len(a)) + "\r\n" + a + "\r\n")
	}
	return b.String()
}

// step is a write of commands (sent) or the arrival of replies (reply),
// with the refusal expected there ("": none; else a part of its reason).
type step struct {
	sent, reply, refused string
}

func sent(cmds ...string) step { return step{sent: strings.Join(cmds, "")} }
func reply(r string) step      { return step{reply: r} }
func refused(r, why string) step {
	return step{reply: r, refused: why}
}

// queue is a socket's incoming side: replies arrive as the test says.
type queue struct{ chunks [][]byte }

func (q *queue) Read(b []byte) (int, error) {
	if len(q.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(b, q.chunks[0])
	if q.chunks[0] = q.chunks[0][n:]; len(q.chunks[0]) == 0 {
		q.chunks = q.chunks[1:]
	}
	return n, nil
}

// play runs steps through a Reader that follows the commands; bytewise
// writes and delivers every byte apart.
func play(t *testing.T, steps []step, bytewise bool) {
	t.Helper()
	q := new(queue)
	g := NewReader(q)
	g.FollowCommands()
	for i, s := range steps {
		if s.sent != "" {
			if bytewise {
				for j := range len(s.sent) {
					g.Sent([]byte(s.sent[j : j+1]))
				}
			} else {
				g.Sent([]byte(s.sent))
			}
			continue
		}
		if bytewise {
			for j := range len(s.reply) {
				q.chunks = append(q.chunks, []byte(s.reply[j:j+1]))
			}
		} else {
			q.chunks = append(q.chunks, []byte(s.reply))
		}
		var got []byte
		var err error
		for len(got) < len(s.reply) && err == nil {
			buf := make([]byte, 7)
			var n int
			n, err = g.Read(buf)
			got = append(got, buf[:n]...)
		}
		switch {
		case s.refused == "" && err != nil:
			t.Fatalf("step %d, reply %q: %v", i, s.reply, err)
		case s.refused == "" && string(got) != s.reply:
			t.Fatalf("step %d: read %q, want %q", i, got, s.reply)
		case s.refused != "":
			var re *Error
			if !errors.As(err, &re) || !errors.Is(err, ErrRefused) || !strings.Contains(re.Reason, s.refused) {
				t.Fatalf("step %d, reply %q: %v, want a refusal (%s)", i, s.reply, err, s.refused)
			}
			if len(got) >= len(s.reply) {
				t.Fatalf("step %d: the refused reply went whole: %q", i, got)
			}
			return
		}
	}
}

func TestFollowCommands(t *testing.T) {
	const noCommand = "every command sent had had its reply"
	const execLength = "one reply for each command of its transaction"
	const subscription = "a subscription confirmed"
	multi := func(cmds ...string) string {
		return command("MULTI") + strings.Join(cmds, "") + command("EXEC")
	}
	get, set := command("GET", "k"), command("SET", "k", "v")
	const pushInside = "a push inside a reply"
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"a reply per command", []step{sent(get), reply("$1\r\nv\r\n"), sent(set, get), reply("+OK\r\n$1\r\nv\r\n")}},
		{"replies that come apart", []step{sent(get, get, get), reply("$1\r\nv\r\n"), reply("$-1\r\n"), reply("-ERR x\r\n")}},
		{"a reply before any command", []step{refused("+OK\r\n", noCommand)}},
		{"a reply too many", []step{sent(get), reply("$1\r\nv\r\n"), refused("+OK\r\n", noCommand)}},
		{"a reply too many in one read", []step{sent(get), refused("$1\r\nv\r\n:1\r\n", noCommand)}},
		{"an attribute is not a reply", []step{sent(get), reply("|1\r\n+a\r\n+b\r\n$1\r\nv\r\n"), refused("|1\r\n+a\r\n+b\r\n:1\r\n", noCommand)}},
		{"pushes are not replies", []step{sent(get), reply(">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n>3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n$1\r\nv\r\n")}},
		{"an unsubscription is taken from anyone", []step{reply(">3\r\n$11\r\nunsubscribe\r\n$1\r\nc\r\n:0\r\n")}},
		{"a subscription confirmed unasked", []step{sent(get), refused(">3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n$1\r\nv\r\n", subscription)}},
		{"a pattern subscription confirmed unasked", []step{refused(">3\r\n+psubscribe\r\n+c\r\n:1\r\n", subscription)}},
		{"a shard subscription confirmed unasked", []step{refused(">2\r\n-ssubscribe\r\n:1\r\n", subscription)}},
		{"a push of one element", []step{reply(">1\r\n$9\r\nsubscribe\r\n")}},
		{"a push of another kind", []step{reply(">2\r\n$10\r\nsubscribex\r\n:1\r\n>2\r\n$8\r\nsubscrib\r\n:1\r\n>2\r\n=13\r\ntxt:subscribe\r\n:1\r\n")}},
		{"SUBSCRIBE: no longer followed", []step{
			sent(command("SUBSCRIBE", "c")), reply(">3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n"),
			reply("*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n+PONG\r\n+OK\r\n"),
		}},
		{"subscribe, lower case", []step{sent(command("psubscribe", "c*")), reply(">3\r\n$10\r\npsubscribe\r\n$2\r\nc*\r\n:1\r\n+OK\r\n")}},
		{"a subscription after replies owed", []step{
			sent(get, command("SSUBSCRIBE", "c")), reply("$1\r\nv\r\n>3\r\n$10\r\nssubscribe\r\n$1\r\nc\r\n:1\r\n+extra\r\n"),
		}},
		{"MONITOR: no longer followed", []step{sent(command("MONITOR")), reply("+OK\r\n+1 [0 127.0.0.1:1] \"GET\"\r\n+2\r\n")}},
		{"CLIENT REPLY: no longer followed", []step{sent(command("client", "reply", "skip"), get), reply("$1\r\nv\r\n+OK\r\n")}},
		{"CLIENT of another kind: followed", []step{sent(command("CLIENT", "ID")), reply(":7\r\n"), refused("+OK\r\n", noCommand)}},
		{"long names", []step{
			sent(command("JSON.ARRAPPEND", "k", "$", "1"), command(strings.Repeat("X", 1000), "k"), command("SUBSCRIBEX", "c"), command("")),
			reply(":1\r\n-ERR unknown command\r\n-ERR unknown command\r\n-ERR unknown command\r\n"), refused(":1\r\n", noCommand),
		}},
		{"inline commands: no longer followed", []step{sent("PING\r\n"), reply("+PONG\r\n+PONG\r\n")}},
		{"a push inside a reply", []step{
			sent(command("MGET", "a", "b")),
			refused("*2\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\na\r\n$1\r\nv\r\n$1\r\nw\r\n", pushInside),
		}},
		{"a push deep inside a reply", []step{sent(get, get), reply("$1\r\nv\r\n"), refused("*1\r\n%1\r\n+k\r\n*1\r\n>1\r\n+x\r\n", pushInside)}},
		{"a push inside an EXEC reply", []step{
			sent(multi(command("PTTL", "a"), command("MGET", "a"))),
			refused("+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:-1\r\n>3\r\n", pushInside),
		}},
		{"a push inside a push", []step{sent(get), reply(">2\r\n+message\r\n>1\r\n+x\r\n$1\r\nv\r\n")}},
		{"SUBSCRIBE answered by a confirmation: no longer followed", []step{
			sent(command("SUBSCRIBE", "a", "b")), reply(">3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n>3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n+PONG\r\n*1\r\n>1\r\n+x\r\n"),
		}},
		{"SUBSCRIBE answered by an error: no longer followed", []step{sent(command("SUBSCRIBE", "a")), reply("-NOPERM no\r\n+OK\r\n+OK\r\n")}},
		{"SUBSCRIBE answered QUEUED", []step{sent(command("SUBSCRIBE", "a")), refused("+QUEUED\r\n", "queued in a transaction")}},
		{"SUBSCRIBE answered QUEUED in a bulk", []step{sent(command("SUBSCRIBE", "a")), refused("$6\r\nQUEUED\r\n", "queued in a transaction")}},
		{"UNSUBSCRIBE answered QUEUED in an error", []step{sent(command("UNSUBSCRIBE")), refused("-QUEUED\r\n", "queued in a transaction")}},
		{"SUBSCRIBE answered with a longer word", []step{sent(command("SUBSCRIBE", "a")), reply("+QUEUEDX\r\n+OK\r\n")}},
		{"a confirmation for the command before the subscription", []step{
			sent(get, command("SUBSCRIBE", "a")), refused(">3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n", subscription),
		}},
		{"UNSUBSCRIBE and rueidis's PING", []step{
			sent(command("UNSUBSCRIBE", "a"), command("PING")), reply(">3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:0\r\n+PONG\r\n+extra\r\n"),
		}},
		{"an EXEC answered QUEUED", []step{sent(multi(get)), refused("+OK\r\n+QUEUED\r\n+QUEUED\r\n", "not an array")}},
		{"an EXEC answered with a number", []step{sent(multi(get)), refused("+OK\r\n+QUEUED\r\n:5\r\n", "not an array")}},
		{"an EXEC answered with a string", []step{sent(multi(get)), refused("+OK\r\n+QUEUED\r\n$1\r\nv\r\n", "not an array")}},
		{"an EXEC answered with a blob error", []step{sent(multi(get)), reply("+OK\r\n+QUEUED\r\n!5\r\nERR x\r\n")}},
		{"a transaction", []step{sent(multi(get, set)), reply("+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n$1\r\nv\r\n+OK\r\n"), refused(":1\r\n", noCommand)}},
		{"lower case", []step{sent(command("multi"), get, command("exec")), refused("+OK\r\n+QUEUED\r\n*2\r\n", execLength)}},
		{"an EXEC reply too short", []step{sent(multi(get, set)), refused("+OK\r\n+QUEUED\r\n+QUEUED\r\n*1\r\n$1\r\nv\r\n", execLength)}},
		{"an EXEC reply too long", []step{sent(multi(get)), refused("+OK\r\n+QUEUED\r\n*2\r\n$1\r\nv\r\n:1\r\n", execLength)}},
		{"an EXEC reply as a set", []step{sent(multi(get)), refused("+OK\r\n+QUEUED\r\n~1\r\n$1\r\nv\r\n", "not an array")}},
		{"an EXEC reply as a map", []step{sent(multi(get, get)), refused("+OK\r\n+QUEUED\r\n+QUEUED\r\n%1\r\n$1\r\nv\r\n$1\r\nv\r\n", "not an array")}},
		{"an aborted EXEC", []step{sent(multi(get), multi(get)), reply("+OK\r\n+QUEUED\r\n*-1\r\n+OK\r\n+QUEUED\r\n_\r\n")}},
		{"EXECABORT", []step{sent(multi(get, command("NOPE"))), reply("+OK\r\n+QUEUED\r\n-ERR unknown command\r\n-EXECABORT Transaction discarded\r\n")}},
		{"MULTI nested: not queued", []step{sent(multi(command("MULTI"), get)), reply("+OK\r\n-ERR MULTI calls can not be nested\r\n+QUEUED\r\n*1\r\n$1\r\nv\r\n")}},
		{"WATCH in a transaction: not queued", []step{sent(multi(command("WATCH", "k"), get)), reply("+OK\r\n-ERR WATCH inside MULTI is not allowed\r\n+QUEUED\r\n*1\r\n$1\r\nv\r\n")}},
		{"DISCARD", []step{
			sent(command("MULTI"), get, command("DISCARD"), command("EXEC"), multi(get)),
			reply("+OK\r\n+QUEUED\r\n+OK\r\n-ERR EXEC without MULTI\r\n+OK\r\n+QUEUED\r\n*1\r\n$1\r\nv\r\n"),
		}},
		{"RESET", []step{
			sent(command("MULTI"), get, command("RESET"), command("EXEC")),
			reply("+OK\r\n+QUEUED\r\n+RESET\r\n-ERR EXEC without MULTI\r\n"),
		}},
		{"EXEC without MULTI", []step{sent(command("EXEC")), reply("-ERR EXEC without MULTI\r\n")}},
		{"rueidis's cached read", []step{
			sent(command("CLIENT", "CACHING", "YES"), multi(command("PTTL", "k"), get)),
			reply("+OK\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:-1\r\n$1\r\nv\r\n"),
		}},
		{"rueidis's cached MGET", []step{
			sent(command("CLIENT", "CACHING", "YES"), multi(command("PTTL", "a"), command("PTTL", "b"), command("MGET", "a", "b"))),
			reply("+OK\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n:-1\r\n:5\r\n*2\r\n$1\r\nv\r\n$-1\r\n"),
		}},
		{"an MGET reply too long in an EXEC", []step{
			sent(multi(command("PTTL", "a"), command("MGET", "a"))),
			refused("+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:-1\r\n*2\r\n$1\r\nv\r\n", "one value for each key"),
		}},
		{"an MGET reply too short in an EXEC", []step{
			sent(multi(command("MGET", "a", "b"), get)),
			refused("+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n*1\r\n$1\r\nv\r\n", "one value for each key"),
		}},
		{"an MGET reply as a map in an EXEC", []step{
			sent(multi(command("MGET", "a"))),
			refused("+OK\r\n+QUEUED\r\n*1\r\n%1\r\n$1\r\nv\r\n$1\r\nw\r\n", "not an array"),
		}},
		{"an MGET that failed in an EXEC", []step{
			sent(multi(command("MGET", "a"), command("MGET", "b", "c"))),
			reply("+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n-WRONGTYPE x\r\n*2\r\n$-1\r\n$1\r\nw\r\n"),
		}},
		{"JSON.MGET in an EXEC", []step{
			sent(multi(command("JSON.MGET", "a", "b", "$"))),
			refused("+OK\r\n+QUEUED\r\n*1\r\n*3\r\n", "one value for each key"),
		}},
		{"an EXEC reply with an attribute", []step{
			sent(multi(command("MGET", "a"))),
			reply("+OK\r\n+QUEUED\r\n|1\r\n+k\r\n+v\r\n*1\r\n|1\r\n+k\r\n*2\r\n+x\r\n+y\r\n*1\r\n$1\r\nv\r\n"),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { play(t, tc.steps, false) })
		t.Run(tc.name+", byte by byte", func(t *testing.T) { play(t, tc.steps, true) })
	}
}

// TestNotFollowing: a Reader that was not asked to follow the commands
// (FollowCommands) pairs no reply with a command.
func TestNotFollowing(t *testing.T) {
	g := NewReader(&queue{chunks: [][]byte{[]byte("+OK\r\n*1\r\n:1\r\n>3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n")}})
	g.Sent([]byte(command("GET", "k")))
	got, err := io.ReadAll(g)
	if err != nil || len(got) != 43 {
		t.Errorf("read %q, %v", got, err)
	}
}
