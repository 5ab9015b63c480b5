package registry_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/testsupport"
	"github.com/wireredis/wireredis/redistest"
	"github.com/wireredis/wireredis/registry"
)

// The registry's own clients (Acquire, Admin) run a Receive on a
// connection of its own, as a part does: with RESP3 rueidis would
// subscribe on the pipeline their commands share, where Redis 7.0 and 6.2
// write messages inside other replies (TestAttackFollowRealKeyspaceNotifications).
// These tests judge by the server: which connection holds the
// subscription, what PUBSUB counts, which messages arrive.

// subscribers returns the server's count of subscribers of channel.
func subscribers(t *testing.T, admin rueidis.Client, channel string) int64 {
	t.Helper()
	m, err := admin.Do(context.Background(), admin.B().PubsubNumsub().Channel(channel).Build()).AsIntMap()
	if err != nil {
		t.Fatal(err)
	}
	return m[channel]
}

// clientInfo is CLIENT INFO of the connection c's commands go on.
func clientInfo(t *testing.T, c rueidis.Client) string {
	t.Helper()
	s, err := c.Do(context.Background(), c.B().ClientInfo().Build()).ToString()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// receiving starts c.Receive of subscribe and returns its messages, its
// end, and a func that ends it; it waits until the server counts the
// subscriber of channel.
func receiving(t *testing.T, c, admin rueidis.Client, subscribe rueidis.Completed, channel string) (<-chan string, <-chan error, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	msgs := make(chan string, 100)
	done := make(chan error, 1)
	go func() {
		done <- c.Receive(ctx, subscribe, func(m rueidis.PubSubMessage) { msgs <- m.Channel + " " + m.Message })
	}()
	testsupport.WaitFor(t, 5*time.Second, "the subscription", func() bool { return subscribers(t, admin, channel) == 1 })
	return msgs, done, cancel
}

func publish(t *testing.T, admin rueidis.Client, channel, message string) {
	t.Helper()
	if err := admin.Do(context.Background(), admin.B().Publish().Channel(channel).Message(message).Build()).Error(); err != nil {
		t.Fatal(err)
	}
}

func TestRegistryReceiveRunsApart(t *testing.T) {
	for _, proto := range []string{"3", "2"} {
		t.Run("RESP"+proto, func(t *testing.T) {
			srv := startServer(t, "")
			admin := srv.Client
			_, c := acquire(t, srv.URL(), oneSocket("REDIS_PROTOCOL="+proto)...)
			msgs, done, cancel := receiving(t, c, admin, c.B().Subscribe().Channel("news").Build(), "news")
			// The shared pipeline holds no subscription: its commands
			// are answered as ever, and the server says so.
			if info := clientInfo(t, c); !strings.Contains(info, " sub=0 ") || !strings.Contains(info, " psub=0 ") {
				t.Errorf("the shared connection subscribed: %s", info)
			}
			publish(t, admin, "news", "one")
			if got := <-msgs; got != "news one" {
				t.Errorf("message %q, want %q", got, "news one")
			}
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("Receive ended with %v, want context.Canceled", err)
			}
			testsupport.WaitFor(t, 5*time.Second, "the subscription's end", func() bool { return subscribers(t, admin, "news") == 0 })
		})
	}
}

