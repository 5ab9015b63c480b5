package registry_test

// Attacks on the reply guard (internal/respguard, wired in dial.go).
//
// Tests that demonstrate a broken promise fail on purpose: they are the
// evidence. Tests that end the process run in a child process
// (isolated), so the rest of the file still runs.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/respguard"
	"github.com/wireredis/wireredis/internal/testsupport"
	"github.com/wireredis/wireredis/redistest"
	"github.com/wireredis/wireredis/registry"
)

// ---------------------------------------------------------------- helpers

// answerFn answers one command on a fake server's connection c; false
// leaves it to the default answers (the handshake, PING, GET, +OK).
type answerFn func(c net.Conn, args []string) bool

// attackServer is a fake Redis whose answers answer chooses (nil: the
// default ones).
func attackServer(t *testing.T, answer answerFn) string {
	t.Helper()
	if answer == nil {
		answer = func(net.Conn, []string) bool { return false }
	}
	return testsupport.FakeRedisAnswering(t, answer)
}

// evilGet answers a GET of a key containing "evil" with reply, written as
// the chunks split says (nil: at once), pause between them.
func evilGet(reply string, split func(string) []string, pause time.Duration) answerFn {
	return func(c net.Conn, args []string) bool {
		if strings.ToUpper(args[0]) != "GET" || !strings.Contains(args[1], "evil") {
			return false
		}
		chunks := []string{reply}
		if split != nil {
			chunks = split(reply)
		}
		for i, ch := range chunks {
			if i > 0 && pause > 0 {
				time.Sleep(pause)
			}
			if _, err := c.Write([]byte(ch)); err != nil {
				return true
			}
		}
		return true
	}
}

func byteByByte(s string) []string {
	out := make([]string, len(s))
	for i := range s {
		out[i] = s[i : i+1]
	}
	return out
}

