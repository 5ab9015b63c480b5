package feature_test

// Second round of attacks on the Pub/Sub promises of parts sharing a
// connection with the registry's own client: overlapping names, NUL bytes
// and odd case, batches mixing UNSUBSCRIBE with other commands, renamed
// subscriptions in Receive, Dedicated connections. Judged by the server
// (PUBSUB NUMSUB, CLIENT LIST) and by the Receives' ends.

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/internal/testsupport"
	"github.com/wireredis/wireredis/redistest"
)

func numsub2(t *testing.T, admin rueidis.Client, channel string) int64 {
	t.Helper()
	m, err := admin.Do(context.Background(), admin.B().PubsubNumsub().Channel(channel).Build()).AsIntMap()
	if err != nil {
		t.Fatal(err)
	}
	return m[channel]
}

// recv2 runs c.Receive of subscribe; its end comes on the channel.
func recv2(t *testing.T, c rueidis.Client, subscribe rueidis.Completed) (<-chan error, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	done := make(chan error, 1)
	go func() { done <- c.Receive(ctx, subscribe, func(rueidis.PubSubMessage) {}) }()
	return done, cancel
}

func ended2(done <-chan error) (error, bool) {
	select {
	case err := <-done:
		return err, true
	default:
		return nil, false
	}
}

// waitEnd waits for a Receive that must end.
func waitEnd(t *testing.T, what string, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatalf("%s did not end", what)
		return nil
	}
}

