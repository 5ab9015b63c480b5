package registry_test

// Attacks on the promise that the registry's own clients never hold a
// subscription on their shared pipeline and that their Receives run (and
// end) apart. Judged by the server: CLIENT LIST, PUBSUB, messages.
//
// These broke the first version (all now pass, kept as regressions):
// TestAttackApartRenamedUnsubscribeEach and TestAttackApartDoCacheKeyspaceCrash
// ended the process; TestAttackApartDoCacheSubscribe (RESP3 without a
// cache) subscribed the shared pipeline; TestAttackApartDoStreamRenamedUnsubscribe
// (RESP2) left a pooled connection subscribed; TestAttackApartRenamedUnsubscribeRefused
// hung; TestAttackApartHeldUnsubscribeRacesSubscribe (1 to 3 in 300) left a
// Receive running after the UNSUBSCRIBE that reported it ended; and
// TestAttackApartKilledRESP2 (RESP2) never subscribed again.

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/testsupport"
	"github.com/wireredis/wireredis/registry"
)

// subscribedConns lists the server's connections holding any
// subscription (CLIENT LIST lines).
func subscribedConns(t *testing.T, admin rueidis.Client) []string {
	t.Helper()
	s, err := admin.Do(context.Background(), admin.B().ClientList().Build()).ToString()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l == "" {
			continue
		}
		for _, f := range strings.Fields(l) {
			k, v, _ := strings.Cut(f, "=")
			if (k == "sub" || k == "psub" || k == "ssub") && v != "0" {
				out = append(out, l)
				break
			}
		}
	}
	return out
}

func holds(info string) bool {
	for _, f := range strings.Fields(info) {
		k, v, _ := strings.Cut(f, "=")
		if (k == "sub" || k == "psub" || k == "ssub") && v != "0" {
			return true
		}
	}
	return false
}

// TestAttackApartDoCacheSubscribe: a subscription converted to a
// Cacheable and sent with DoCache / DoMultiCache.
func TestAttackApartDoCacheSubscribe(t *testing.T) {
	for _, env := range [][]string{{"REDIS_PROTOCOL=3"}, {"REDIS_PROTOCOL=3", "REDIS_DISABLE_CACHE=true"}, {"REDIS_PROTOCOL=2"}} {
		t.Run(strings.Join(env, ","), func(t *testing.T) {
			out, crashed := isolated(t, func(t *testing.T) {
				srv := startServer(t, "")
				admin := srv.Client
				_, c := acquire(t, srv.URL(), oneSocket(env...)...)
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				defer cancel()
				r := c.DoCache(ctx, rueidis.Cacheable(c.B().Subscribe().Channel("cachech").Build()), time.Minute)
				t.Logf("DoCache(SUBSCRIBE): %s", show(r))
				rs := c.DoMultiCache(ctx, rueidis.CT(rueidis.Cacheable(c.B().Psubscribe().Pattern("cachep*").Build()), time.Minute))
				t.Logf("DoMultiCache(PSUBSCRIBE): %s", show(rs[0]))
				// The promise is about the shared pipeline: with RESP2,
				// rueidis sends the subscription to its pub/sub-only
				// connection (logged, not failed).
				if info := clientInfo(t, c); holds(info) {
					t.Errorf("the shared connection holds a subscription no Receive owns: %s", info)
				}
				t.Logf("connections holding a subscription: %q", subscribedConns(t, admin))
			})
			switch {
			case crashed:
				t.Errorf("crashed:\n%s", crashExcerpt(out))
			case strings.Contains(out, "--- FAIL"):
				t.Errorf("in the child:\n%s", out)
			default:
				t.Logf("child:\n%s", out)
			}
		})
	}
}