// acquire returns the registry's client of addr (a host:port or a URL).
func acquire(t *testing.T, addr string, env ...string) (*registry.Registry, rueidis.Client) {
	t.Helper()
	if !strings.Contains(addr, "://") {
		addr = "redis://" + addr
	}
	reg, _ := newRegistry(t)
	c, release, err := reg.Acquire(context.Background(), load(t, "session", append([]string{"REDIS_URL=" + addr}, env...)...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	return reg, c
}

// rawClient is a rueidis client with the registry's options, without the
// registry (nor its guard).
func rawClient(t *testing.T, addr string, env ...string) rueidis.Client {
	t.Helper()
	if !strings.Contains(addr, "://") {
		addr = "redis://" + addr
	}
	co, err := load(t, "session", append([]string{"REDIS_URL=" + addr}, env...)...).ClientOption()
	if err != nil {
		t.Fatal(err)
	}
	c, err := rueidis.NewClient(co)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// show is a result as text, error included, for comparing two clients.
func show(r rueidis.RedisResult) string {
	m, err := r.ToMessage()
	if _, isRedis := rueidis.IsRedisErr(err); err != nil && !isRedis {
		return "error: " + err.Error()
	}
	return ttlField.ReplaceAllString(m.String(), "")
}

var ttlField = regexp.MustCompile(`,"TTL":"[^"]*"`)

// showCheap is show for big replies: rueidis's String is slow on them
// under -race. It compares values (ToAny), not RESP types.
func showCheap(r rueidis.RedisResult) string {
	m, err := r.ToMessage()
	if _, isRedis := rueidis.IsRedisErr(err); err != nil && !isRedis {
		return "error: " + err.Error()
	}
	v, err := m.ToAny()
	h := fnv.New64a()
	fmt.Fprintf(h, "%#v %v", v, err)
	return fmt.Sprintf("%x (%d bytes as text)", h.Sum64(), len(fmt.Sprint(v)))
}

// isolated runs child in a child process (this test binary, this test
// only) and returns its output and whether the process ended with a
// panic or a fatal error. In the child it runs child and returns "".
func isolated(t *testing.T, child func(t *testing.T)) (string, bool) {
	t.Helper()
	if os.Getenv("ATTACKGUARD_CHILD") == t.Name() {
		child(t)
		return "", false
	}
	parts := strings.Split(t.Name(), "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	cmd := exec.Command(os.Args[0], "-test.run="+strings.Join(parts, "/"), "-test.count=1", "-test.v", "-test.timeout=60s", "-test.parallel=16")
	cmd.Env = append(os.Environ(), "ATTACKGUARD_CHILD="+t.Name())
	out, _ := cmd.CombinedOutput()
	s := string(out)
	crashed := strings.Contains(s, "panic: ") || strings.Contains(s, "fatal error: ")
	return s, crashed
}

// childVerdict fails t when isolated's child process ended (a panic in
// rueidis's goroutines, say) or failed, and logs its output otherwise.
func childVerdict(t *testing.T, out string, crashed bool) {
	t.Helper()
	switch {
	case crashed:
		t.Errorf("the process ended:\n%s", crashExcerpt(out))
	case strings.Contains(out, "--- FAIL"):
		t.Errorf("in the child:\n%s", out)
	default:
		t.Logf("child:\n%s", out)
	}
}

func crashExcerpt(out string) string {
	i := strings.Index(out, "panic: ")
	if j := strings.Index(out, "fatal error: "); i < 0 || (j >= 0 && j < i) {
		i = j
	}
	if i < 0 {
		return out
	}
	out = out[i:]
	// The panic and the frames that matter.
	lines := strings.Split(out, "\n")
	if len(lines) > 14 {
		lines = lines[:14]
	}
	return strings.Join(lines, "\n")
}

// ------------------------------------------- promise 3: real Redis replies

// TestAttackGuardRealLuaReplyNestedDeep: Redis replies to a Lua script
// with the nesting of the table it returns, as deep as the Lua stack
// allows (7,000 levels pass on redis-server 7.0.15, 8,000 are refused).
// The guard refused any reply nested deeper than 512, which a raw rueidis
// client read fine (found by this attack); MaxDepth is now above Lua's
// limit, and the registry reads what raw rueidis reads.
func TestAttackGuardRealLuaReplyNestedDeep(t *testing.T) {
	srv := redistest.Start(t)
	for _, proto := range []string{"3", "2"} {
		env := []string{"REDIS_PROTOCOL=" + proto}
		_, c := acquire(t, srv.URL(), env...)
		raw := rawClient(t, srv.URL(), env...)
		for _, depth := range []int{100, 512, 513, 1000, 3000, 7000} {
			t.Run(fmt.Sprintf("RESP%s/depth%d", proto, depth), func(t *testing.T) {
				script := "local t = {1} for i = 2, tonumber(ARGV[1]) do t = {t} end return t"
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				want := nesting(raw.Do(ctx, raw.B().Eval().Script(script).Numkeys(0).Arg(strconv.Itoa(depth)).Build()))
				got := nesting(c.Do(ctx, c.B().Eval().Script(script).Numkeys(0).Arg(strconv.Itoa(depth)).Build()))
				if got != want {
					t.Errorf("EVAL returning a table nested %d deep: registry %s; raw rueidis %s", depth, got, want)
				}
			})
		}
	}
}

// nesting describes a reply of arrays of one element each, nested around
// an integer: "N arrays around V", or its error.
func nesting(r rueidis.RedisResult) string {
	m, err := r.ToMessage()
	depth := 0
	for err == nil {
		var a []rueidis.RedisMessage
		if a, err = m.ToArray(); err != nil || len(a) != 1 {
			break
		}
		m = a[0]
		depth++
	}
	v, e := m.AsInt64()
	if r.Error() != nil {
		return "error: " + r.Error().Error()
	}
	return fmt.Sprintf("%d arrays around %d (%v)", depth, v, e)
}

// TestAttackGuardRealMinInt64Integer: Redis replies ":-9223372036854775808"
// when an integer reaches math.MinInt64 (INCRBY k -9223372036854775808 on
// a missing key; DECR of -9223372036854775807). The guard's digit check
// refuses 9223372036854775808 as "a number beyond 64 bits" even after a
// '-'; rueidis itself reads it exactly (its int64 wraps to MinInt64).
func TestAttackGuardRealMinInt64Integer(t *testing.T) {
	srv := redistest.Start(t)
	for _, proto := range []string{"3", "2"} {
		t.Run("RESP"+proto, func(t *testing.T) {
			env := []string{"REDIS_PROTOCOL=" + proto}
			_, c := acquire(t, srv.URL(), env...)
			raw := rawClient(t, srv.URL(), env...)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			key := "min" + proto
			want, werr := raw.Do(ctx, raw.B().Incrby().Key(key).Increment(-1<<63).Build()).AsInt64()
			if werr != nil || want != -1<<63 {
				t.Fatalf("raw INCRBY: %v, %v", want, werr)
			}
			_ = raw.Do(ctx, raw.B().Set().Key(key).Value("-9223372036854775807").Build()).Error()
			got, err := c.Do(ctx, c.B().Decr().Key(key).Build()).AsInt64()
			if err != nil || got != -1<<63 {
				t.Errorf("DECR to math.MinInt64 through the registry: %d, %v; raw rueidis gets %d", got, err, want)
			}
			_ = raw.Do(ctx, raw.B().Del().Key(key).Build()).Error()
			got, err = c.Do(ctx, c.B().Incrby().Key(key).Increment(-1<<63).Build()).AsInt64()
			if err != nil || got != -1<<63 {
				t.Errorf("INCRBY %s -9223372036854775808 through the registry: %d, %v; raw rueidis gets %d", key, got, err, want)
			}
		})
	}
}

// TestAttackGuardRealRepliesUnchanged: what a real Redis (with DEBUG
// PROTOCOL on, to get the RESP3 types Redis rarely sends: attributes,
// pushes, big numbers, verbatim strings) sends comes through the
// registry as it comes to a raw rueidis client: RESP3 and RESP2, client
// side caching, pub/sub, blocking commands, DoStream, big values. make
// test-matrix runs it on every server (Redis 6.2 takes rueidis's Redis 6
// path for pushes inside replies).
func TestAttackGuardRealRepliesUnchanged(t *testing.T) {
	realRepliesUnchanged(t, startWithDebug(t), 8<<20, 5000)
}

// startWithDebug starts a server that takes DEBUG: from Redis 7.0 on it
// must be enabled at start-up; before, it always is.
func startWithDebug(t *testing.T) *redistest.Server {
	t.Helper()
	srv := redistest.Start(t)
	config, err := srv.Client.Do(context.Background(), srv.Client.B().ConfigGet().Parameter("enable-debug-command").Build()).AsStrMap()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := config["enable-debug-command"]; !ok {
		return srv
	}
	return redistest.Start(t, "--enable-debug-command", "yes")
}

func realRepliesUnchanged(t *testing.T, srv *redistest.Server, bigSize, elements int) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	big := strings.Repeat("0123456789abcdef", bigSize/16)
	seed := srv.Client
	must := func(err error) {
		t.Helper()
		if err != nil && !rueidis.IsRedisNil(err) {
			t.Fatal(err)
		}
	}
	must(seed.Do(ctx, seed.B().Set().Key("big").Value(big).Build()).Error())
	must(seed.Do(ctx, seed.B().Eval().Script(`
		for i = 1, tonumber(ARGV[1]) do
			redis.call('HSET', 'hash', 'f'..i, i)
			redis.call('SADD', 'set', 'm'..i)
			redis.call('ZADD', 'zset', i + 0.5, 'z'..i)
			redis.call('RPUSH', 'list', i)
		end
		redis.call('SET', 'k1', 'v1') redis.call('SET', 'k2', 'v2')
		redis.call('XADD', 'stream', '*', 'a', '1', 'b', '')
		return 1`).Numkeys(0).Arg(strconv.Itoa(elements)).Build()).Error())
	must(seed.Do(ctx, seed.B().Set().Key("empty").Value("").Build()).Error())
	must(seed.Do(ctx, seed.B().Set().Key("maxv").Value("9223372036854775807").Build()).Error())
	must(seed.Do(ctx, seed.B().Set().Key("crlf").Value("a\r\n$5\r\n*-2\r\nb").Build()).Error())
	for _, proto := range []string{"3", "2"} {
		t.Run("RESP"+proto, func(t *testing.T) {
			env := []string{"REDIS_PROTOCOL=" + proto}
			reg, c := acquire(t, srv.URL(), env...)
			raw := rawClient(t, srv.URL(), env...)
			type mk func(c rueidis.Client) rueidis.Completed
			cmds := map[string]mk{
				"GET big":     func(c rueidis.Client) rueidis.Completed { return c.B().Get().Key("big").Build() },
				"GET empty":   func(c rueidis.Client) rueidis.Completed { return c.B().Get().Key("empty").Build() },
				"GET crlf":    func(c rueidis.Client) rueidis.Completed { return c.B().Get().Key("crlf").Build() },
				"GET missing": func(c rueidis.Client) rueidis.Completed { return c.B().Get().Key("missing").Build() },
				"HGETALL":     func(c rueidis.Client) rueidis.Completed { return c.B().Hgetall().Key("hash").Build() },
				"SMEMBERS":    func(c rueidis.Client) rueidis.Completed { return c.B().Smembers().Key("set").Build() },
				"ZRANGE": func(c rueidis.Client) rueidis.Completed {
					return c.B().Zrange().Key("zset").Min("0").Max("-1").Withscores().Build()
				},
				"LRANGE": func(c rueidis.Client) rueidis.Completed { return c.B().Lrange().Key("list").Start(0).Stop(-1).Build() },
				"MGET":   func(c rueidis.Client) rueidis.Completed { return c.B().Mget().Key("k1", "missing", "k2").Build() },
				"XRANGE": func(c rueidis.Client) rueidis.Completed {
					return c.B().Xrange().Key("stream").Start("-").End("+").Build()
				},
				"HRANDFIELD": func(c rueidis.Client) rueidis.Completed { return c.B().Hrandfield().Key("hash").Count(0).Build() },
				"INCRBY max": func(c rueidis.Client) rueidis.Completed { return c.B().Incrby().Key("maxv").Increment(0).Build() },
				"CONFIG GET": func(c rueidis.Client) rueidis.Completed { return c.B().ConfigGet().Parameter("maxmemory*").Build() },
				"ERR":        func(c rueidis.Client) rueidis.Completed { return c.B().Arbitrary("NOSUCHCOMMAND").Build() },
				"COMMAND INFO": func(c rueidis.Client) rueidis.Completed {
					return c.B().CommandInfo().CommandName("get", "set", "xreadgroup").Build()
				},
				"Lua nested 400": func(c rueidis.Client) rueidis.Completed {
					return c.B().Eval().Script("local t = {1, 'x', false} for i = 1, 399 do t = {t, i} end return t").Numkeys(0).Build()
				},
				"Lua RESP3 types": func(c rueidis.Client) rueidis.Completed {
					return c.B().Eval().Script("redis.setresp(3) return {{map={a=1, b={double=1.5}}}, {set={x=true}}, {double=0.25}, {big_number='123456789012345678901234567890'}, false, {}, {err='E bad'}}").Numkeys(0).Build()
				},
				"Lua RESP3 empty map": func(c rueidis.Client) rueidis.Completed {
					return c.B().Eval().Script("redis.setresp(3) return {map={}}").Numkeys(0).Build()
				},
			}
			for _, p := range []string{"attrib", "bignum", "verbatim", "push", "map", "set", "double", "null", "true", "false"} {
				cmds["DEBUG PROTOCOL "+p] = func(c rueidis.Client) rueidis.Completed { return c.B().Arbitrary("DEBUG", "PROTOCOL", p).Build() }
			}
			if proto == "3" {
				cmds["HELLO 3"] = func(c rueidis.Client) rueidis.Completed { return c.B().Arbitrary("HELLO", "3").Build() }
			}
			for name, f := range cmds {
				want := show(raw.Do(ctx, f(raw)))
				got := show(c.Do(ctx, f(c)))
				if name == "HELLO 3" {
					// The connection ids differ.
					re := regexp.MustCompile(`[0-9]+`)
					want, got = re.ReplaceAllString(want, ""), re.ReplaceAllString(got, "")
				}
				if got != want {
					t.Errorf("%s: registry %.300s, raw rueidis %.300s", name, got, want)
				}
			}
			// Client-side caching, twice each (a miss, then a hit).
			for i := range 2 {
				want := show(raw.DoCache(ctx, raw.B().Get().Key("k1").Cache(), time.Minute))
				got := show(c.DoCache(ctx, c.B().Get().Key("k1").Cache(), time.Minute))
				if got != want {
					t.Errorf("DoCache GET #%d: %s, raw %s", i, got, want)
				}
				want = show(raw.DoCache(ctx, raw.B().Mget().Key("k1", "missing", "k2").Cache(), time.Minute))
				got = show(c.DoCache(ctx, c.B().Mget().Key("k1", "missing", "k2").Cache(), time.Minute))
				if got != want {
					t.Errorf("DoCache MGET #%d: %s, raw %s", i, got, want)
				}
				want = show(raw.DoCache(ctx, raw.B().Hgetall().Key("hash").Cache(), time.Minute))
				got = show(c.DoCache(ctx, c.B().Hgetall().Key("hash").Cache(), time.Minute))
				if got != want {
					t.Errorf("DoCache HGETALL #%d: differs", i)
				}
			}
			// An invalidation, then the cache reads the new value.
			must(seed.Do(ctx, seed.B().Set().Key("k1").Value("v1b").Build()).Error())
			testsupport.WaitFor(t, 2*time.Second, "the cache to read the new value", func() bool {
				v, err := c.DoCache(ctx, c.B().Get().Key("k1").Cache(), time.Minute).ToString()
				return v == "v1b" && err == nil
			})
			must(seed.Do(ctx, seed.B().Set().Key("k1").Value("v1").Build()).Error())

			// DoStream of the big value.
			var buf bytes.Buffer
			s := c.DoStream(ctx, c.B().Get().Key("big").Build())
			for s.HasNext() {
				if _, err := s.WriteTo(&buf); err != nil && !rueidis.IsRedisNil(err) {
					t.Errorf("DoStream: %v", err)
					break
				}
			}
			if buf.String() != big {
				t.Errorf("DoStream GET big: %d bytes", buf.Len())
			}

			// A blocking command, answered while it waits.
			done := make(chan string, 1)
			go func() { done <- show(c.Do(ctx, c.B().Blpop().Key("bq"+proto).Timeout(5).Build())) }()
			testsupport.WaitFor(t, 3*time.Second, "BLPOP to block", func() bool {
				info, err := seed.Do(ctx, seed.B().Info().Section("clients").Build()).ToString()
				return err == nil && strings.Contains(info, "blocked_clients:1")
			})
			must(seed.Do(ctx, seed.B().Rpush().Key("bq"+proto).Element(big[:100000]).Build()).Error())
			if got := <-done; !strings.Contains(got, big[:1000]) {
				t.Errorf("BLPOP: %.200s", got)
			}

			// Pub/sub.
			var mu sync.Mutex
			var msgs []string
			rctx, rcancel := context.WithCancel(ctx)
			rdone := make(chan error, 1)
			go func() {
				rdone <- c.Receive(rctx, c.B().Subscribe().Channel("ch"+proto).Build(), func(m rueidis.PubSubMessage) {
					mu.Lock()
					msgs = append(msgs, m.Message)
					mu.Unlock()
				})
			}()
			payloads := []string{"", "x", "*-2\r\n", big[:bigSize/2]}
			testsupport.WaitFor(t, 3*time.Second, "the subscription", func() bool {
				n, err := seed.Do(ctx, seed.B().Publish().Channel("ch"+proto).Message("probe").Build()).AsInt64()
				return err == nil && n > 0
			})
			for _, p := range payloads {
				must(seed.Do(ctx, seed.B().Publish().Channel("ch"+proto).Message(p).Build()).Error())
			}
			testsupport.WaitFor(t, 3*time.Second, "the messages", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(msgs) >= len(payloads)+1
			})
			rcancel()
			if err := <-rdone; err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("Receive: %v", err)
			}
			mu.Lock()
			if len(msgs) < len(payloads) || msgs[len(msgs)-1] != payloads[len(payloads)-1] || msgs[len(msgs)-2] != payloads[len(payloads)-2] {
				t.Errorf("pub/sub: %d messages", len(msgs))
			}
			mu.Unlock()
			if s := reg.Stats(); s[0].BadReplies != 0 {
				t.Errorf("Stats: %+v", s)
			}
		})
	}
}

// --------------------------------- promise 1: hostile replies, and errors

type hostile struct {
	name, reply string
}

// hostileReplies are replies a server that is not Redis could send. Each
// must fail the GET that gets it (refused, or held until its deadline),
// without ending the process, and the connection must serve the next.
var hostileReplies = []hostile{
	{"negative blob error", "!-2\r\n"},
	{"negative verbatim", "=-2\r\n"},
	{"negative set", "~-2\r\n"},
	{"negative push", ">-2\r\n"},
	{"negative attribute", "|-1\r\n"},
	{"negative map -2", "%-2\r\n"},
	{"min int64 bulk", "$-9223372036854775808\r\n"},
	{"max int64 bulk", "$9223372036854775807\r\n"},
	{"max int64 array", "*9223372036854775807\r\n"},
	{"map count doubling past int64", "%4611686018427387904\r\n"},
	{"attribute count doubling past int64", "|4611686018427387904\r\n"},
	{"array count times 40 past int64", "*230584300921369396\r\n"},
	{"map of a terabyte / 80", "%13743895347\r\n"},
	{"streamed array", "*?\r\n:1\r\n.\r\n"},
	{"streamed map", "%?\r\n:1\r\n:1\r\n.\r\n"},
	{"streamed set", "~?\r\n.\r\n"},
	{"streamed string, good chunks", "$?\r\n;4\r\nabcd\r\n;0\r\n"},
	{"streamed string, huge chunk", "$?\r\n;99999999999999\r\n"},
	{"end marker alone", ".\r\n"},
	{"chunk alone", ";-4\r\nabcd\r\n"},
	{"unknown type", "@1\r\n"},
	{"bare CRLF", "\r\n"},
	{"integer without digits", ":\r\n"},
	{"integer, only a sign", ":-\r\n"},
	{"plus sign in a length", "$+5\r\nhello\r\n"},
	{"space in a length", "$5 \r\nhello\r\n"},
	{"length ended by LF only", "$5\nhello\r\n"},
	{"bulk not ended by CRLF", "$5\r\nhelloXY"},
	{"bulk with a negative zero length then junk", "$-0\r\nXY"},
	{"boolean x", "#x\r\n"},
	{"null with payload", "_x\r\n"},
	{"simple string ended by LF only", "+OK\n"},
	{"a push nested past MaxDepth", strings.Repeat(">1\r\n", respguard.MaxDepth+1) + ":1\r\n"},
	{"attributes nested past MaxDepth (each the key of the last)", strings.Repeat("|1\r\n", respguard.MaxDepth+1) + strings.Repeat(":1\r\n", 2*respguard.MaxDepth+3)},
	{"arrays and attributes alternating past MaxDepth", strings.Repeat("*1\r\n|1\r\n:1\r\n:1\r\n", respguard.MaxDepth+1) + ":1\r\n"},
	{"maps nested 4 million deep", strings.Repeat("%1\r\n", 1<<22)},
	{"sets nested 513 deep, then a negative length", strings.Repeat("~1\r\n", 513) + "$-5\r\n"},
	{"a map with a negative key length", "%1\r\n$-3\r\nabc\r\n:1\r\n"},
	{"an attribute then a negative bulk", "|1\r\n+a\r\n+b\r\n$-2\r\n"},
	{"an array whose 2nd element is a negative array", "*2\r\n:1\r\n*-7\r\n"},
	{"verbatim of a terabyte", "=1099511627776\r\n"},
}

// TestAttackGuardHostileReplies sends each hostile reply whole, byte by
// byte, and glued to a good reply before it (a pipelined GET), and checks
// the promise: no crash, the GET fails with ErrBadReply or its deadline,
// and a later GET works. It runs in a child process: a crash there is a
// failure here, not the end of the run.
func TestAttackGuardHostileReplies(t *testing.T) {
	out, crashed := isolated(t, func(t *testing.T) {
		for _, h := range hostileReplies {
			for _, mode := range []string{"whole", "bytewise"} {
				if mode == "bytewise" && len(h.reply) > 20000 {
					continue
				}
				t.Run(h.name+"/"+mode, func(t *testing.T) {
					t.Parallel()
					var split func(string) []string
					if mode == "bytewise" {
						split = byteByByte
					}
					addr := attackServer(t, evilGet(h.reply, split, 0))
					_, c := acquire(t, addr)
					ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
					defer cancel()
					_, err := c.Do(ctx, c.B().Get().Key("evil").Build()).ToString()
					// (A retry's dial cut by the deadline: i/o timeout.)
					if !errors.Is(err, registry.ErrBadReply) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, os.ErrDeadlineExceeded) {
						t.Errorf("GET evil (%q...): %v, want ErrBadReply or the deadline", trunc(h.reply), err)
					}
					// Again in rueidis's reader goroutine (no deadline on
					// the context, a cancel after 400ms).
					ctx2, cancel2 := context.WithCancel(context.Background())
					defer cancel2()
					if _, err := c.Do(ctx2, c.B().Get().Key("good").Build()).ToString(); err != nil {
						t.Fatalf("GET good: %v", err)
					}
					timer := time.AfterFunc(400*time.Millisecond, cancel2)
					defer timer.Stop()
					_, err = c.Do(ctx2, c.B().Get().Key("evil").Build()).ToString()
					if !errors.Is(err, registry.ErrBadReply) && !errors.Is(err, context.Canceled) {
						t.Errorf("GET evil in the reader goroutine (%q...): %v, want ErrBadReply or cancelled", trunc(h.reply), err)
					}
					v, err := c.Do(context.Background(), c.B().Get().Key("good").Build()).ToString()
					if err != nil || v != "value" {
						t.Errorf("GET good afterwards: %q, %v", v, err)
					}
				})
			}
		}
	})
	if crashed {
		t.Fatalf("the process ended:\n%s", crashExcerpt(out))
	}
	if out != "" && !strings.Contains(out, "\nPASS") && !strings.Contains(out, "ok ") {
		// Report the child's failures.
		var fails []string
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, "want ErrBadReply") || strings.Contains(l, "GET good afterwards") {
				fails = append(fails, strings.TrimSpace(l))
			}
		}
		t.Errorf("the child failed:\n%s", strings.Join(fails, "\n"))
	}
}