// sharedSetup opens two parts ("ns", "other") and the registry's client
// over one connection of srv.
func sharedSetup(t *testing.T, srv *redistest.Server, env ...string) (a, b *feature.Client, rc rueidis.Client) {
	t.Helper()
	ctx := context.Background()
	reg, base := parts(t, append([]string{"REDIS_URL=" + srv.URL()}, env...)...)
	a, relA, err := feature.Part{Namespace: "ns"}.Open(ctx, reg, base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(relA)
	b, relB, err := feature.Part{Namespace: "other"}.Open(ctx, reg, base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(relB)
	opts, err := base.ForPart("ns")
	if err != nil {
		t.Fatal(err)
	}
	rc, relC, err := reg.Acquire(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(relC)
	return a, b, rc
}

// TestAttackApart2SharedOverlap: a part ("ns", channel x is ns:x on the
// server), another part ("other") and the registry's client on one
// connection, with the registry client subscribed to ns:x, x and other:x.
// The part's UNSUBSCRIBE x may end its own Receive (and, the server name
// being the same, the registry client's on ns:x), never the other part's
// nor the registry client's on x or other:x; the registry client's
// UNSUBSCRIBE without names ends its own Receives only.
func TestAttackApart2SharedOverlap(t *testing.T) {
	for _, proto := range []string{"3", "2"} {
		t.Run("RESP"+proto, func(t *testing.T) {
			srv := redistest.Start(t)
			admin := srv.Client
			ctx := context.Background()
			a, b, rc := sharedSetup(t, srv, "REDIS_PROTOCOL="+proto)
			aDone, _ := recv2(t, a, a.B().Subscribe().Channel("x").Build())
			bDone, _ := recv2(t, b, b.B().Subscribe().Channel("x").Build())
			rcNS, _ := recv2(t, rc, rc.B().Subscribe().Channel("ns:x").Build())
			rcX, _ := recv2(t, rc, rc.B().Subscribe().Channel("x").Build())
			rcOther, _ := recv2(t, rc, rc.B().Subscribe().Channel("other:x").Build())
			testsupport.WaitFor(t, 5*time.Second, "the subscriptions", func() bool {
				return numsub2(t, admin, "ns:x") == 2 && numsub2(t, admin, "other:x") == 2 && numsub2(t, admin, "x") == 1
			})
			if err := a.Do(ctx, a.B().Unsubscribe().Channel("x").Build()).Error(); err != nil {
				t.Fatalf("part UNSUBSCRIBE x: %v", err)
			}
			if err := waitEnd(t, "the part's Receive", aDone); err != nil {
				t.Errorf("the part's Receive: %v, want nil", err)
			}
			select {
			case err := <-rcNS:
				t.Logf("the registry client's Receive of ns:x (the part's server name) ended too: %v", err)
			case <-time.After(200 * time.Millisecond):
				t.Logf("the registry client's Receive of ns:x goes on")
			}
			for name, d := range map[string]<-chan error{"other part's x": bDone, "registry x": rcX, "registry other:x": rcOther} {
				if err, ok := ended2(d); ok {
					t.Errorf("%s ended by the part's UNSUBSCRIBE x: %v", name, err)
				}
			}
			if n := numsub2(t, admin, "other:x"); n != 2 {
				t.Errorf("NUMSUB other:x = %d after the part's UNSUBSCRIBE, want 2", n)
			}
			// The registry client's UNSUBSCRIBE without names.
			t.Logf("registry UNSUBSCRIBE: %v", rc.Do(ctx, rc.B().Unsubscribe().Build()).Error())
			for name, d := range map[string]<-chan error{"registry x": rcX, "registry other:x": rcOther} {
				if err := waitEnd(t, name, d); err != nil {
					t.Errorf("%s: %v, want nil", name, err)
				}
			}
			if err, ok := ended2(bDone); ok {
				t.Errorf("the other part's Receive ended by the registry client's UNSUBSCRIBE: %v", err)
			}
			testsupport.WaitFor(t, 5*time.Second, "the registry client's subscriptions gone", func() bool {
				return numsub2(t, admin, "x") == 0 && numsub2(t, admin, "other:x") == 1
			})
			if n := numsub2(t, admin, "other:x"); n != 1 {
				t.Errorf("NUMSUB other:x = %d, want 1 (the other part's)", n)
			}
		})
	}
}

// TestAttackApart2NamesAsTheServerReads: NUL bytes and case, in channel
// names and in command names.
func TestAttackApart2NamesAsTheServerReads(t *testing.T) {
	for _, proto := range []string{"3", "2"} {
		t.Run("RESP"+proto, func(t *testing.T) {
			srv := redistest.Start(t)
			admin := srv.Client
			ctx := context.Background()
			a, _, rc := sharedSetup(t, srv, "REDIS_PROTOCOL="+proto)

			// A channel holding a NUL: UNSUBSCRIBE of its head must not end it.
			nul, _ := recv2(t, a, a.B().Subscribe().Channel("x\x00y").Build())
			testsupport.WaitFor(t, 5*time.Second, "x\\0y", func() bool { return numsub2(t, admin, "ns:x\x00y") == 1 })
			t.Logf("UNSUBSCRIBE x: %v", a.Do(ctx, a.B().Unsubscribe().Channel("x").Build()).Error())
			if err, ok := ended2(nul); ok {
				t.Errorf("UNSUBSCRIBE x ended the Receive of x\\0y: %v", err)
			}
			t.Logf("UNSUBSCRIBE x\\0y: %v", a.Do(ctx, a.B().Unsubscribe().Channel("x\x00y").Build()).Error())
			if err := waitEnd(t, "x\\0y", nul); err != nil {
				t.Errorf("x\\0y: %v", err)
			}
			testsupport.WaitFor(t, 5*time.Second, "x\\0y gone", func() bool { return numsub2(t, admin, "ns:x\x00y") == 0 })

			// An UNSUBSCRIBE renamed to lower case: the server reads it so.
			for _, c := range []rueidis.Client{a, rc} {
				ch := "ns:low"
				sub := c.B().Subscribe().Channel("low").Build()
				if c == rc {
					sub = c.B().Subscribe().Channel("ns:low").Build()
				}
				low, _ := recv2(t, c, sub)
				testsupport.WaitFor(t, 5*time.Second, ch, func() bool { return numsub2(t, admin, ch) == 1 })
				un := c.B().Unsubscribe().Channel("low").Build()
				if c == rc {
					un = c.B().Unsubscribe().Channel("ns:low").Build()
				}
				un.Commands()[0] = "unsubscribe"
				t.Logf("unsubscribe (lower case): %v", c.Do(ctx, un).Error())
				if err := waitEnd(t, "the Receive of low", low); err != nil {
					t.Errorf("low: %v", err)
				}
				testsupport.WaitFor(t, 5*time.Second, "low gone", func() bool { return numsub2(t, admin, ch) == 0 })
			}

			// An UNSUBSCRIBE renamed "UNSUBSCRIBE\0zz": what does the
			// server make of it, and does the Receive end?
			for _, c := range []rueidis.Client{a, rc} {
				ch := "ns:nulcmd"
				sub := c.B().Subscribe().Channel("nulcmd").Build()
				un := c.B().Unsubscribe().Channel("nulcmd").Build()
				if c == rc {
					sub = c.B().Subscribe().Channel("ns:nulcmd").Build()
					un = c.B().Unsubscribe().Channel("ns:nulcmd").Build()
				}
				d, cancel := recv2(t, c, sub)
				testsupport.WaitFor(t, 5*time.Second, ch, func() bool { return numsub2(t, admin, ch) == 1 })
				un.Commands()[0] = "UNSUBSCRIBE\x00zz"
				r := c.Do(ctx, un)
				t.Logf("UNSUBSCRIBE\\0zz: %v", r.Error())
				raw := admin.Do(ctx, admin.B().Arbitrary("UNSUBSCRIBE\x00zz").Args("q").Build())
				t.Logf("the server, sent UNSUBSCRIBE\\0zz directly: %v", raw.Error())
				select {
				case err := <-d:
					t.Logf("the Receive ended: %v", err)
				case <-time.After(300 * time.Millisecond):
					t.Logf("the Receive goes on")
				}
				cancel()
				testsupport.WaitFor(t, 5*time.Second, "nulcmd gone", func() bool { return numsub2(t, admin, ch) == 0 })
			}

			// Receive of a builder SUBSCRIBE renamed to lower case, and of
			// a builder SUBSCRIBE renamed with a NUL tail.
			for _, name := range []string{"subscribe", "SUBSCRIBE\x00", "Subscribe"} {
				for _, c := range []rueidis.Client{a, rc} {
					sub := c.B().Subscribe().Channel("ns:ren").Build()
					sub.Commands()[0] = name
					rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
					err := c.Receive(rctx, sub, func(rueidis.PubSubMessage) {})
					cancel()
					t.Logf("Receive(%q): %v", name, err)
					if n := numsub2(t, admin, "ns:ren"); n != 0 {
						t.Errorf("Receive(%q) left %d subscribers", name, n)
					}
				}
			}
			if l := subscribedLines(t, admin); len(l) > 0 {
				t.Errorf("connections still subscribed:\n%s", strings.Join(l, "\n"))
			}
		})
	}
}

func subscribedLines(t *testing.T, admin rueidis.Client) []string {
	t.Helper()
	s, err := admin.Do(context.Background(), admin.B().ClientList().Build()).ToString()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
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

// TestAttackApart2DoMultiMixed: DoMulti mixing UNSUBSCRIBE with other
// commands, through a part and through the registry's client.
func TestAttackApart2DoMultiMixed(t *testing.T) {
	for _, proto := range []string{"3", "2"} {
		t.Run("RESP"+proto, func(t *testing.T) {
			srv := redistest.Start(t)
			admin := srv.Client
			ctx := context.Background()
			a, _, rc := sharedSetup(t, srv, "REDIS_PROTOCOL="+proto)
			for _, c := range []rueidis.Client{a, rc} {
				ch, name := "ns:m", "m"
				if c == rc {
					name = "ns:m"
				}
				d, _ := recv2(t, c, c.B().Subscribe().Channel(name).Build())
				p, _ := recv2(t, c, c.B().Psubscribe().Pattern(name+"*").Build())
				testsupport.WaitFor(t, 5*time.Second, ch, func() bool { return numsub2(t, admin, ch) == 1 })
				rs := c.DoMulti(ctx,
					c.B().Set().Key("k").Value("v").Build(),
					c.B().Unsubscribe().Channel(name, "zz").Build(),
					c.B().Get().Key("k").Build(),
					c.B().Punsubscribe().Pattern(name+"*").Build(),
					c.B().Incr().Key("n").Build(),
				)
				for i, r := range rs {
					t.Logf("%d: %v %v", i, r.Error(), func() string { s, _ := r.ToString(); return s }())
				}
				// On both protocols: the UNSUBSCRIBEs are answered without
				// being sent (with RESP2 rueidis refused, before, a batch
				// mixing them with other commands, and sent nothing).
				want := "v"
				if v, err := rs[2].ToString(); err != nil || v != "v" {
					t.Errorf("GET in the batch: %q %v", v, err)
				}
				if _, err := rs[4].AsInt64(); err != nil {
					t.Errorf("INCR in the batch: %v", err)
				}
				for _, i := range []int{1, 3} {
					if err := rs[i].Error(); err != nil {
						t.Errorf("the batch's unsubscription %d: %v", i, err)
					}
				}
				for what, done := range map[string]<-chan error{"subscribe": d, "psubscribe": p} {
					if err := waitEnd(t, what, done); err != nil {
						t.Errorf("%s: %v", what, err)
					}
				}
				// The pipeline still pairs replies with commands.
				for i := 0; i < 20; i++ {
					if v, err := c.Do(ctx, c.B().Get().Key("k").Build()).ToString(); v != want || (want != "" && err != nil) {
						t.Fatalf("GET after the batch: %q %v", v, err)
					}
				}
				// A batch with a subscription sends nothing.
				rs = c.DoMulti(ctx, c.B().Set().Key("sent").Value("1").Build(), c.B().Subscribe().Channel(name).Build())
				if !errors.Is(rs[1].Error(), feature.ErrRefused) && !strings.Contains(rs[1].Error().Error(), "subscription") {
					t.Errorf("batch SUBSCRIBE: %v", rs[1].Error())
				}
				if n, _ := admin.Do(ctx, admin.B().Exists().Key("sent").Build()).AsInt64(); n != 0 {
					t.Errorf("a batch holding a subscription sent its SET")
				}
			}
			testsupport.WaitFor(t, 5*time.Second, "no subscriber", func() bool { return len(subscribedLines(t, admin)) == 0 })
		})
	}
}

// TestAttackApart2Dedicated: on a part's Dedicated connection a
// subscription is allowed (with SetPubSubHooks), and an UNSUBSCRIBE
// without names too; its UNSUBSCRIBE must not end the part's apart
// Receive of another name.
func TestAttackApart2Dedicated(t *testing.T) {
	for _, proto := range []string{"3", "2"} {
		t.Run("RESP"+proto, func(t *testing.T) {
			srv := redistest.Start(t)
			admin := srv.Client
			ctx := context.Background()
			a, _, _ := sharedSetup(t, srv, "REDIS_PROTOCOL="+proto)
			other, _ := recv2(t, a, a.B().Subscribe().Channel("apart").Build())
			testsupport.WaitFor(t, 5*time.Second, "apart", func() bool { return numsub2(t, admin, "ns:apart") == 1 })
			msgs := make(chan string, 10)
			err := a.Dedicated(func(d rueidis.DedicatedClient) error {
				wait := d.SetPubSubHooks(rueidis.PubSubHooks{OnMessage: func(m rueidis.PubSubMessage) { msgs <- m.Channel + " " + m.Message }})
				if err := d.Do(ctx, d.B().Subscribe().Channel("ded").Build()).Error(); err != nil {
					return err
				}
				testsupport.WaitFor(t, 5*time.Second, "ded", func() bool { return numsub2(t, admin, "ns:ded") == 1 })
				if err := admin.Do(ctx, admin.B().Publish().Channel("ns:ded").Message("hi").Build()).Error(); err != nil {
					return err
				}
				select {
				case m := <-msgs:
					t.Logf("dedicated got %q", m)
				case <-time.After(5 * time.Second):
					t.Errorf("no message on the dedicated connection")
				}
				t.Logf("dedicated UNSUBSCRIBE (no names): %v", d.Do(ctx, d.B().Unsubscribe().Build()).Error())
				testsupport.WaitFor(t, 5*time.Second, "ded gone", func() bool { return numsub2(t, admin, "ns:ded") == 0 })
				d.SetPubSubHooks(rueidis.PubSubHooks{})
				select {
				case err := <-wait:
					t.Logf("hooks ended: %v", err)
				case <-time.After(time.Second):
				}
				return nil
			})
			if err != nil {
				t.Errorf("Dedicated: %v", err)
			}
			if err, ok := ended2(other); ok {
				t.Errorf("the part's apart Receive of another name ended: %v", err)
			}
			if n := numsub2(t, admin, "ns:apart"); n != 1 {
				t.Errorf("NUMSUB ns:apart = %d, want 1", n)
			}
		})
	}
}