// TestRegistryUnsubscribeEndsReceive: an UNSUBSCRIBE sent with Do (and in
// a DoMulti) ends the Receives of its names, which run apart, as it ends
// them on rueidis's shared pipeline; a PUNSUBSCRIBE without names ends
// every pattern Receive; the others go on.
func TestRegistryUnsubscribeEndsReceive(t *testing.T) {
	srv := startServer(t, "")
	admin := srv.Client
	_, c := acquire(t, srv.URL(), oneSocket()...)
	ctx := context.Background()

	_, aDone, _ := receiving(t, c, admin, c.B().Subscribe().Channel("a").Build(), "a")
	bMsgs, bDone, _ := receiving(t, c, admin, c.B().Subscribe().Channel("b").Build(), "b")
	if err := c.Do(ctx, c.B().Unsubscribe().Channel("a").Build()).Error(); err != nil {
		t.Fatalf("UNSUBSCRIBE a: %v", err)
	}
	if err := <-aDone; err != nil {
		t.Errorf("Receive of a ended with %v, want nil", err)
	}
	testsupport.WaitFor(t, 5*time.Second, "a's end", func() bool { return subscribers(t, admin, "a") == 0 })
	publish(t, admin, "b", "still")
	if got := <-bMsgs; got != "b still" {
		t.Errorf("b got %q", got)
	}

	for _, r := range c.DoMulti(ctx, c.B().Ping().Build(), c.B().Unsubscribe().Channel("b").Build()) {
		if err := r.Error(); err != nil {
			t.Fatalf("DoMulti: %v", err)
		}
	}
	if err := <-bDone; err != nil {
		t.Errorf("Receive of b ended with %v, want nil", err)
	}

	patterns := func() int64 {
		n, err := admin.Do(ctx, admin.B().PubsubNumpat().Build()).AsInt64()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	var ends []<-chan error
	for _, p := range []string{"x*", "y*"} {
		rctx, cancel := context.WithCancel(ctx)
		t.Cleanup(cancel)
		done := make(chan error, 1)
		go func() { done <- c.Receive(rctx, c.B().Psubscribe().Pattern(p).Build(), func(rueidis.PubSubMessage) {}) }()
		ends = append(ends, done)
	}
	testsupport.WaitFor(t, 5*time.Second, "two patterns", func() bool { return patterns() == 2 })
	if err := c.Do(ctx, c.B().Punsubscribe().Build()).Error(); err != nil {
		t.Fatalf("PUNSUBSCRIBE: %v", err)
	}
	for _, done := range ends {
		if err := <-done; err != nil {
			t.Errorf("a pattern Receive ended with %v, want nil", err)
		}
	}
	testsupport.WaitFor(t, 5*time.Second, "no pattern", func() bool { return patterns() == 0 })
}

// TestRegistryReceiveSubscribesAgain: when its connection is killed, a
// Receive subscribes again on a new one, as rueidis's does.
func TestRegistryReceiveSubscribesAgain(t *testing.T) {
	srv := startServer(t, "")
	admin := srv.Client
	_, c := acquire(t, srv.URL(), oneSocket()...)
	msgs, _, _ := receiving(t, c, admin, c.B().Subscribe().Channel("news").Build(), "news")
	if err := admin.Do(context.Background(), admin.B().ClientKill().TypePubsub().Build()).Error(); err != nil {
		t.Fatal(err)
	}
	// Published until the new subscription gets one.
	testsupport.WaitFor(t, 10*time.Second, "a message after the kill", func() bool {
		publish(t, admin, "news", "again")
		select {
		case m := <-msgs:
			return m == "news again"
		default:
			return false
		}
	})
}

// TestRegistryReceiveOfAnotherCommand: rueidis panics, in the caller's
// goroutine, on a Receive of anything but SUBSCRIBE, PSUBSCRIBE and
// SSUBSCRIBE from its builder; the registry's client says so instead, and
// the client goes on.
func TestRegistryReceiveOfAnotherCommand(t *testing.T) {
	srv := startServer(t, "")
	_, c := acquire(t, srv.URL(), oneSocket()...)
	for _, cmd := range []rueidis.Completed{
		c.B().Get().Key("k").Build(),
		c.B().Ping().Build(),
		c.B().Unsubscribe().Channel("ch").Build(),
	} {
		err := c.Receive(context.Background(), cmd, func(rueidis.PubSubMessage) {})
		if err == nil || !strings.Contains(err.Error(), "Receive takes SUBSCRIBE") {
			t.Errorf("Receive of %v: %v", cmd.Commands(), err)
		}
	}
	ping(t, c)
}

// TestRegistryDoSubscribe: a subscription sent with Do on the shared
// pipeline would end the process when Redis 7.0 or 6.2 writes a keyspace
// notification inside the reply of an MGET of keys that expire as it
// reads them (rueidis's reader panics: "protocol bug, message handled out
// of order"). The registry's client refuses it, however it is spelt, and
// sends nothing of a DoMulti holding one; in a stream too, where it would
// stay on a pooled connection.
func TestRegistryDoSubscribe(t *testing.T) {
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
				renamed := func(name string) rueidis.Completed {
					cmd := c.B().Arbitrary("ECHO").Args("__key*__:*").Build()
					cmd.Commands()[0] = name // after Build, which refuses the name
					return cmd
				}
				for _, cmd := range []rueidis.Completed{
					c.B().Psubscribe().Pattern("__key*__:*").Build(),
					c.B().Subscribe().Channel("__keyspace@0__:ks:j").Build(),
					c.B().Ssubscribe().Channel("ks:j").Build(),
					renamed("psubscribe"),
					renamed("PSUBSCRIBE\x00junk"),
				} {
					name := cmd.Commands()[0]
					if err := c.Do(ctx, cmd).Error(); !errors.Is(err, registry.ErrRefused) {
						t.Errorf("Do(%q): %v, want ErrRefused", name, err)
					}
				}
				if st := c.DoStream(ctx, c.B().Subscribe().Channel("ch").Build()); !errors.Is(st.Error(), registry.ErrRefused) {
					t.Errorf("DoStream: %v, want ErrRefused", st.Error())
				}
				if ms := c.DoMultiStream(ctx, c.B().Set().Key("sent").Value("v").Build(), renamed("ssubscribe")); !errors.Is(ms.Error(), registry.ErrRefused) {
					t.Errorf("DoMultiStream: %v, want ErrRefused", ms.Error())
				}
				rs := c.DoMulti(ctx, c.B().Set().Key("sent").Value("v").Build(), c.B().Psubscribe().Pattern("*").Build())
				if !errors.Is(rs[1].Error(), registry.ErrRefused) || rs[0].Error() == nil {
					t.Errorf("DoMulti: %v, %v", rs[0].Error(), rs[1].Error())
				}
				if n, err := admin.Do(ctx, admin.B().Exists().Key("sent").Build()).AsInt64(); err != nil || n != 0 {
					t.Errorf("the batch's SET was sent: %d %v", n, err)
				}
				// ssub= is Redis 7's, not 6.2's.
				if info := clientInfo(t, c); !strings.Contains(info, " sub=0 ") || !strings.Contains(info, " psub=0 ") || strings.Contains(info, " ssub=") && !strings.Contains(info, " ssub=0 ") {
					t.Errorf("the shared connection subscribed: %s", info)
				}
				expireSoon(t, admin, "ks:j", "ks:k")
				bg, cancelBg := context.WithCancel(ctx)
				defer cancelBg()
				if got := show(c.Do(bg, c.B().Mget().Key("ks:j", "ks:k").Build())); got != `{"Value":[{"Type":"null","Error":"redis nil message"},{"Type":"null","Error":"redis nil message"}],"Type":"array"}` {
					t.Errorf("MGET: %s", got)
				}
				ping(t, c)
			})
			childVerdict(t, out, crashed)
		})
	}
}