func trunc(s string) string {
	if len(s) > 24 {
		return s[:24]
	}
	return s
}

// TestAttackGuardDoCacheShortExecPanics: rueidis's client-side caching
// reads the EXEC reply of its [CLIENT CACHING YES, MULTI, PTTL, cmd,
// EXEC] as [pttl, value] and indexes it without checking its length. An
// EXEC reply shorter (or, for MGET, an inner array longer) than expected
// is well-formed RESP: the guard passed it and rueidis panicked, in the
// caller's goroutine (DoCache: exec[1]; MGET: exec[-1]) or in its reader
// goroutine (MGET with a value array longer than the PTTLs: index out of
// range while updating the cache), where no recover can help. The guard
// now follows the commands written on the socket and refuses an EXEC
// reply that does not hold one reply for each command queued
// (respguard/commands.go); the process lives.
func TestAttackGuardDoCacheShortExecPanics(t *testing.T) {
	for _, tc := range []struct {
		name, exec string
		mget       bool
	}{
		{"GET, EXEC of one element", "*1\r\n:1\r\n", false},
		{"GET, empty EXEC", "*0\r\n", false},
		{"MGET, empty EXEC", "*0\r\n", true},
		{"MGET, more values than PTTLs", "*3\r\n:1\r\n:1\r\n*5\r\n:1\r\n:1\r\n:1\r\n:1\r\n:1\r\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, crashed := isolated(t, func(t *testing.T) {
				_, c := acquire(t, execServer(t, tc.exec))
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				var r rueidis.RedisResult
				if tc.mget {
					r = c.DoCache(ctx, c.B().Mget().Key("a", "b").Cache(), time.Minute)
				} else {
					r = c.DoCache(ctx, c.B().Get().Key("a").Cache(), time.Minute)
				}
				t.Logf("DoCache: %s", show(r))
				// A panic in the reader goroutine comes before the reply
				// to a command sent after.
				_ = c.Do(ctx, c.B().Ping().Build()).Error()
			})
			if crashed {
				t.Errorf("the process ended on EXEC reply %q:\n%s", tc.exec, crashExcerpt(out))
			}
		})
	}
}