// TestAttackApartDoStreamSubscribe: DoStream / DoMultiStream of a
// subscription.
func TestAttackApartDoStreamSubscribe(t *testing.T) {
	for _, proto := range []string{"3", "2"} {
		t.Run("RESP"+proto, func(t *testing.T) {
			out, crashed := isolated(t, func(t *testing.T) {
				srv := startServer(t, "")
				admin := srv.Client
				_, c := acquire(t, srv.URL(), oneSocket("REDIS_PROTOCOL="+proto)...)
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				defer cancel()
				s := c.DoStream(ctx, c.B().Subscribe().Channel("streamch").Build())
				for s.HasNext() {
					var b strings.Builder
					n, err := s.WriteTo(&b)
					t.Logf("DoStream: %d %q %v", n, b.String(), err)
				}
				t.Logf("DoStream end: %v", s.Error())
				ms := c.DoMultiStream(ctx, c.B().Psubscribe().Pattern("streamp*").Build())
				for ms.HasNext() {
					var b strings.Builder
					n, err := ms.WriteTo(&b)
					t.Logf("DoMultiStream: %d %q %v", n, b.String(), err)
				}
				t.Logf("DoMultiStream end: %v", ms.Error())
				t.Logf("shared: %s", clientInfo(t, c))
				if l := subscribedConns(t, admin); len(l) > 0 {
					t.Errorf("connections holding a subscription with no Receive running:\n%s", strings.Join(l, "\n"))
				}
			})
			switch {
			case crashed:
				t.Errorf("crashed:\n%s", crashExcerpt(out))
			case strings.Contains(out, "--- FAIL"):
				t.Errorf("in the child:\n%s", out)
			default:
				t.Logf("child:\n%s", out)
			}
		})
	}
}

// TestAttackApartRenamedUnsubscribeEach: each unsubscribe builder renamed
// to its subscription, alone, sent with Do.
func TestAttackApartRenamedUnsubscribeEach(t *testing.T) {
	for _, proto := range []string{"3", "2"} {
		for _, name := range []string{"SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE-as-is"} {
			t.Run("RESP"+proto+"/"+name, func(t *testing.T) {
				out, crashed := isolated(t, func(t *testing.T) {
					srv := startServer(t, "")
					admin := srv.Client
					_, c := acquire(t, srv.URL(), oneSocket("REDIS_PROTOCOL="+proto)...)
					ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
					defer cancel()
					var cmd rueidis.Completed
					switch name {
					case "SUBSCRIBE", "UNSUBSCRIBE-as-is":
						cmd = c.B().Unsubscribe().Channel("x").Build()
					case "PSUBSCRIBE":
						cmd = c.B().Punsubscribe().Pattern("x*").Build()
					default:
						cmd = c.B().Sunsubscribe().Channel("x").Build()
					}
					if name != "UNSUBSCRIBE-as-is" {
						cmd.Commands()[0] = name
					}
					err := c.Do(ctx, cmd).Error()
					t.Logf("Do: %v", err)
					if name != "UNSUBSCRIBE-as-is" && !errors.Is(err, registry.ErrRefused) {
						t.Errorf("Do(%s built as its unsubscribe): %v, want ErrRefused", name, err)
					}
					ping(t, c)
					if l := subscribedConns(t, admin); len(l) > 0 {
						t.Errorf("connections holding a subscription with no Receive running:\n%s", strings.Join(l, "\n"))
					}
				})
				childVerdict(t, out, crashed)
			})
		}
	}
}

// TestAttackApartDoCacheKeyspaceCrash: with client-side caching off
// (REDIS_DISABLE_CACHE=true, RESP3), DoCache of a PSUBSCRIBE converted to
// a Cacheable subscribes the shared pipeline; an MGET of keys expiring as
// it reads them on Redis 7.0 / 6.2 then carries keyspace notifications
// inside its reply.
func TestAttackApartDoCacheKeyspaceCrash(t *testing.T) {
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
				_, c := acquire(t, srv.URL(), oneSocket("REDIS_PROTOCOL=3", "REDIS_DISABLE_CACHE=true")...)
				err := c.DoCache(ctx, rueidis.Cacheable(c.B().Psubscribe().Pattern("__key*__:*").Build()), time.Minute).Error()
				if !errors.Is(err, registry.ErrRefused) {
					t.Errorf("DoCache(PSUBSCRIBE): %v, want ErrRefused", err)
				}
				if info := clientInfo(t, c); holds(info) {
					t.Errorf("the shared connection subscribed: %s", info)
				}
				expireSoon(t, admin, "ks:j", "ks:k")
				bg, cancelBg := context.WithCancel(ctx)
				defer cancelBg()
				t.Logf("MGET: %s", show(c.Do(bg, c.B().Mget().Key("ks:j", "ks:k").Build())))
				ping(t, c)
			})
			childVerdict(t, out, crashed)
		})
	}
}

