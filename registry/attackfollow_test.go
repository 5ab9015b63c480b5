package registry_test

// Attacks on the guard's following of commands (internal/respguard,
// commands.go): desynchronising its model of which reply answers which
// command from rueidis's own.
//
// Tests that demonstrate a broken promise fail on purpose: they are the
// evidence. Tests that end the process run in a child process
// (isolated), so the rest of the file still runs.

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/redisproc"
	"github.com/wireredis/wireredis/internal/testsupport"
	"github.com/wireredis/wireredis/redistest"
	"github.com/wireredis/wireredis/registry"
)

// ---------------------------------------------------------------- helpers

// helloMap is a HELLO 3 reply (a RESP3 map) with the server's version.
func helloMap(version string) string {
	return "%3\r\n+server\r\n+redis\r\n+version\r\n" + bulk(version) + "+proto\r\n:3\r\n"
}

// helloArray is a HELLO 2 reply: a flat array.
func helloArray(version string) string {
	return "*6\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n" + bulk(version) + "$5\r\nproto\r\n:2\r\n"
}

func bulk(s string) string { return "$" + strconv.Itoa(len(s)) + "\r\n" + s + "\r\n" }

// invalidation is a push Redis 6 may write inside a reply: the reply's
// length counts it, and its last element comes after the reply.
const invalidation = ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n"

// perConn keeps a count of the commands named so far on each connection
// of a fake server.
type perConn struct {
	mu sync.Mutex
	n  map[net.Conn]map[string]int
}

func (p *perConn) next(c net.Conn, name string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n == nil {
		p.n = map[net.Conn]map[string]int{}
	}
	if p.n[c] == nil {
		p.n[c] = map[string]int{}
	}
	p.n[c][name]++
	return p.n[c][name]
}

func write(c net.Conn, s string) bool {
	_, _ = c.Write([]byte(s))
	return true
}

// oneSocket is the registry's settings for a client of one pipelined
// socket (rueidis's commands then all go to it).
func oneSocket(env ...string) []string {
	return append([]string{"REDIS_PIPELINE_MULTIPLEX=-1"}, env...)
}

// backgroundGet sends GET key in a call without a deadline, which moves
// the socket's replies to rueidis's reader goroutine, and waits at most
// limit for the reply.
func backgroundGet(c rueidis.Client, key string, limit time.Duration) rueidis.RedisResult {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan rueidis.RedisResult, 1)
	go func() { done <- c.Do(ctx, c.B().Get().Key(key).Build()) }()
	select {
	case r := <-done:
		return r
	case <-time.After(limit):
		cancel()
		return <-done
	}
}

// ------------------------------------------------- the version of HELLO

// TestAttackFollowRESP2HelloSaysSix: with REDIS_PROTOCOL=2 rueidis sends
// HELLO 2 and sets its version to 5 whatever the reply says (pipe.go:
// `p.version = 5`), so it never mends Redis 6's replies; the guard reads
// any HELLO's reply and believes 6 when it says 6.x. A server that says
// 6.2.16 (as a real Redis 6.2 does in RESP2) and then writes a push inside
// an array followed by one more reply gets that reply past the guard (it
// takes it for the array's last element), and rueidis reads it as a reply
// to no command. The same bytes from a server that says 7 are refused.
func TestAttackFollowRESP2HelloSaysSix(t *testing.T) {
	for _, version := range []string{"7.0.15", "6.2.16"} {
		t.Run(version, func(t *testing.T) {
			out, crashed := isolated(t, func(t *testing.T) {
				addr := attackServer(t, func(c net.Conn, args []string) bool {
					switch strings.ToUpper(args[0]) {
					case "HELLO":
						if len(args) > 1 && args[1] == "2" {
							return write(c, helloArray(version))
						}
						return write(c, "-ERR unknown command 'HELLO'\r\n")
					case "GET":
						if args[1] == "evil" {
							return write(c, "*2\r\n"+invalidation+":1\r\n"+"+extra\r\n")
						}
					}
					return false
				})
				_, c := acquire(t, addr, oneSocket("REDIS_PROTOCOL=2")...)
				if r := backgroundGet(c, "good", 2*time.Second); r.Error() != nil {
					t.Fatalf("GET good: %v", r.Error())
				}
				t.Logf("GET evil: %s", show(backgroundGet(c, "evil", 2*time.Second)))
				// A panic in the reader goroutine comes before the reply
				// to a command sent after.
				t.Logf("GET good: %s", show(backgroundGet(c, "good", 2*time.Second)))
			})
			if crashed {
				t.Errorf("the process ended (HELLO 2 says %s):\n%s", version, crashExcerpt(out))
			}
		})
	}
}

