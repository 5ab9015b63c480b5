package registry_test

// Second round of attacks on the Pub/Sub promises of the registry's own
// clients (and on promise 3, the process never ends because of what a
// caller sends or a real server writes). Judged by the server and by
// whether the process survives.

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/testsupport"
	"github.com/wireredis/wireredis/redistest"
	"github.com/wireredis/wireredis/registry"
)

// TestAttackApart2AdminMonitor: MONITOR is refused to parts with "send it
// with the administrative client (registry.Admin)". Sent there with Do,
// the server writes a line for every command of every client on the
// socket rueidis pipelines: replies to no command. BREAKS promise 3 (left
// failing): with Admin or Acquire, RESP3 or RESP2, default settings, the
// child ends with "panic: protocol bug, message handled out of order" in
// rueidis's (*pipe)._backgroundRead (the guard stops following a socket
// once MONITOR is written on it, and refuses nothing after).
func TestAttackApart2AdminMonitor(t *testing.T) {
	for _, client := range []string{"Admin", "Acquire"} {
		for _, proto := range []string{"3", "2"} {
			t.Run(client+"/RESP"+proto, func(t *testing.T) {
				out, crashed := isolated(t, func(t *testing.T) {
					srv := startServer(t, "")
					reg, _ := newRegistry(t)
					get := reg.Acquire
					if client == "Admin" {
						get = reg.Admin
					}
					c, release, err := get(context.Background(), load(t, "session", "REDIS_URL="+srv.URL(), "REDIS_PROTOCOL="+proto))
					if err != nil {
						t.Fatal(err)
					}
					defer release()
					ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
					defer cancel()
					// Refused, on the shared pipeline and on a Dedicated
					// connection: it ended the process.
					for _, cmd := range []rueidis.Completed{
						c.B().Monitor().Build(), c.B().Sync().Build(),
						c.B().Psync().Replicationid("?").Offset(-1).Build(), c.B().ClientReply().Off().Build(),
					} {
						name := strings.Join(cmd.Commands(), " ")
						if err := c.Do(ctx, cmd).Error(); !errors.Is(err, registry.ErrRefused) {
							t.Errorf("%s: %v, want ErrRefused", name, err)
						}
					}
					if err := c.Dedicated(func(d rueidis.DedicatedClient) error {
						return d.Do(ctx, d.B().Monitor().Build()).Error()
					}); !errors.Is(err, registry.ErrRefused) {
						t.Errorf("MONITOR on a Dedicated connection: %v, want ErrRefused", err)
					}
					for i := 0; i < 5; i++ {
						srv.Client.Do(context.Background(), srv.Client.B().Set().Key("k").Value("v").Build())
						if v, err := backgroundGet(c, "k", time.Second).ToString(); err != nil || v != "v" {
							t.Errorf("GET: %q, %v", v, err)
						}
					}
				})
				childVerdict(t, out, crashed)
			})
		}
	}
}

// TestAttackApart2UnsubscribeStopsGuardRedis6: an UNSUBSCRIBE sent with
// Do (allowed: it ends the client's Receives) is answered on the shared
// socket, and the guard stops following that socket for good. Redis 6.2
// then writes an invalidation inside an MGET inside an EXEC (the keys
// tracked by DoCache expire as MGET reads them), a level rueidis does not
// mend: the MGET reads short, its last element comes as a reply to no
// command.
func TestAttackApart2UnsubscribeStopsGuardRedis6(t *testing.T) {
	for _, unsub := range []bool{false, true} {
		name := "no-unsubscribe"
		if unsub {
			name = "unsubscribe-first"
		}
		t.Run(name, func(t *testing.T) {
			out, crashed := isolated(t, func(t *testing.T) {
				srv := startServer(t, "../../shared/servers/redis-6.2.16/redis-server")
				_, c := acquire(t, srv.URL(), oneSocket()...)
				ctx := context.Background()
				if unsub {
					t.Logf("UNSUBSCRIBE: %s", show(c.Do(ctx, c.B().Unsubscribe().Channel("nothing").Build())))
				}
				for round := 0; round < 5; round++ {
					keys := []string{"k1", "k2", "k3"}
					for _, k := range keys {
						if err := c.Do(ctx, c.B().Set().Key(k).Value("v").Px(30*time.Millisecond).Build()).Error(); err != nil {
							t.Logf("SET: %v", err)
						}
						t.Logf("DoCache GET %s: %s", k, show(c.DoCache(ctx, c.B().Get().Key(k).Cache(), time.Minute)))
					}
					waitOut(t, time.Now(), 60*time.Millisecond) // the keys' TTL of 30 ms, with room
					rs := c.DoMulti(ctx, c.B().Multi().Build(), c.B().Mget().Key(keys...).Build(), c.B().Exec().Build())
					t.Logf("EXEC: %s", show(rs[2]))
					for i := 0; i < 3; i++ {
						t.Logf("PING: %s", show(c.Do(ctx, c.B().Ping().Build())))
					}
				}
			})
			childVerdict(t, out, crashed)
		})
	}
}