// TestAttackApartRenamedUnsubscribe: an UNSUBSCRIBE whose name was set
// after Build (an ECHO renamed; Arbitrary refuses the name) naming a
// Receive's channel, sent with Do: rueidis, reading the reply as ECHO's,
// hung on RESP3; now it is refused as renamed, and the Receive runs on.
func TestAttackApartRenamedUnsubscribeRefused(t *testing.T) {
	for _, proto := range []string{"3", "2"} {
		for _, name := range []string{"UNSUBSCRIBE", "unsubscribe"} {
			t.Run("RESP"+proto+"/"+name, func(t *testing.T) {
				out, crashed := isolated(t, func(t *testing.T) {
					srv := startServer(t, "")
					admin := srv.Client
					_, c := acquire(t, srv.URL(), oneSocket("REDIS_PROTOCOL="+proto)...)
					_, done, _ := receiving(t, c, admin, c.B().Subscribe().Channel("a").Build(), "a")
					ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
					defer cancel()
					cmd := c.B().Arbitrary("ECHO").Args("a").Build()
					cmd.Commands()[0] = name
					// Refused, not sent: rueidis would wait for a reply the
					// server sends as a push (RESP3).
					if err := c.Do(ctx, cmd).Error(); !errors.Is(err, registry.ErrRefused) {
						t.Errorf("Do(%s a): %v, want ErrRefused", name, err)
					}
					select {
					case err := <-done:
						t.Errorf("Receive ended by a refused %s: %v", name, err)
					default:
					}
					if n := subscribers(t, admin, "a"); n != 1 {
						t.Errorf("NUMSUB a = %d after a refused %s, want 1", n, name)
					}
					ping(t, c)
				})
				childVerdict(t, out, crashed)
			})
		}
	}
}

// TestAttackApartUnsubscribeRacesReceiveStart: UNSUBSCRIBE sent with Do
// right after the Receive was started (no wait for the subscription):
// when Do reports the Receive held (or not), does the Receive end?
func TestAttackApartUnsubscribeRacesReceiveStart(t *testing.T) {
	for _, proto := range []string{"3", "2"} {
		t.Run("RESP"+proto, func(t *testing.T) {
			srv := startServer(t, "")
			admin := srv.Client
			_, c := acquire(t, srv.URL(), oneSocket("REDIS_PROTOCOL="+proto)...)
			stuck := 0
			for i := 0; i < 200; i++ {
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				started := make(chan struct{})
				go func() {
					close(started)
					done <- c.Receive(ctx, c.B().Subscribe().Channel("race").Build(), func(rueidis.PubSubMessage) {})
				}()
				<-started
				// Wait until the Receive is known to the client: poll
				// with UNSUBSCRIBE until one ends it (held), as a caller
				// would retry, for 2 s at most. An UNSUBSCRIBE answered
				// before the Receive is known ends nothing, as on the
				// server: bounded by count (1000), the polls, which no
				// longer reach the server, once all came first under the
				// race detector.
				var err error
				ended := false
				for polling := time.Now(); !ended && time.Since(polling) < 2*time.Second; {
					err = c.Do(context.Background(), c.B().Unsubscribe().Channel("race").Build()).Error()
					select {
					case rerr := <-done:
						ended = true
						if rerr != nil {
							t.Errorf("round %d: Receive ended with %v, want nil", i, rerr)
						}
					default:
						runtime.Gosched() // let the Receive's goroutine register
					}
				}
				if !ended {
					select {
					case rerr := <-done:
						ended = true
						if rerr != nil {
							t.Errorf("round %d: Receive ended with %v, want nil", i, rerr)
						}
					case <-time.After(2 * time.Second):
					}
				}
				if !ended {
					stuck++
					t.Logf("round %d: Receive still running after UNSUBSCRIBEs (last %v); NUMSUB %d", i, err, subscribers(t, admin, "race"))
				}
				cancel()
				if !ended {
					t.Logf("round %d: the stuck Receive ended with %v", i, <-done)
				}
				testsupport.WaitFor(t, 5*time.Second, "no subscriber", func() bool { return subscribers(t, admin, "race") == 0 })
			}
			if stuck > 0 {
				t.Errorf("%d of 200 Receives survived the UNSUBSCRIBEs", stuck)
			}
		})
	}
}