// TestAttackFollowSyncReadsAreNotMended: rueidis mends Redis 6's replies
// (pushes inside an array) in its reader goroutine only; a call with a
// deadline on a socket whose reader goroutine has not started reads its
// reply in the caller (syncDo, syncRead), which takes the array as it
// comes. The guard mends every reply once HELLO said 6, so it takes the
// next reply for the array's last element and falls one reply behind
// rueidis: a reply to no command then gets past it once the reader
// goroutine runs.
func TestAttackFollowSyncReadsAreNotMended(t *testing.T) {
	for _, version := range []string{"7.0.15", "6.2.16"} {
		t.Run(version, func(t *testing.T) {
			out, crashed := isolated(t, func(t *testing.T) {
				addr := attackServer(t, func(c net.Conn, args []string) bool {
					switch strings.ToUpper(args[0]) {
					case "HELLO":
						return write(c, helloMap(version))
					case "GET":
						switch args[1] {
						case "evil1":
							return write(c, "*2\r\n"+invalidation+":1\r\n")
						case "evil2":
							return write(c, "$1\r\na\r\n$1\r\nb\r\n")
						}
					}
					return false
				})
				_, c := acquire(t, addr, oneSocket()...)
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				// In the caller (a deadline, the reader goroutine not yet
				// started): rueidis reads [push, 1] as the reply.
				t.Logf("GET evil1: %s", show(c.Do(ctx, c.B().Get().Key("evil1").Build())))
				t.Logf("GET good: %s", show(c.Do(ctx, c.B().Get().Key("good").Build())))
				// Now in the reader goroutine: two replies to one GET.
				t.Logf("GET evil2: %s", show(backgroundGet(c, "evil2", 2*time.Second)))
				t.Logf("GET good: %s", show(backgroundGet(c, "good", 2*time.Second)))
			})
			if crashed {
				t.Errorf("the process ended (HELLO says %s):\n%s", version, crashExcerpt(out))
			}
		})
	}
}

// TestAttackFollowHelloSentByTheUser: the guard reads the reply of every
// HELLO written on a socket; rueidis reads the server's version from the
// handshake's HELLO only. A HELLO sent by the application (to read the
// server's details, say) whose reply says 6 makes the guard mend replies
// that rueidis does not: a reply to no command then gets past it.
func TestAttackFollowHelloSentByTheUser(t *testing.T) {
	out, crashed := isolated(t, func(t *testing.T) {
		var conns perConn
		addr := attackServer(t, func(c net.Conn, args []string) bool {
			switch strings.ToUpper(args[0]) {
			case "HELLO":
				if conns.next(c, "HELLO") > 1 {
					return write(c, helloMap("6.0.0"))
				}
				return write(c, helloMap("7.0.15"))
			case "GET":
				if args[1] == "evil" {
					return write(c, "*2\r\n"+invalidation+":1\r\n+extra\r\n")
				}
			}
			return false
		})
		_, c := acquire(t, addr, oneSocket()...)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		t.Logf("HELLO 3: %s", show(c.Do(ctx, c.B().Hello().Protover(3).Build())))
		t.Logf("GET evil: %s", show(backgroundGet(c, "evil", 2*time.Second)))
		t.Logf("GET good: %s", show(backgroundGet(c, "good", 2*time.Second)))
	})
	if crashed {
		t.Errorf("the process ended after a HELLO of the application's:\n%s", crashExcerpt(out))
	}
}

