package feature_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/redis/rueidis/rueidiscompat"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/internal/rueidisx"
	"github.com/wireredis/wireredis/internal/testsupport"
	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/redistest"
	"github.com/wireredis/wireredis/registry"
)

// movedCount sums the MOVED errors the cluster's primaries have answered.
func movedCount(t *testing.T, c *redistest.Cluster) int {
	t.Helper()
	total := 0
	re := regexp.MustCompile(`errorstat_MOVED:count=(\d+)`)
	for _, addr := range c.Primaries() {
		if m := re.FindStringSubmatch(c.Info(t, addr, "errorstats")); m != nil {
			n, _ := strconv.Atoi(m[1])
			total += n
		}
	}
	return total
}

func clusterParts(t *testing.T, c *redistest.Cluster, environ ...string) (reg *registry.Registry, base provider.Options) {
	t.Helper()
	return parts(t, append([]string{"REDIS_ADDRS=" + strings.Join(c.Addrs[:2], ",")}, environ...)...)
}

// TestCluster runs its cases on one three-primary cluster with replicas:
// starting one takes seconds. Each case writes keys of its own.
func TestCluster(t *testing.T) {
	t.Parallel() // servers of its own and no globals: runs beside the other slow tests
	ctx := context.Background()
	c := redistest.StartCluster(t, 3, 1)
	reg, base := clusterParts(t, c)
	session, release, err := feature.ProvideSessionRedis(ctx, reg, base)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if session.Mode() != "cluster" {
		t.Fatalf("Mode = %s, want cluster", session.Mode())
	}
	// rueidisx.InitSlot copies rueidis's slot of a keyless cluster command.
	if ping := session.B().Ping().Build(); ping.Slot() != rueidisx.InitSlot {
		t.Errorf("a cluster PING's slot is %d, rueidisx.InitSlot %d", ping.Slot(), rueidisx.InitSlot)
	}
	tagged, releaseTagged, err := feature.Part{Namespace: "ratelimit", HashTag: true}.Open(ctx, reg, base)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseTagged()

	t.Run("every family through a hash-tag part", func(t *testing.T) {
		for _, st := range scenario(ctx, tagged, "") {
			if err := st.run(); err != nil {
				t.Errorf("{ratelimit} %s: %v", st.name, err)
			}
		}
	})
	t.Run("every family with user hash tags", func(t *testing.T) {
		for _, st := range scenario(ctx, session.Client, "{u1}") {
			if err := st.run(); err != nil {
				t.Errorf("session {u1} %s: %v", st.name, err)
			}
		}
	})
	t.Run("keys land in the slot of their prefixed name", func(t *testing.T) {
		// Asked of each primary itself.
		var primaries []rueidisClient
		for _, addr := range c.Primaries() {
			primaries = append(primaries, c.Node(t, addr))
		}
		for i := range 20 {
			k := fmt.Sprintf("slot:%d", i)
			must(t, session.Do(ctx, session.B().Set().Key(k).Value("v").Build()))
			slot, err := c.Client.Do(ctx, c.Client.B().ClusterKeyslot().Key("session:"+k).Build()).AsInt64()
			if err != nil {
				t.Fatal(err)
			}
			total := int64(0)
			for _, p := range primaries {
				n, _ := p.Do(ctx, p.B().ClusterCountkeysinslot().Slot(slot).Build()).AsInt64()
				total += n
			}
			if total < 1 {
				t.Errorf("slot %d of session:%s holds no key", slot, k)
			}
		}
	})
	t.Run("multi-key commands", func(t *testing.T) {
		// With user hash tags they work.
		must(t, session.Do(ctx, session.B().Mset().KeyValue().KeyValue("{u1}a", "1").KeyValue("{u1}b", "2").Build()))
		if got, _ := session.Do(ctx, session.B().Mget().Key("{u1}a", "{u1}b").Build()).AsStrSlice(); fmt.Sprint(got) != "[1 2]" {
			t.Errorf("MGET {u1}a {u1}b = %v", got)
		}
		// Without them: a clear error, no panic, nothing sent.
		err := session.Do(ctx, session.B().Arbitrary("MSET").Args("a", "1", "b", "2").Build()).Error()
		if !errors.Is(err, feature.ErrBadArguments) || !strings.Contains(err.Error(), "one cluster slot") {
			t.Errorf("MSET across slots: %v, want a CommandError about the slot", err)
		}
		if n, _ := c.Client.Do(ctx, c.Client.B().Exists().Key("session:a").Build()).AsInt64(); n != 0 {
			t.Errorf("the refused MSET wrote session:a")
		}
	})
	t.Run("batches spanning slots are refused", func(t *testing.T) {
		// rueidis sends a batch with a command without keys (MULTI, PING)
		// to the node of its keyed commands, and panics when these span
		// slots: a part refuses it instead.
		for _, batch := range []rueidis.Commands{
			{session.B().Multi().Build(), session.B().Set().Key("a").Value("1").Build(), session.B().Set().Key("b").Value("2").Build(), session.B().Exec().Build()},
			{session.B().Ping().Build(), session.B().Set().Key("a").Value("1").Build(), session.B().Set().Key("b").Value("2").Build()},
		} {
			res := session.DoMulti(ctx, batch...)
			if err := res[len(res)-1].Error(); !errors.Is(err, feature.ErrBadArguments) && !errors.Is(err, feature.ErrNotSent) {
				t.Errorf("a batch with %s and keys of two slots: %v, want a CommandError", batch[0].Commands()[0], res)
			}
		}
	})
	t.Run("hash-tag part: KEYS and SCAN go to its tag's node", func(t *testing.T) {
		// A hash-tag part's keys all live in its tag's slot: KEYS and
		// SCAN, which name no key, go to that slot's node, every time.
		var want []string
		for i := range 10 {
			k := fmt.Sprintf("scan:%d", i)
			must(t, tagged.Do(ctx, tagged.B().Set().Key(k).Value("v").Build()))
			want = append(want, k)
		}
		for range 5 {
			entry, err := tagged.Do(ctx, tagged.B().Scan().Cursor(0).Match("scan:*").Count(1000).Build()).AsScanEntry()
			if slices.Sort(entry.Elements); err != nil || !slices.Equal(entry.Elements, want) {
				t.Fatalf("hash-tag part, SCAN 0 MATCH scan:* through Do: %q %v, want %q", entry.Elements, err, want)
			}
			keys, err := tagged.Do(ctx, tagged.B().Keys().Pattern("scan:*").Build()).AsStrSlice()
			if slices.Sort(keys); err != nil || !slices.Equal(keys, want) {
				t.Fatalf("hash-tag part, KEYS scan:* through Do: %q %v, want %q", keys, err, want)
			}
		}
	})
	t.Run("hash-tag part: commands without keys", func(t *testing.T) {
		// Its builder is a single-node one (the part's keys all share a
		// slot); what it builds without keys must still be routable.
		if got, err := tagged.Do(ctx, tagged.B().Ping().Build()).ToString(); err != nil || got != "PONG" {
			t.Errorf("hash-tag part, PING: %q %v", got, err)
		}
		role, err := tagged.Do(ctx, tagged.B().Role().Build()).ToArray()
		if err != nil || len(role) != 1 {
			t.Fatalf("hash-tag part, ROLE: %v %v, want the role alone", role, err)
		}
		if r, _ := role[0].ToString(); r != "master" {
			t.Errorf("hash-tag part, ROLE = %q, want master", r)
		}
	})
	t.Run("hash-tag part: transactions", func(t *testing.T) {
		// In one batch, and on its dedicated connection, whose builder
		// (like the part's) does not check the slots of the unprefixed
		// keys.
		res := tagged.DoMulti(ctx, tagged.B().Multi().Build(), tagged.B().Set().Key("tx:a").Value("1").Build(), tagged.B().Incr().Key("tx:b").Build(), tagged.B().Exec().Build())
		if arr, err := res[3].ToArray(); err != nil || len(arr) != 2 {
			t.Errorf("hash-tag part, MULTI SET INCR EXEC on a cluster: %v %v", arr, err)
		}
		err := tagged.Dedicated(func(d rueidis.DedicatedClient) error {
			if err := d.Do(ctx, d.B().Watch().Key("tx:a", "tx:b").Build()).Error(); err != nil {
				return err
			}
			res := d.DoMulti(ctx, d.B().Multi().Build(), d.B().Set().Key("tx:a").Value("2").Build(), d.B().Exec().Build())
			return res[2].Error()
		})
		if err != nil {
			t.Errorf("hash-tag part, WATCH a b / MULTI / EXEC on a dedicated connection: %v", err)
		}
		err = rueidiscompat.NewAdapter(tagged).Watch(ctx, func(tx rueidiscompat.Tx) error {
			_, err := tx.TxPipelined(ctx, func(p rueidiscompat.Pipeliner) error {
				p.Set(ctx, "tx:a", "3", 0)
				return nil
			})
			return err
		}, "tx:a", "tx:b")
		if err != nil {
			t.Errorf("hash-tag part, rueidiscompat Watch of a and b: %v", err)
		}
		if got, _ := c.Client.Do(ctx, c.Client.B().Get().Key("{ratelimit}:tx:a").Build()).ToString(); got != "3" {
			t.Errorf("{ratelimit}:tx:a = %q, want 3", got)
		}
	})
	t.Run("hash-tag part: Pub/Sub on its tag's node", func(t *testing.T) {
		// Subscriptions, PUBLISH's count of receivers and PUBSUB's
		// introspection are one node's state on a cluster: a hash-tag
		// part sends them all to its tag's node, so that they agree, every
		// time (sent to any node, as rueidis sends commands without a key,
		// they agree by chance).
		compat := rueidiscompat.NewAdapter(tagged)
		for i := range 6 {
			ch := "ch" + strconv.Itoa(i)
			sub := compat.Subscribe(ctx, ch)
			if got, err := sub.ReceiveTimeout(ctx, 5*time.Second); err != nil {
				t.Fatalf("SUBSCRIBE %s: %#v %v", ch, got, err)
			}
			if n, err := compat.PubSubNumSub(ctx, ch).Result(); err != nil || n[ch] != 1 {
				t.Errorf("round %d: PUBSUB NUMSUB %s = %v %v, want 1", i, ch, n, err)
			}
			if chans, err := compat.PubSubChannels(ctx, "ch*").Result(); err != nil || !slices.Contains(chans, ch) {
				t.Errorf("round %d: PUBSUB CHANNELS ch* = %q %v, want %s among them", i, chans, err, ch)
			}
			if n, err := compat.Publish(ctx, ch, "hello").Result(); err != nil || n != 1 {
				t.Errorf("round %d: PUBLISH %s = %d %v, want 1 receiver", i, ch, n, err)
			}
			if err := sub.Close(); err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("a subscriber on a dedicated connection", func(t *testing.T) {
		// rueidiscompat's PubSub subscribes on a connection of its own
		// (Dedicate): its first command, SUBSCRIBE, has no key, so the
		// connection serves no slot; the part must send it all the same.
		compat := rueidiscompat.NewAdapter(session)
		sub := compat.Subscribe(ctx, "news")
		defer func() {
			if err := sub.Close(); err != nil {
				t.Errorf("closing the subscription: %v", err)
			}
		}()
		got, err := sub.ReceiveTimeout(ctx, 5*time.Second)
		if s, ok := got.(*rueidiscompat.Subscription); err != nil || !ok || s.Channel != "news" {
			t.Fatalf("SUBSCRIBE news through rueidiscompat: %#v %v, want its confirmation", got, err)
		}
		if err := compat.Publish(ctx, "news", "hello").Err(); err != nil {
			t.Fatal(err)
		}
		got, err = sub.ReceiveTimeout(ctx, 5*time.Second)
		if m, ok := got.(*rueidiscompat.Message); err != nil || !ok || m.Channel != "news" || m.Payload != "hello" {
			t.Errorf("the message published on news: %#v %v", got, err)
		}
		// A keyed command after is refused, not a rueidis panic.
		d, cancel := session.Dedicate()
		defer cancel()
		must(t, d.Do(ctx, d.B().Ping().Build()))
		if err := d.Do(ctx, d.B().Get().Key("k").Build()).Error(); !errors.Is(err, feature.ErrBadArguments) {
			t.Errorf("GET after PING on a dedicated connection: %v, want ErrBadArguments", err)
		}
	})
	t.Run("lazy part", func(t *testing.T) {
		// A lazy part holds the registry's deferred client, whose mode is
		// standalone until its first command dials: the part must ask
		// again rather than remember it. Sent first, commands of a
		// single-node builder then still get the slot of their prefixed
		// keys, and keys of two slots are refused before anything is sent.
		lazy, releaseLazy, err := feature.Open(ctx, reg, base, "lazy", func(o *provider.Options) {
			o.Startup, o.ClientName = provider.StartupLazy, "lazy" // a connection of its own
		})
		if err != nil {
			t.Fatal(err)
		}
		defer releaseLazy()
		single := rueidisx.SingleNodeBuilder()
		err = lazy.Do(ctx, single.Mset().KeyValue().KeyValue("a", "1").KeyValue("b", "2").Build()).Error()
		if !errors.Is(err, feature.ErrBadArguments) || !strings.Contains(err.Error(), "one cluster slot") {
			t.Errorf("lazy part, MSET across slots: %v, want a CommandError about the slot", err)
		}
		must(t, lazy.Do(ctx, single.Set().Key("k").Value("v").Build()))
		if got, _ := c.Client.Do(ctx, c.Client.B().Get().Key("lazy:k").Build()).ToString(); got != "v" {
			t.Errorf("lazy:k = %q, want v", got)
		}
		if lazy.Mode() != "cluster" {
			t.Errorf("lazy part: Mode = %s, want cluster", lazy.Mode())
		}
		// Scan, as the first call of a lazy part, visits every primary.
		for i := range 30 {
			must(t, lazy.Do(ctx, lazy.B().Set().Key(fmt.Sprintf("n%d", i)).Value("v").Build()))
		}
		scanLazy, releaseScanLazy, err := feature.Open(ctx, reg, base, "lazy", func(o *provider.Options) {
			o.Startup, o.ClientName = provider.StartupLazy, "scanlazy"
		})
		if err != nil {
			t.Fatal(err)
		}
		defer releaseScanLazy()
		found := 0
		for k, err := range scanLazy.Scan(ctx, feature.ScanOptions{}) {
			if err != nil {
				t.Fatal(err)
			}
			if k != "k" && !strings.HasPrefix(k, "n") {
				t.Errorf("lazy part's Scan yielded %q", k)
			}
			found++
		}
		if found != 31 {
			t.Errorf("lazy part's Scan, as its first call, found %d keys, want 31 (k, n0...n29, over every primary)", found)
		}
	})
	t.Run("lazy hash-tag part", func(t *testing.T) {
		// It learns it is on a cluster when B dials: its builder must
		// then not check the slots of unprefixed keys.
		lazyTagged, releaseLazyTagged, err := feature.Part{Namespace: "lazytag", HashTag: true, Overrides: []func(*provider.Options){func(o *provider.Options) {
			o.Startup, o.ClientName = provider.StartupLazy, "lazytag"
		}}}.Open(ctx, reg, base)
		if err != nil {
			t.Fatal(err)
		}
		defer releaseLazyTagged()
		must(t, lazyTagged.Do(ctx, lazyTagged.B().Mset().KeyValue().KeyValue("a", "1").KeyValue("b", "2").Build()))
		if got, _ := c.Client.Do(ctx, c.Client.B().Get().Key("{lazytag}:b").Build()).ToString(); got != "2" {
			t.Errorf("{lazytag}:b = %q, want 2", got)
		}
	})
	t.Run("steady state: no MOVED redirections", func(t *testing.T) {
		for i := range 20 {
			must(t, session.Do(ctx, session.B().Set().Key(fmt.Sprintf("steady:%d", i)).Value("v").Build()))
		}
		before := movedCount(t, c)
		for range 3 {
			for i := range 50 {
				must(t, session.Do(ctx, session.B().Get().Key(fmt.Sprintf("steady:%d", i%20)).Build()))
			}
			for _, st := range scenario(ctx, tagged, "") {
				_ = st.run()
			}
		}
		if after := movedCount(t, c); after != before {
			t.Errorf("%d MOVED redirections in steady state", after-before)
		}
	})
	t.Run("Scan visits every primary", func(t *testing.T) {
		for i := range 20 {
			must(t, session.Do(ctx, session.B().Set().Key(fmt.Sprintf("every:%d", i)).Value("v").Build()))
		}
		n := 0
		for k, err := range session.Scan(ctx, feature.ScanOptions{Match: "every:*"}) {
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(k, "every:") {
				t.Errorf("Scan yielded %q", k)
			}
			n++
		}
		if n != 20 {
			t.Errorf("Scan over the cluster found %d keys, want 20", n)
		}
	})
	t.Run("reads from replicas", func(t *testing.T) {
		// A registry of its own: REDIS_READ_FROM_REPLICAS changes the
		// connection.
		reg, base := clusterParts(t, c, "REDIS_READ_FROM_REPLICAS=true")
		session, release, err := feature.ProvideSessionRedis(ctx, reg, base)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		must(t, session.Do(ctx, session.B().Set().Key("profile").Value("v").Build()))
		replicaGets := func() int {
			total := 0
			re := regexp.MustCompile(`cmdstat_get:calls=(\d+)`)
			primaries := map[string]bool{}
			for _, p := range c.Primaries() {
				primaries[p] = true
			}
			for _, addr := range c.Addrs {
				if primaries[addr] {
					continue
				}
				if m := re.FindStringSubmatch(c.Info(t, addr, "commandstats")); m != nil {
					n, _ := strconv.Atoi(m[1])
					total += n
				}
			}
			return total
		}
		// The replica may lag behind the SET for a moment.
		testsupport.WaitFor(t, 5*time.Second, "the replica to have session:profile", func() bool {
			v, err := session.Do(ctx, session.B().Get().Key("profile").Build()).ToString()
			return err == nil && v == "v"
		})
		before := replicaGets()
		for range 20 {
			_ = session.Do(ctx, session.B().Get().Key("profile").Build()).Error()
		}
		if got := replicaGets() - before; got < 20 {
			t.Errorf("replicas served %d of 20 namespaced GETs", got)
		}
	})
}

// TestClusterFailover kills a primary under a steady write load: its
// replica takes over, the same client goes on, and every write
// acknowledged after recovery is readable.
func TestClusterFailover(t *testing.T) {
	t.Parallel() // servers of its own and no globals: runs beside the other slow tests
	ctx := context.Background()
	c := redistest.StartCluster(t, 3, 1)
	reg, base := clusterParts(t, c)
	session, release, err := feature.ProvideSessionRedis(ctx, reg, base)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	var acked sync.Map // key → when it was acknowledged
	var okCount atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := fmt.Sprintf("w%d:%d", w, i)
				opCtx, cancel := context.WithTimeout(ctx, time.Second)
				err := session.Do(opCtx, session.B().Set().Key(k).Value("v").Build()).Error()
				cancel()
				if err == nil {
					acked.Store(k, time.Now())
					okCount.Add(1)
				} else {
					time.Sleep(10 * time.Millisecond) // a writer backs off during the failover, as a service would
				}
			}
		}()
	}
	testsupport.WaitFor(t, 10*time.Second, "the writers to get going", func() bool { return okCount.Load() >= 100 })
	victim := c.Primaries()[0]
	start := time.Now()
	c.Kill(victim)
	c.WaitOK()
	recoveredAt := time.Now()
	recovered := recoveredAt.Sub(start)
	base2 := okCount.Load()
	testsupport.WaitFor(t, 20*time.Second, "500 writes after the failover", func() bool { return okCount.Load() >= base2+500 })
	close(stop)
	wg.Wait()
	t.Logf("primary %s killed; cluster ok again after %s; %d writes acknowledged", victim, recovered.Round(time.Millisecond), okCount.Load())
	// Writes the killed primary acknowledged just before it died may not
	// have reached its replica: Redis replication is asynchronous. Every
	// write acknowledged after the recovery must be readable.
	lostBefore, after, lostAfter := 0, 0, 0
	acked.Range(func(k, at any) bool {
		v, err := session.Do(ctx, session.B().Get().Key(k.(string)).Build()).ToString()
		readable := err == nil && v == "v"
		if at.(time.Time).After(recoveredAt) {
			after++
			if !readable {
				lostAfter++
			}
		} else if !readable {
			lostBefore++
		}
		return true
	})
	if after == 0 || lostAfter > 0 {
		t.Errorf("%d of %d writes acknowledged after the recovery are unreadable", lostAfter, after)
	}
	t.Logf("%d writes acknowledged after the recovery, all readable; %d acknowledged before the kill were lost with the primary (asynchronous replication)", after, lostBefore)
}

type rueidisClient = rueidis.Client