// TestAttackApartHeldUnsubscribeRacesSubscribe: an UNSUBSCRIBE that
// finds the Receive known to the client but before its SUBSCRIBE reached
// the server must still end it. The first version wrote the UNSUBSCRIBE
// on the Receive's connection: on Valkey 8, whose NOSUB on the shared
// connection then told a held UNSUBSCRIBE from another, 1 to 3 in 300
// Receives ran on after the one UNSUBSCRIBE that reported them ended.
// An UNSUBSCRIBE is now answered without being sent, so nothing tells
// which one found the Receive: they are sent as fast as they go, and the
// Receive must end within 2 s, with nil, leaving no subscriber.
func TestAttackApartHeldUnsubscribeRacesSubscribe(t *testing.T) {
	for _, proto := range []string{"3", "2"} {
		t.Run("RESP"+proto, func(t *testing.T) {
			srv := startServer(t, followServers[4].bin)
			admin := srv.Client
			_, c := acquire(t, srv.URL(), oneSocket("REDIS_PROTOCOL="+proto)...)
			stuck, rounds := 0, 300
			for i := 0; i < rounds; i++ {
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() {
					done <- c.Receive(ctx, c.B().Subscribe().Channel("race").Build(), func(rueidis.PubSubMessage) {})
				}()
				limit := time.After(2 * time.Second)
			spin:
				for {
					if err := c.Do(context.Background(), c.B().Unsubscribe().Channel("race").Build()).Error(); err != nil {
						t.Fatalf("UNSUBSCRIBE: %v", err)
					}
					select {
					case rerr := <-done:
						if rerr != nil {
							t.Errorf("round %d: Receive ended with %v, want nil", i, rerr)
						}
						break spin
					case <-limit:
						stuck++
						t.Logf("round %d: the Receive runs 2s after the first UNSUBSCRIBE; PUBSUB NUMSUB race = %d", i, subscribers(t, admin, "race"))
						cancel()
						t.Logf("round %d: then it ended with %v", i, <-done)
						break spin
					default:
						runtime.Gosched()
					}
				}
				cancel()
				testsupport.WaitFor(t, 5*time.Second, "no subscriber", func() bool { return subscribers(t, admin, "race") == 0 })
			}
			if stuck > 0 {
				t.Errorf("%d of %d Receives survived UNSUBSCRIBEs of their channel", stuck, rounds)
			}
		})
	}
}

// TestAttackApartReleaseEndsReceive: the last release of the registry's
// client (and Registry.Close) while a Receive runs: the client closes, so
// the Receive must end and its subscription with it.
func TestAttackApartReleaseEndsReceive(t *testing.T) {
	for _, how := range []string{"release", "close", "admin-release"} {
		for _, proto := range []string{"3", "2"} {
			t.Run(how+"/RESP"+proto, func(t *testing.T) {
				srv := startServer(t, "")
				admin := srv.Client
				reg, _ := newRegistry(t)
				opts := load(t, "session", append([]string{"REDIS_URL=" + srv.URL()}, oneSocket("REDIS_PROTOCOL="+proto)...)...)
				var c rueidis.Client
				var release func()
				var err error
				if how == "admin-release" {
					c, release, err = reg.Admin(context.Background(), opts)
				} else {
					c, release, err = reg.Acquire(context.Background(), opts)
				}
				if err != nil {
					t.Fatal(err)
				}
				defer release()
				_, done, cancel := receiving(t, c, admin, c.B().Subscribe().Channel("rel").Build(), "rel")
				defer cancel()
				if how == "close" {
					_ = reg.Close()
				} else {
					release()
				}
				select {
				case err := <-done:
					t.Logf("Receive ended: %v", err)
				case <-time.After(5 * time.Second):
					t.Errorf("Receive still runs 5s after the client's connection was closed (%s); NUMSUB rel = %d", how, subscribers(t, admin, "rel"))
					cancel()
					t.Logf("then it ended with %v", <-done)
				}
				testsupport.WaitFor(t, 5*time.Second, "no subscriber", func() bool { return subscribers(t, admin, "rel") == 0 })
			})
		}
	}
}

// TestAttackApartCancelledContext: a Receive with its context already
// cancelled leaves no subscription; many at once, with UNSUBSCRIBEs and
// PUNSUBSCRIBEs (no names) racing them.
func TestAttackApartCancelledContext(t *testing.T) {
	for _, proto := range []string{"3", "2"} {
		t.Run("RESP"+proto, func(t *testing.T) {
			srv := startServer(t, "")
			admin := srv.Client
			_, c := acquire(t, srv.URL(), oneSocket("REDIS_PROTOCOL="+proto)...)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			for i := 0; i < 50; i++ {
				if err := c.Receive(ctx, c.B().Subscribe().Channel("cc").Build(), func(rueidis.PubSubMessage) {}); !errors.Is(err, context.Canceled) {
					t.Errorf("Receive with a cancelled context: %v", err)
				}
			}
			testsupport.WaitFor(t, 5*time.Second, "no subscriber", func() bool { return len(subscribedConns(t, admin)) == 0 })
		})
	}
}