// TestAttackFollowSubscribedSocket: once a subscription command on a
// socket is answered, the guard stops following it, for good; with RESP3
// rueidis subscribes on the socket its commands share (Receive of the
// registry's own client), so a server can then end the process with a
// second reply to a GET.
//
// Not covered (docs/operations.md): a part's Receive runs on a connection
// of its own and never subscribes on the shared pipeline; the registry's
// client, unnamespaced, for parts and administration, does as raw rueidis
// does. Remove the Skip to see the process end.
func TestAttackFollowSubscribedSocket(t *testing.T) {
	out, crashed := isolated(t, func(t *testing.T) {
		subscribed := make(chan struct{}, 1)
		addr := attackServer(t, func(c net.Conn, args []string) bool {
			switch strings.ToUpper(args[0]) {
			case "SUBSCRIBE":
				write(c, ">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n")
				select {
				case subscribed <- struct{}{}:
				default:
				}
				return true
			case "GET":
				if args[1] == "evil" {
					return write(c, "$5\r\nvalue\r\n+extra\r\n")
				}
			}
			return false
		})
		_, c := acquire(t, addr, oneSocket()...)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan error, 1)
		go func() {
			done <- c.Receive(ctx, c.B().Subscribe().Channel("ch").Build(), func(rueidis.PubSubMessage) {})
		}()
		select {
		case <-subscribed:
		case <-time.After(5 * time.Second):
			t.Fatal("no SUBSCRIBE came")
		}
		t.Logf("GET evil: %s", show(backgroundGet(c, "evil", 2*time.Second)))
		t.Logf("GET good: %s", show(backgroundGet(c, "good", 2*time.Second)))
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Logf("Receive: %v", err)
		}
	})
	if crashed {
		t.Errorf("the process ended on a socket that subscribed:\n%s", crashExcerpt(out))
	}
}

// TestAttackFollowSubscribeAnsweredQueued: the guard stops following a
// socket as soon as SUBSCRIBE is written, before its reply; rueidis
// panics ("SUBSCRIBE/UNSUBSCRIBE are not allowed in MULTI/EXEC block") in its reader
// goroutine when a subscription command is answered "+QUEUED".
func TestAttackFollowSubscribeAnsweredQueued(t *testing.T) {
	out, crashed := isolated(t, func(t *testing.T) {
		addr := attackServer(t, func(c net.Conn, args []string) bool {
			if strings.ToUpper(args[0]) == "SUBSCRIBE" {
				return write(c, "+QUEUED\r\n")
			}
			return false
		})
		_, c := acquire(t, addr, oneSocket()...)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		err := c.Receive(ctx, c.B().Subscribe().Channel("ch").Build(), func(rueidis.PubSubMessage) {})
		t.Logf("Receive: %v", err)
		t.Logf("GET good: %s", show(backgroundGet(c, "good", 2*time.Second)))
	})
	if crashed {
		t.Errorf("the process ended on a SUBSCRIBE answered +QUEUED:\n%s", crashExcerpt(out))
	}
}

// TestAttackFollowVersionRueidisReadsAsSix: rueidis reads the major
// version as ParseInt of what comes before the first '.', whatever its
// length; the guard keeps the first 12 bytes of the value and believes 6
// only when a '.' is among them (or the value is whole). So
// "0000000000006.2.16" is 6 to rueidis and not to the guard: rueidis
// mends a reply with a push inside, reading the next reply as its last
// element, and the guard pairs every later reply with the command before
// the one rueidis pairs it with. The EXEC reply of a cached read then
// reaches rueidis unchecked (the guard checks the reply before it),
// shorter than the transaction: rueidis indexes it.
func TestAttackFollowVersionRueidisReadsAsSix(t *testing.T) {
	for _, version := range []string{"6.2.16", "0000000000006.2.16"} {
		t.Run(version, func(t *testing.T) {
			out, crashed := isolated(t, func(t *testing.T) {
				aSent, execSent := make(chan struct{}, 1), make(chan struct{}, 1)
				signal := func(ch chan struct{}) {
					select {
					case ch <- struct{}{}:
					default:
					}
				}
				addr := attackServer(t, func(c net.Conn, args []string) bool {
					switch strings.ToUpper(args[0]) {
					case "HELLO":
						return write(c, helloMap(version))
					case "CLIENT":
						if len(args) > 1 && strings.EqualFold(args[1], "CACHING") {
							return true // answered with GET b
						}
					case "MULTI", "PTTL":
						return true
					case "EXEC":
						signal(execSent)
						return true
					case "GET":
						switch args[1] {
						case "a":
							signal(aSent)
							return true
						case "k":
							return true
						case "b":
							// GET a's reply, with a push inside, its last
							// element after it; then CACHING, MULTI,
							// PTTL, GET k, EXEC (one element); GET b.
							return write(c, "*2\r\n"+invalidation+"$1\r\nx\r\n"+"$1\r\ny\r\n"+
								"+OK\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n"+"*1\r\n:5\r\n"+"$1\r\nb\r\n")
						}
					}
					return false
				})
				_, c := acquire(t, addr, oneSocket()...)
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				defer cancel()
				var wg sync.WaitGroup
				defer wg.Wait()
				wait := func(ch chan struct{}, what string) {
					select {
					case <-ch:
					case <-ctx.Done():
						t.Fatalf("no %s came", what)
					}
				}
				wg.Go(func() { t.Logf("GET a: %s", show(backgroundGet(c, "a", 3*time.Second))) })
				wait(aSent, "GET a")
				wg.Go(func() { t.Logf("DoCache GET k: %s", show(c.DoCache(ctx, c.B().Get().Key("k").Cache(), time.Minute))) })
				wait(execSent, "EXEC")
				t.Logf("GET b: %s", show(backgroundGet(c, "b", 3*time.Second)))
			})
			if crashed {
				t.Errorf("the process ended (HELLO says %q):\n%s", version, crashExcerpt(out))
			}
		})
	}
}