// TestRegistryReceiveOnCluster: on a cluster, the registry's client's
// Receive runs apart too: a channel and a shard channel get their
// messages, from the node of the channel's slot for the shard channel,
// and an UNSUBSCRIBE (SUNSUBSCRIBE) sent with Do ends each.
func TestRegistryReceiveOnCluster(t *testing.T) {
	t.Parallel() // servers of its own: runs beside the other slow tests
	cluster := redistest.StartCluster(t, 3, 0)
	reg, _ := newRegistry(t)
	c, release, err := reg.Acquire(context.Background(), load(t, "session", "REDIS_ADDRS="+strings.Join(cluster.Addrs, ",")))
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if c.Mode() != rueidis.ClientModeCluster {
		t.Fatalf("mode %s", c.Mode())
	}
	ctx := context.Background()
	for _, tc := range []struct {
		subscribe, unsubscribe rueidis.Completed
		publish                func(message string) rueidis.Completed
	}{
		{c.B().Subscribe().Channel("news").Build(), c.B().Unsubscribe().Channel("news").Build(),
			func(m string) rueidis.Completed { return c.B().Publish().Channel("news").Message(m).Build() }},
		{c.B().Ssubscribe().Channel("shard{7}").Build(), c.B().Sunsubscribe().Channel("shard{7}").Build(),
			func(m string) rueidis.Completed { return c.B().Spublish().Channel("shard{7}").Message(m).Build() }},
	} {
		name := tc.subscribe.Commands()[0]
		msgs := make(chan string, 100)
		done := make(chan error, 1)
		rctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			done <- c.Receive(rctx, tc.subscribe, func(m rueidis.PubSubMessage) { msgs <- m.Message })
		}()
		// Published until the subscription gets one: no count of
		// subscribers covers every node.
		testsupport.WaitFor(t, 10*time.Second, name+"'s first message", func() bool {
			if err := c.Do(ctx, tc.publish("hello")).Error(); err != nil {
				t.Fatal(err)
			}
			select {
			case m := <-msgs:
				return m == "hello"
			default:
				return false
			}
		})
		if err := c.Do(ctx, tc.unsubscribe).Error(); err != nil {
			t.Errorf("%s: unsubscribe: %v", name, err)
		}
		if err := <-done; err != nil {
			t.Errorf("%s: Receive ended with %v, want nil", name, err)
		}
	}
}