// TestAttackApartUnsubscribeOneOfSeveral: a Receive of three channels,
// UNSUBSCRIBE of one ends it and none of the three is left subscribed.
func TestAttackApartUnsubscribeOneOfSeveral(t *testing.T) {
	for _, proto := range []string{"3", "2"} {
		for _, kind := range []string{"SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE"} {
			t.Run("RESP"+proto+"/"+kind, func(t *testing.T) {
				srv := startServer(t, "")
				admin := srv.Client
				_, c := acquire(t, srv.URL(), oneSocket("REDIS_PROTOCOL="+proto)...)
				var sub, unsub rueidis.Completed
				switch kind {
				case "SUBSCRIBE":
					sub, unsub = c.B().Subscribe().Channel("m1", "m2", "m3").Build(), c.B().Unsubscribe().Channel("m2").Build()
				case "PSUBSCRIBE":
					sub, unsub = c.B().Psubscribe().Pattern("m1*", "m2*", "m3*").Build(), c.B().Punsubscribe().Pattern("m2*").Build()
				default:
					sub, unsub = c.B().Ssubscribe().Channel("m1").Build(), c.B().Sunsubscribe().Channel("m1").Build()
				}
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				done := make(chan error, 1)
				go func() { done <- c.Receive(ctx, sub, func(rueidis.PubSubMessage) {}) }()
				testsupport.WaitFor(t, 5*time.Second, "the subscription", func() bool { return len(subscribedConns(t, admin)) == 1 })
				if err := c.Do(context.Background(), unsub).Error(); err != nil {
					t.Fatal(err)
				}
				select {
				case err := <-done:
					if err != nil {
						t.Errorf("Receive ended with %v", err)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("Receive still runs: %v", subscribedConns(t, admin))
				}
				testsupport.WaitFor(t, 5*time.Second, "no subscription left", func() bool { return len(subscribedConns(t, admin)) == 0 })
			})
		}
	}
}

// TestAttackApartDoStreamThenStream: with RESP2, DoStream of a
// SUBSCRIBE leaves the subscription on a pooled connection; is that
// connection then shared with the client's later commands?
func TestAttackApartDoStreamThenStream(t *testing.T) {
	srv := startServer(t, "")
	admin := srv.Client
	_, c := acquire(t, srv.URL(), oneSocket("REDIS_PROTOCOL=2")...)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	drain := func(s rueidis.RedisResultStream) string {
		var b strings.Builder
		for s.HasNext() {
			if _, err := s.WriteTo(&b); err != nil {
				b.WriteString(" err: " + err.Error())
			}
		}
		return b.String() + " end: " + s.Error().Error()
	}
	t.Logf("DoStream(SUBSCRIBE): %s", drain(c.DoStream(ctx, c.B().Subscribe().Channel("streamch").Build())))
	if err := admin.Do(ctx, admin.B().Set().Key("sk").Value("v").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		t.Logf("DoStream(GET sk): %s", drain(c.DoStream(ctx, c.B().Get().Key("sk").Build())))
		t.Logf("Dedicated GET: %v", c.Dedicated(func(d rueidis.DedicatedClient) error {
			v, err := d.Do(ctx, d.B().Get().Key("sk").Build()).ToString()
			t.Logf("  %q %v", v, err)
			return err
		}))
	}
	if l := subscribedConns(t, admin); len(l) > 0 {
		t.Errorf("connections holding a subscription with no Receive running:\n%s", strings.Join(l, "\n"))
	}
}

// TestAttackApartStress: many Receives (channels, patterns, shard
// channels) on one client, their connections killed, UNSUBSCRIBEs with
// and without names racing them; at the end every Receive has ended and
// the server counts no subscription.
func TestAttackApartStress(t *testing.T) {
	for _, proto := range []string{"3", "2"} { // RESP2 broke first (TestAttackApartKilledRESP2)
		t.Run("RESP"+proto, func(t *testing.T) {
			srv := startServer(t, "")
			admin := srv.Client
			_, c := acquire(t, srv.URL(), oneSocket("REDIS_PROTOCOL="+proto)...)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			const n = 30
			done := make(chan error, 3*n)
			for i := 0; i < n; i++ {
				ch := "s" + string(rune('a'+i%26)) + string(rune('0'+i/26))
				go func() {
					done <- c.Receive(ctx, c.B().Subscribe().Channel(ch, ch+"x").Build(), func(rueidis.PubSubMessage) {})
				}()
				go func() {
					done <- c.Receive(ctx, c.B().Psubscribe().Pattern(ch+"*").Build(), func(rueidis.PubSubMessage) {})
				}()
				go func() { done <- c.Receive(ctx, c.B().Ssubscribe().Channel(ch).Build(), func(rueidis.PubSubMessage) {}) }()
			}
			kills := make(chan struct{})
			go func() {
				defer close(kills)
				for i := 0; i < 20; i++ {
					_ = admin.Do(context.Background(), admin.B().ClientKill().TypePubsub().Build()).Error()
					testsupport.Eventually(3*time.Millisecond, func() bool { return false })
				}
			}()
			for i := 0; i < n; i++ {
				ch := "s" + string(rune('a'+i%26)) + string(rune('0'+i/26))
				_ = c.Do(ctx, c.B().Unsubscribe().Channel(ch+"x").Build()).Error()
				_ = c.DoMulti(ctx, c.B().Punsubscribe().Pattern(ch+"*").Build(), c.B().Sunsubscribe().Channel(ch).Build())
			}
			<-kills
			// Whatever survived (a Receive between two connections, or the
			// race of TestAttackApartHeldUnsubscribeRacesSubscribe), end
			// every kind without names, until all have ended.
			ended := 0
			deadline := time.After(20 * time.Second)
			for ended < 3*n {
				select {
				case rerr := <-done:
					ended++
					if rerr != nil {
						t.Errorf("a Receive ended with %v, want nil (an UNSUBSCRIBE ended it)", rerr)
					}
				case <-time.After(200 * time.Millisecond):
					_ = c.Do(context.Background(), c.B().Unsubscribe().Build()).Error()
					_ = c.Do(context.Background(), c.B().Punsubscribe().Build()).Error()
					_ = c.Do(context.Background(), c.B().Sunsubscribe().Build()).Error()
				case <-deadline:
					t.Fatalf("%d of %d Receives still run; subscribed: %q", 3*n-ended, 3*n, subscribedConns(t, admin))
				}
			}
			testsupport.WaitFor(t, 5*time.Second, "no subscription left", func() bool { return len(subscribedConns(t, admin)) == 0 })
			ping(t, c)
		})
	}
}

// TestAttackApartKilledRESP2: with RESP2, the Receive's connection is
// killed (CLIENT KILL TYPE pubsub). It must subscribe again (a message
// published after the kill arrives), and an UNSUBSCRIBE sent with Do must
// then end it, promptly.
func TestAttackApartKilledRESP2(t *testing.T) {
	for _, proto := range []string{"3", "2"} {
		t.Run("RESP"+proto, func(t *testing.T) {
			srv := startServer(t, "")
			admin := srv.Client
			_, c := acquire(t, srv.URL(), oneSocket("REDIS_PROTOCOL="+proto)...)
			msgs, done, cancel := receiving(t, c, admin, c.B().Subscribe().Channel("kill").Build(), "kill")
			defer cancel()
			if err := admin.Do(context.Background(), admin.B().ClientKill().TypePubsub().Build()).Error(); err != nil {
				t.Fatal(err)
			}
			again := testsupport.Eventually(10*time.Second, func() bool {
				publish(t, admin, "kill", "again")
				select {
				case m := <-msgs:
					return m == "kill again"
				case <-time.After(20 * time.Millisecond):
					return false
				}
			})
			if !again {
				t.Errorf("no message 10s after the kill; NUMSUB kill = %d; subscribed: %q", subscribers(t, admin, "kill"), subscribedConns(t, admin))
			}
			ctx, cancelDo := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancelDo()
			began := time.Now()
			err := c.Do(ctx, c.B().Unsubscribe().Channel("kill").Build()).Error()
			t.Logf("UNSUBSCRIBE after the kill: %v after %v", err, time.Since(began).Round(time.Millisecond))
			if err != nil {
				t.Errorf("UNSUBSCRIBE after the kill: %v after %v", err, time.Since(began).Round(time.Millisecond))
			}
			select {
			case err := <-done:
				t.Logf("Receive ended: %v", err)
			case <-time.After(3 * time.Second):
				t.Errorf("Receive still runs 3s after the UNSUBSCRIBE; NUMSUB kill = %d", subscribers(t, admin, "kill"))
			}
		})
	}
}

// TestAttackApartKilledRESP2ThenRelease: with RESP2, after the kill of
// the Receive's connection, the client closes (last release): the Receive
// must end.
func TestAttackApartKilledRESP2ThenRelease(t *testing.T) {
	srv := startServer(t, "")
	admin := srv.Client
	reg, _ := newRegistry(t)
	c, release, err := reg.Acquire(context.Background(), load(t, "session", append([]string{"REDIS_URL=" + srv.URL()}, oneSocket("REDIS_PROTOCOL=2")...)...))
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	_, done, cancel := receiving(t, c, admin, c.B().Subscribe().Channel("kr").Build(), "kr")
	defer cancel()
	if err := admin.Do(context.Background(), admin.B().ClientKill().TypePubsub().Build()).Error(); err != nil {
		t.Fatal(err)
	}
	testsupport.WaitFor(t, 5*time.Second, "the kill", func() bool { return subscribers(t, admin, "kr") == 0 })
	began := time.Now()
	release()
	t.Logf("release took %v", time.Since(began).Round(time.Millisecond))
	select {
	case err := <-done:
		t.Logf("Receive ended: %v after %v", err, time.Since(began).Round(time.Millisecond))
	case <-time.After(5 * time.Second):
		t.Errorf("Receive still runs 5s after the client's last release")
		cancel()
		t.Logf("then it ended with %v", <-done)
	}
}

// TestAttackApartNodesReceive: a Receive through the client's Nodes()
// (a client of the same connection) runs apart too, and an UNSUBSCRIBE
// sent with Do through the client itself names its channel.
func TestAttackApartNodesReceive(t *testing.T) {
	srv := startServer(t, "")
	admin := srv.Client
	_, c := acquire(t, srv.URL(), oneSocket()...)
	var node rueidis.Client
	for _, n := range c.Nodes() {
		node = n
	}
	if err := node.Do(context.Background(), node.B().Subscribe().Channel("nd").Build()).Error(); !errors.Is(err, registry.ErrRefused) {
		t.Errorf("Nodes() client's Do(SUBSCRIBE): %v", err)
	}
	_, done, cancel := receiving(t, node, admin, node.B().Subscribe().Channel("nd").Build(), "nd")
	defer cancel()
	if info := clientInfo(t, c); holds(info) {
		t.Errorf("the shared connection subscribed: %s", info)
	}
	if err := c.Do(context.Background(), c.B().Unsubscribe().Channel("nd").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Logf("Receive ended: %v", err)
	case <-time.After(3 * time.Second):
		t.Logf("not a break of the letter (Nodes() is another client): the Receive of a Nodes() client still runs after the client's UNSUBSCRIBE; NUMSUB nd = %d", subscribers(t, admin, "nd"))
	}
}

// TestAttackApartDoStreamRenamedUnsubscribe: DoStream of an UNSUBSCRIBE
// built by its builder and renamed SUBSCRIBE after Build (RESP2).
func TestAttackApartDoStreamRenamedUnsubscribe(t *testing.T) {
	out, crashed := isolated(t, func(t *testing.T) {
		srv := startServer(t, "")
		admin := srv.Client
		_, c := acquire(t, srv.URL(), oneSocket("REDIS_PROTOCOL=2")...)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		cmd := c.B().Unsubscribe().Channel("dsr").Build()
		cmd.Commands()[0] = "SUBSCRIBE"
		s := c.DoStream(ctx, cmd)
		for s.HasNext() {
			var b strings.Builder
			_, _ = s.WriteTo(&b)
		}
		if err := s.Error(); !errors.Is(err, registry.ErrRefused) {
			t.Errorf("DoStream(SUBSCRIBE built as UNSUBSCRIBE): %v, want ErrRefused", err)
		}
		if l := subscribedConns(t, admin); len(l) > 0 {
			t.Errorf("connections holding a subscription with no Receive running:\n%s", strings.Join(l, "\n"))
		}
	})
	childVerdict(t, out, crashed)
}