// TestAttackGuardLongNumberLine: a length line longer than rueidis's read
// buffer (512 KiB), all digits (leading zeros: no overflow), passes the
// guard; rueidis's ReadSlice then fails with bufio.ErrBufferFull, which
// is neither ErrBadReply nor a deadline. (No crash: the connection is
// closed and the next command works.)
func TestAttackGuardLongNumberLine(t *testing.T) {
	for _, reply := range []string{
		"$" + strings.Repeat("0", 600_000) + "5\r\nhello\r\n",
		":" + strings.Repeat("0", 600_000) + "5\r\n",
		"*" + strings.Repeat("0", 600_000) + "1\r\n:1\r\n",
	} {
		t.Run(reply[:1], func(t *testing.T) {
			addr := attackServer(t, evilGet(reply, nil, 0))
			_, c := acquire(t, addr)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_, err := c.Do(ctx, c.B().Get().Key("evil").Build()).ToMessage()
			if !errors.Is(err, registry.ErrBadReply) && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("GET evil (%q + 600000 zeros ...): error %v, want one matching ErrBadReply (or the deadline)", reply[:1], err)
			}
			if v, err := c.Do(context.Background(), c.B().Get().Key("good").Build()).ToString(); err != nil || v != "value" {
				t.Errorf("GET good afterwards: %q, %v", v, err)
			}
		})
	}
}