// ------------------------------------------- real servers: no refusal

// servers are the builds of ../shared/servers (see its README) and the
// redis-server on PATH ("").
// followServer is a server build: a name and its binary.
type followServer struct{ name, bin string }

var followServers = []followServer{
	{"redis-7.0.15", ""},
	{"redis-6.2.16", "../../shared/servers/redis-6.2.16/redis-server"},
	{"redis-7.2.6", "../../shared/servers/redis-7.2.6/redis-server"},
	{"redis-7.4.1", "../../shared/servers/redis-7.4.1/redis-server"},
	{"valkey-8.0.1", "../../shared/servers/valkey-8.0.1/valkey-server"},
}

// expireSoon sets keys to expire in 1 ms and waits out their time to
// live: with active expiry off (startServer), they expire when a command
// reads them, and their keyspace notifications come inside its reply.
func expireSoon(t *testing.T, admin rueidis.Client, keys ...string) {
	t.Helper()
	cmds := make(rueidis.Commands, len(keys))
	for i, k := range keys {
		cmds[i] = admin.B().Set().Key(k).Value("v").Px(time.Millisecond).Build()
	}
	for _, r := range admin.DoMulti(context.Background(), cmds...) {
		if err := r.Error(); err != nil {
			t.Fatal(err)
		}
	}
	waitOut(t, time.Now(), 10*time.Millisecond)
}

// waitOut waits until d has passed since start: a key's time to live,
// which nothing signals but the clock.
func waitOut(t *testing.T, start time.Time, d time.Duration) {
	t.Helper()
	testsupport.WaitFor(t, d+time.Second, "the keys' expiry", func() bool { return time.Since(start) > d })
}