// TestRegistryDoCacheRenamed: a cached read renamed after it was built.
// With a client-side cache rueidis sends it inside MULTI/EXEC, where the
// server runs SUBSCRIBE (subscribing the shared connection) and CLIENT
// REPLY OFF (silencing it: every later caller waits for replies that never
// come); without one, as a Do. Each is refused, and the connection answers
// on.
func TestRegistryDoCacheRenamed(t *testing.T) {
	for _, env := range [][]string{nil, {"REDIS_DISABLE_CACHE=true"}} {
		t.Run(strings.Join(append([]string{"cache"}, env...), ","), func(t *testing.T) {
			srv := startServer(t, "")
			_, c := acquire(t, srv.URL(), oneSocket(env...)...)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := c.Do(ctx, c.B().Set().Key("k").Value("v").Build()).Error(); err != nil {
				t.Fatal(err)
			}
			for _, names := range [][]string{{"SUBSCRIBE"}, {"monitor"}, {"CLIENT", "REPLY", "OFF"}} {
				cmd := c.B().Hget().Key("k").Field("f").Cache()
				copy((*rueidis.Completed)(&cmd).Commands(), names)
				if err := c.DoCache(ctx, cmd, time.Minute).Error(); !errors.Is(err, registry.ErrRefused) {
					t.Errorf("DoCache renamed %v: %v, want ErrRefused", names, err)
				}
				multi := c.DoMultiCache(ctx, rueidis.CT(c.B().Get().Key("k").Cache(), time.Minute), rueidis.CT(cmd, time.Minute))
				if !errors.Is(multi[1].Error(), registry.ErrRefused) || multi[0].Error() == nil {
					t.Errorf("DoMultiCache with renamed %v: %v, %v", names, multi[0].Error(), multi[1].Error())
				}
			}
			if info := clientInfo(t, c); !strings.Contains(info, " sub=0 ") {
				t.Errorf("the shared connection subscribed: %s", info)
			}
			for range 20 {
				if v, err := c.DoCache(ctx, c.B().Get().Key("k").Cache(), time.Minute).ToString(); err != nil || v != "v" {
					t.Fatalf("GET after: %q, %v", v, err)
				}
			}
		})
	}
}