// ------------------------- promise 3 with fake bytes: good replies split

// TestAttackGuardGoodRepliesSplitAnywhere: valid replies (the RESP3 types
// Redis rarely sends included: attributes, pushes before a reply, empty
// aggregates, nulls, maps), cut in two at every byte and written with a
// pause between the halves, must give the registry's client what they
// give a raw rueidis client. Replies big enough to be held (a length
// ahead of its bytes) are split at odd places too.
func TestAttackGuardGoodRepliesSplitAnywhere(t *testing.T) {
	small := []string{
		"+OK\r\n",
		"$0\r\n\r\n",
		"$-1\r\n",
		"*-1\r\n",
		"_\r\n",
		"*0\r\n",
		"%0\r\n",
		"~0\r\n",
		":-9223372036854775807\r\n",
		",inf\r\n",
		"(-12345678901234567890123\r\n",
		"#t\r\n",
		"=15\r\ntxt:Some string\r\n",
		"!9\r\nERR nope!\r\n",
		"-ERR x\r\n",
		"|1\r\n+key\r\n*2\r\n:1\r\n:2\r\n$3\r\nabc\r\n",
		"|0\r\n:7\r\n",
		"|1\r\n|1\r\n+a\r\n+b\r\n+k\r\n+v\r\n+msg\r\n",
		"*3\r\n|1\r\n+a\r\n+b\r\n:1\r\n%1\r\n~0\r\n_\r\n*1\r\n*0\r\n",
		">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n$5\r\nafter\r\n",
		"%2\r\n$1\r\na\r\n*2\r\n:1\r\n_\r\n$1\r\nb\r\n%1\r\n:1\r\n#f\r\n",
		strings.Repeat("*1\r\n", 511) + ":1\r\n",
		strings.Repeat("|1\r\n:1\r\n:1\r\n", 300) + ":5\r\n",
	}
	for i, reply := range small {
		t.Run(fmt.Sprintf("reply%d", i), func(t *testing.T) {
			cut := -1
			var mu sync.Mutex
			addr := attackServer(t, func(c net.Conn, args []string) bool {
				if strings.ToUpper(args[0]) != "GET" || args[1] != "x" {
					return false
				}
				mu.Lock()
				at := cut
				mu.Unlock()
				if at < 0 {
					_, _ = c.Write([]byte(reply))
					return true
				}
				_, _ = c.Write([]byte(reply[:at]))
				time.Sleep(2 * time.Millisecond)
				_, _ = c.Write([]byte(reply[at:]))
				return true
			})
			raw := rawClient(t, addr)
			_, c := acquire(t, addr)
			ctx := context.Background()
			cmp := show
			if len(reply) > 500 {
				cmp = showCheap
			}
			want := cmp(raw.Do(ctx, raw.B().Get().Key("x").Build()))
			cuts := []int{}
			for at := 1; at < len(reply); at++ {
				if len(reply) < 64 || at < 16 || at > len(reply)-16 || at%97 == 0 {
					cuts = append(cuts, at)
				}
			}
			for _, at := range cuts {
				mu.Lock()
				cut = at
				mu.Unlock()
				if got := cmp(c.Do(ctx, c.B().Get().Key("x").Build())); got != want {
					t.Fatalf("cut at %d: registry %.200s, raw %.200s", at, got, want)
				}
				// The connection still serves.
				if got := show(c.Do(ctx, c.B().Get().Key("y").Build())); !strings.Contains(got, "value") {
					t.Fatalf("cut at %d, the next GET: %s", at, got)
				}
			}
		})
	}

	// Replies whose lengths run ahead of their bytes (held by the guard
	// until enough came), dribbled in odd chunks, pipelined behind and in
	// front of small replies.
	payload := strings.Repeat("x", 20<<20)
	heldReplies := []string{
		"$" + strconv.Itoa(len(payload)) + "\r\n" + payload + "\r\n",
		"*3\r\n:1\r\n$" + strconv.Itoa(len(payload)) + "\r\n" + payload + "\r\n|1\r\n+a\r\n+b\r\n_\r\n",
		"*450000\r\n" + strings.Repeat("_\r\n", 450000),
		"%230000\r\n" + strings.Repeat("_\r\n", 460000),
	}
	for i, reply := range heldReplies {
		t.Run(fmt.Sprintf("held%d", i), func(t *testing.T) {
			chunker := func(s string) []string {
				var out []string
				sizes := []int{1, 2, 3, 7, 4093, 65537, 1 << 20}
				for j := 0; len(s) > 0; j++ {
					n := min(sizes[j%len(sizes)], len(s))
					out = append(out, s[:n])
					s = s[n:]
				}
				return out
			}
			addr := attackServer(t, evilGet(reply, chunker, 0))
			raw := rawClient(t, addr)
			_, c := acquire(t, addr)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			want := raw.DoMulti(ctx, raw.B().Get().Key("a").Build(), raw.B().Get().Key("evil").Build(), raw.B().Get().Key("b").Build())
			got := c.DoMulti(ctx, c.B().Get().Key("a").Build(), c.B().Get().Key("evil").Build(), c.B().Get().Key("b").Build())
			for j := range want {
				if w, g := showCheap(want[j]), showCheap(got[j]); w != g {
					t.Errorf("reply %d of the pipeline: registry %.120s, raw %.120s", j, g, w)
				}
			}
		})
	}
}