// TestAttackApart2KilledDuringUnsubscribeRESP2: with RESP2, the
// Receive's connection killed (CLIENT KILL TYPE pubsub) as the
// UNSUBSCRIBE is sent: the Receive must end (nil) and never subscribe
// again.
func TestAttackApart2KilledDuringUnsubscribeRESP2(t *testing.T) {
	srv := startServer(t, "")
	admin := srv.Client
	_, c := acquire(t, srv.URL(), "REDIS_PROTOCOL=2")
	ctx := context.Background()
	for i := 0; i < 30; i++ {
		_, done, _ := receiving(t, c, admin, c.B().Subscribe().Channel("kill").Build(), "kill")
		go admin.Do(ctx, admin.B().ClientKill().TypePubsub().Build())
		if err := c.Do(ctx, c.B().Unsubscribe().Channel("kill").Build()).Error(); err != nil {
			t.Logf("UNSUBSCRIBE: %v", err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("round %d: Receive ended with %v, want nil", i, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("round %d: the Receive did not end", i)
		}
		testsupport.WaitFor(t, 5*time.Second, "no subscriber", func() bool { return subscribers(t, admin, "kill") == 0 })
	}
	if l := subscribedConns(t, admin); len(l) > 0 {
		t.Errorf("still subscribed:\n%s", strings.Join(l, "\n"))
	}
}

// TestAttackApart2ClusterManyReceives: many concurrent Receives of the
// registry's client on a cluster (channels and shard channels of many
// slots), ended by UNSUBSCRIBE and SUNSUBSCRIBE without names; every
// node's CLIENT LIST must then show no subscribed connection.
func TestAttackApart2ClusterManyReceives(t *testing.T) {
	cluster := redistest.StartCluster(t, 3, 0)
	reg, _ := newRegistry(t)
	c, release, err := reg.Acquire(context.Background(), load(t, "session", "REDIS_ADDRS="+strings.Join(cluster.Addrs, ",")))
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	var nodes []rueidis.Client
	for _, addr := range cluster.Addrs {
		n, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, ForceSingleClient: true, DisableCache: true})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		nodes = append(nodes, n)
	}
	count := func() (sub int) {
		for _, n := range nodes {
			sub += len(subscribedConns(t, n))
		}
		return sub
	}
	ctx := context.Background()
	const each = 20
	var dones []chan error
	for i := 0; i < each; i++ {
		for _, sub := range []rueidis.Completed{
			c.B().Subscribe().Channel("ch" + strconv.Itoa(i)).Build(),
			c.B().Ssubscribe().Channel("sh" + strconv.Itoa(i)).Build(),
			c.B().Psubscribe().Pattern("p" + strconv.Itoa(i) + "*").Build(),
		} {
			done := make(chan error, 1)
			dones = append(dones, done)
			go func() { done <- c.Receive(ctx, sub, func(rueidis.PubSubMessage) {}) }()
		}
	}
	testsupport.WaitFor(t, 20*time.Second, "every Receive subscribed", func() bool { return count() == 3*each })
	for _, un := range []rueidis.Completed{c.B().Unsubscribe().Build(), c.B().Sunsubscribe().Build(), c.B().Punsubscribe().Build()} {
		name := un.Commands()[0] // Do recycles un
		t.Logf("%s: %v", name, c.Do(ctx, un).Error())
	}
	for i, done := range dones {
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Receive %d: %v, want nil", i, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("Receive %d did not end", i)
		}
	}
	testsupport.WaitFor(t, 10*time.Second, "no subscribed connection on any node", func() bool { return count() == 0 })
}

var _ = errors.Is
var _ = registry.ErrRefused