// startServer starts the build bin ("": redis-server from PATH).
func startServer(t *testing.T, bin string) *redistest.Server {
	t.Helper()
	if bin != "" {
		abs, err := filepath.Abs(bin)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(abs); err != nil {
			t.Skipf("no %s: %v", abs, err)
		}
		t.Setenv(redisproc.BinaryEnv, abs)
	}
	t.Setenv("REDIS_TEST_ADDR", "")
	srv := startWithDebug(t)
	// Keys then expire when a command reads them, inside its reply.
	if err := srv.Client.Do(context.Background(), srv.Client.B().Arbitrary("DEBUG", "SET-ACTIVE-EXPIRE", "0").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	return srv
}

// followLoad runs real traffic through c for d: cached reads (GET and
// MGET) of keys that expire every few milliseconds, so that Redis 6's
// invalidations land inside replies; MGETs and transactions over them;
// scripts; blocking pops; a dedicated connection's WATCH, MULTI, EXEC;
// and returns the number of calls made.
func followLoad(t *testing.T, srv *redistest.Server, c rueidis.Client, d time.Duration, resp3, pubsub, kills bool) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	keys := []string{"f:a", "f:b", "f:c", "f:d", "f:e", "f:f"}
	var calls atomic.Int64
	var wg sync.WaitGroup
	// The writer: the keys get values that live 1 to 5 ms.
	wg.Go(func() {
		admin := srv.Client
		for i := 0; ctx.Err() == nil; i++ {
			cmds := make(rueidis.Commands, 0, len(keys))
			for j, k := range keys {
				cmds = append(cmds, admin.B().Set().Key(k).Value(strconv.Itoa(i)).Px(time.Duration(1+(i+j)%5)*time.Millisecond).Build())
			}
			for _, r := range admin.DoMulti(ctx, cmds...) {
				_ = r.Error()
			}
		}
	})
	run := func(f func(ctx context.Context, i int)) {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				f(ctx, i)
				calls.Add(1)
			}
		})
	}
	for range 3 {
		if resp3 {
			run(func(ctx context.Context, i int) {
				_ = c.DoCache(ctx, c.B().Get().Key(keys[i%len(keys)]).Cache(), time.Minute).Error()
			})
			run(func(ctx context.Context, i int) {
				_ = c.DoCache(ctx, c.B().Mget().Key(keys[i%3], keys[3+i%3], keys[(i+1)%6]).Cache(), time.Minute).Error()
			})
			run(func(ctx context.Context, i int) {
				for _, r := range c.DoMultiCache(ctx,
					rueidis.CT(c.B().Get().Key(keys[i%6]).Cache(), time.Minute),
					rueidis.CT(c.B().Strlen().Key(keys[(i+2)%6]).Cache(), time.Minute),
					rueidis.CT(c.B().Get().Key(keys[(i+4)%6]).Cache(), time.Second),
				) {
					_ = r.Error()
				}
			})
		}
		// Plain reads of the keys the cached reads track.
		run(func(ctx context.Context, i int) {
			_ = c.Do(ctx, c.B().Mget().Key(keys...).Build()).Error()
		})
		run(func(ctx context.Context, i int) {
			for _, r := range c.DoMulti(ctx,
				c.B().Multi().Build(),
				c.B().Get().Key(keys[i%6]).Build(),
				c.B().Pttl().Key(keys[(i+1)%6]).Build(),
				c.B().Get().Key(keys[(i+1)%6]).Build(),
				c.B().Exec().Build(),
			) {
				_ = r.Error()
			}
		})
		run(func(ctx context.Context, i int) {
			script := "local r = {} for i, k in ipairs(KEYS) do r[i] = {k, redis.call('GET', k) or false} end return r"
			_ = c.Do(ctx, c.B().Eval().Script(script).Numkeys(3).Key(keys[i%6], keys[(i+1)%6], keys[(i+2)%6]).Build()).Error()
		})
	}
	// Blocking pops, on rueidis's pool of blocking connections.
	run(func(ctx context.Context, i int) {
		_ = c.Do(ctx, c.B().Blpop().Key("f:list").Timeout(0.01).Build()).Error()
	})
	run(func(ctx context.Context, i int) {
		_ = c.Do(ctx, c.B().Rpush().Key("f:list").Element("x").Build()).Error()
	})
	if pubsub {
		// Subscriptions: a channel, a pattern (with RESP2, keyspace
		// notifications of the keys), and what is published on them.
		if err := srv.Client.Do(ctx, srv.Client.B().ConfigSet().ParameterValue().ParameterValue("notify-keyspace-events", "KEA").Build()).Error(); err != nil {
			t.Fatal(err)
		}
		run(func(ctx context.Context, i int) {
			_ = c.Receive(ctx, c.B().Subscribe().Channel("f:ch").Build(), func(rueidis.PubSubMessage) {})
		})
		// Keyspace notifications come inside the replies of the socket
		// that subscribed to them (TestAttackFollowRealKeyspaceNotifications):
		// with RESP3 that socket is the one the commands share.
		pattern := "f:*"
		if !resp3 {
			pattern = "__key*__:f:*"
		}
		run(func(ctx context.Context, i int) {
			_ = c.Receive(ctx, c.B().Psubscribe().Pattern(pattern).Build(), func(rueidis.PubSubMessage) {})
		})
		run(func(ctx context.Context, i int) {
			_ = c.Do(ctx, c.B().Publish().Channel("f:ch").Message(strconv.Itoa(i)).Build()).Error()
		})
	}
	if kills {
		// Every connection of the registry's, killed every few ms.
		run(func(ctx context.Context, i int) {
			_ = srv.Client.Do(ctx, srv.Client.B().Arbitrary("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes").Build()).Error()
			_ = srv.Client.Do(ctx, srv.Client.B().Arbitrary("CLIENT", "KILL", "TYPE", "pubsub").Build()).Error()
			t := time.NewTimer(20 * time.Millisecond)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		})
	}
	// A dedicated connection's optimistic transaction.
	run(func(ctx context.Context, i int) {
		_ = c.Dedicated(func(d rueidis.DedicatedClient) error {
			if err := d.Do(ctx, d.B().Watch().Key(keys[i%6]).Build()).Error(); err != nil {
				return err
			}
			_ = d.Do(ctx, d.B().Get().Key(keys[i%6]).Build()).Error()
			for _, r := range d.DoMulti(ctx,
				d.B().Multi().Build(),
				d.B().Mget().Key(keys[i%6], keys[(i+1)%6]).Build(),
				d.B().Exec().Build(),
			) {
				_ = r.Error()
			}
			return nil
		})
	})
	wg.Wait()
	return calls.Load()
}