// ----------------------------------------------- promise 2: memory bounds

func totalAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// TestAttackGuardAllocationAheadOfBytes: replies whose lengths promise far
// more than their bytes, the bytes stalling: what the process allocates
// must stay within 16x the bytes sent plus 16 MiB (plus a margin for the
// test's own traffic).
func TestAttackGuardAllocationAheadOfBytes(t *testing.T) {
	mib := strings.Repeat("_\r\n", (1<<20)/3)
	data16 := strings.Repeat("y", 16_000_000)
	for _, tc := range []struct {
		name, reply string
	}{
		{"array of 100M then 1 MiB of nulls", "*100000000\r\n" + mib},
		{"map of 50M then 1 MiB of nulls", "%50000000\r\n" + mib},
		{"set nested 500 deep around an array of 100M", strings.Repeat("~1\r\n", 500) + "*100000000\r\n" + mib},
		{"attribute of 50M pairs before a reply", "|50000000\r\n" + mib},
		{"16 MB bulk then a 4 GB bulk", "*2\r\n$16000000\r\n" + data16 + "\r\n$4000000000\r\n"},
		{"array of 419000 (16 MiB of elements) then a 16 MB bulk", "*419000\r\n$16000000\r\n"},
		{"many 1M-element arrays nested, each first element of the last", strings.Repeat("*1000000\r\n", 200)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sent := make(chan struct{})
			reply := []byte(tc.reply)
			addr := attackServer(t, func(c net.Conn, args []string) bool {
				if strings.ToUpper(args[0]) != "GET" || args[1] != "evil" {
					return false
				}
				_, _ = c.Write(reply)
				close(sent)
				return true
			})
			_, c := acquire(t, addr)
			runtime.GC()
			before := totalAlloc()
			ctx, cancel := context.WithTimeout(context.Background(), 800*time.Millisecond)
			defer cancel()
			_, err := c.Do(ctx, c.B().Get().Key("evil").Build()).ToMessage()
			<-sent
			grew := totalAlloc() - before
			limit := uint64(16*len(reply)) + 16<<20 + 3*uint64(len(reply)) + 32<<20
			t.Logf("sent %d bytes; allocated %d MiB; error %v", len(reply), grew>>20, err)
			if grew > limit {
				t.Errorf("sent %d bytes, the process allocated %d MiB (bound about %d MiB)", len(reply), grew>>20, limit>>20)
			}
		})
	}
}