// checkNoRefusal fails the test if the guard refused a reply.
func checkNoRefusal(t *testing.T, reg *registry.Registry, logs *testsupport.Buffer) {
	t.Helper()
	for i, s := range reg.Stats() {
		if s.BadReplies != 0 {
			t.Errorf("Stats()[%d].BadReplies = %d, want 0", i, s.BadReplies)
		}
	}
	if strings.Contains(logs.String(), "cannot be read safely") {
		t.Errorf("a refusal was logged:\n%s", trunc(logs.String()))
	}
}

// TestAttackFollowRealServersNeverRefused: real traffic against every
// server build, RESP3 and RESP2, must never be refused.
func TestAttackFollowRealServersNeverRefused(t *testing.T) {
	followReal(t, followServers, 700*time.Millisecond, false)
}

// TestAttackFollowRealServersKilledUnderLoad: the same traffic, pub/sub
// and keyspace notifications included, while every connection is killed
// (CLIENT KILL) every 20 ms, on Redis 6.2.16 and 7.0.15.
// Under the race detector too: rueidis no longer recycles a command it
// retries while the killed socket's writer may still read it
// (rueidisx.MarkRetried, TestRetriedCommandsAreNotRecycled).
func TestAttackFollowRealServersKilledUnderLoad(t *testing.T) {
	followReal(t, followServers[:2], 1500*time.Millisecond, true)
}

// followReal runs followLoad for lasting on each of servers, RESP3 and
// RESP2, killing every connection every 20 ms with kill, and checks that
// nothing was refused.
func followReal(t *testing.T, servers []followServer, lasting time.Duration, kill bool) {
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) {
			srv := startServer(t, s.bin)
			for _, proto := range []string{"3", "2"} {
				t.Run("RESP"+proto, func(t *testing.T) {
					reg, logs := newRegistry(t)
					c, release, err := reg.Acquire(context.Background(), load(t, "session", "REDIS_URL="+srv.URL(), "REDIS_PROTOCOL="+proto))
					if err != nil {
						t.Fatal(err)
					}
					defer release()
					n := followLoad(t, srv, c, lasting, proto == "3", true, kill)
					t.Logf("%d calls; %+v", n, reg.Stats())
					checkNoRefusal(t, reg, logs)
				})
			}
		})
	}
}

// TestAttackFollowRealKeyspaceNotifications: Redis (6.2.16 and 7.0.15
// alike) writes a keyspace notification to a subscriber as soon as the
// event happens: a key that expires when MGET reads it puts its
// notifications (pushes) inside MGET's reply. With RESP3 rueidis
// subscribes on the socket its commands share, reads the pushes as
// elements of the array and the array's last elements as replies to the
// commands after, and panics in its reader goroutine on the reply that is
// left for no command. The guard stopped following the socket when
// PSUBSCRIBE was written, so it refuses nothing: real traffic ends the
// process (a raw rueidis client ends the same way).
//
// Not covered, as TestAttackFollowSubscribedSocket: parts never subscribe
// on the shared pipeline (TestFaultKeyspaceNotificationsRESP3 is the
// parts' side of this). Remove the Skip to see the process end.
func TestAttackFollowRealKeyspaceNotifications(t *testing.T) {
	for _, s := range followServers[:2] {
		t.Run(s.name, func(t *testing.T) {
			out, crashed := isolated(t, func(t *testing.T) {
				srv := startServer(t, s.bin)
				admin := srv.Client
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if err := admin.Do(ctx, admin.B().ConfigSet().ParameterValue().ParameterValue("notify-keyspace-events", "KEA").Build()).Error(); err != nil {
					t.Fatal(err)
				}
				_, c := acquire(t, srv.URL(), oneSocket()...)
				subscribed := make(chan struct{})
				var once sync.Once
				hooked := rueidis.WithOnSubscriptionHook(ctx, func(rueidis.PubSubSubscription) { once.Do(func() { close(subscribed) }) })
				go func() {
					_ = c.Receive(hooked, c.B().Psubscribe().Pattern("__key*__:*").Build(), func(rueidis.PubSubMessage) {})
				}()
				<-subscribed
				expireSoon(t, admin, "ks:j", "ks:k")
				// Without a deadline: the reader goroutine reads the reply.
				bg, cancelBg := context.WithCancel(ctx)
				defer cancelBg()
				t.Logf("MGET: %s", show(c.Do(bg, c.B().Mget().Key("ks:j", "ks:k").Build())))
				t.Logf("GET: %s", show(c.Do(bg, c.B().Get().Key("ks:j").Build())))
				t.Logf("PING: %s", show(c.Do(bg, c.B().Ping().Build())))
			})
			if crashed {
				t.Errorf("the process ended on a real server's keyspace notifications:\n%s", crashExcerpt(out))
			}
		})
	}
}

// TestAttackFollowPushesInsideReplies: on a server that says 6 in its
// HELLO 3 reply, rueidis's reader goroutine mends a reply with pushes
// inside (at any place, attributes around the elements that come after),
// and a call that reads its own reply does not. The guard followed the
// mending and fell out of step with the calls that do not (and with a
// HELLO 2, or one the application sent): it now refuses a push inside a
// reply, and each of these closes the socket rather than the process.
func TestAttackFollowPushesInsideReplies(t *testing.T) {
	for _, tc := range []struct {
		name, reply string
		refused     bool
	}{
		{"push first", "*2\r\n" + invalidation + ":1\r\n:2\r\n", true},
		{"push last", "*2\r\n:1\r\n" + invalidation + ":2\r\n", true},
		{"two pushes", "*2\r\n" + invalidation + invalidation + ":1\r\n:2\r\n", true},
		{"an attribute before the element after", "*2\r\n" + invalidation + ":1\r\n|1\r\n+a\r\n+b\r\n:2\r\n", true},
		{"a push as the element after", "*1\r\n" + invalidation + invalidation, true},
		{"a map", "%1\r\n" + invalidation + ":1\r\n:2\r\n", true},
		{"one reply more", "*2\r\n" + invalidation + ":1\r\n:2\r\n+extra\r\n", true},
		{"one reply more after an attribute", "*2\r\n" + invalidation + ":1\r\n|1\r\n+a\r\n+b\r\n:2\r\n|1\r\n+a\r\n+b\r\n+extra\r\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, crashed := isolated(t, func(t *testing.T) {
				addr := attackServer(t, func(c net.Conn, args []string) bool {
					switch strings.ToUpper(args[0]) {
					case "HELLO":
						return write(c, helloMap("6.2.16"))
					case "GET":
						if args[1] == "evil" {
							return write(c, tc.reply)
						}
					}
					return false
				})
				reg, _ := newRegistry(t)
				c, release, err := reg.Acquire(context.Background(), load(t, "session", "REDIS_URL=redis://"+addr, "REDIS_PIPELINE_MULTIPLEX=-1"))
				if err != nil {
					t.Fatal(err)
				}
				defer release()
				if r := backgroundGet(c, "good", 2*time.Second); r.Error() != nil {
					t.Fatalf("GET good: %v", r.Error())
				}
				t.Logf("GET evil: %s", show(backgroundGet(c, "evil", 2*time.Second)))
				testsupport.WaitFor(t, 5*time.Second, "a good GET", func() bool {
					v, err := backgroundGet(c, "good", 2*time.Second).ToString()
					return err == nil && v == "value"
				})
				if got := reg.Stats()[0].BadReplies; (got > 0) != tc.refused {
					t.Errorf("%d replies refused, want refused=%v", got, tc.refused)
				}
			})
			switch {
			case crashed:
				t.Errorf("the process ended:\n%s", crashExcerpt(out))
			case strings.Contains(out, "--- FAIL"):
				t.Errorf("in the child:\n%s", out)
			}
		})
	}
}