// TestAttackGuardAllocationAcrossBlockingConnections: the 16 MiB of slack
// is per reply, and every socket has a reply of its own under way. A
// server that answers each of 64 concurrent blocking commands (each on a
// socket of rueidis's blocking pool) with "$16000000\r\n" and nothing
// more makes the client allocate a gigabyte from 704 bytes: each reply is
// within its bound, but "a server cannot make the client allocate
// gigabytes by sending a few bytes" does not hold for a client with many
// replies under way (a pool of queue workers, say).
func TestAttackGuardAllocationAcrossBlockingConnections(t *testing.T) {
	const workers = 64
	const head = "$16000000\r\n"
	var answered sync.WaitGroup
	answered.Add(workers)
	addr := attackServer(t, func(c net.Conn, args []string) bool {
		if strings.ToUpper(args[0]) != "BLPOP" {
			return false
		}
		_, _ = c.Write([]byte(head))
		answered.Done()
		return true
	})
	_, c := acquire(t, addr)
	runtime.GC()
	before := totalAlloc()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() { _ = c.Do(ctx, c.B().Blpop().Key("q").Timeout(0).Build()).Error() })
	}
	answered.Wait()
	// The replies' headers were sent: watch, for a while, whether the
	// client allocates for them.
	testsupport.Eventually(300*time.Millisecond, func() bool { return totalAlloc()-before > 256<<20 })
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	grew := totalAlloc() - before
	cancel()
	wg.Wait()
	t.Logf("%d blocking commands, %d bytes of replies: allocated %d MiB (heap in use %d MiB)", workers, workers*len(head), grew>>20, m.HeapAlloc>>20)
	if grew > 256<<20 {
		t.Errorf("%d bytes of replies made the client allocate %d MiB", workers*len(head), grew>>20)
	}
}
