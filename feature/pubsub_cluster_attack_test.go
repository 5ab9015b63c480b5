package feature_test

// Attacks on a hash-tag part's Pub/Sub on a cluster: every entry point,
// judged by the nodes themselves (PUBSUB NUMSUB, CLIENT LIST on each node),
// never by the part's own answers alone.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/redis/rueidis/rueidiscompat"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/internal/testsupport"
	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/redistest"
	"github.com/wireredis/wireredis/registry"
)

// psCluster is a cluster under attack, with a client per node.
type psCluster struct {
	t     *testing.T
	c     *redistest.Cluster
	nodes map[string]rueidis.Client
	dead  map[string]bool

	reg  *registry.Registry
	base provider.Options
	// tagged is the hash-tag part under attack, prefix its prefix, and
	// tagNode the primary of its tag's slot when the cluster started.
	tagged  *feature.Client
	prefix  string
	tagNode string
}

// startPSCluster starts a cluster with keyspace notifications on, and
// opens the hash-tag part psTag on it.
func startPSCluster(t *testing.T, replicasPerMaster int) *psCluster {
	t.Helper()
	c := redistest.StartCluster(t, 3, replicasPerMaster)
	p := &psCluster{t: t, c: c, nodes: map[string]rueidis.Client{}, dead: map[string]bool{}}
	for _, addr := range c.Addrs {
		p.nodes[addr] = c.Node(t, addr)
		p.do(addr, "CONFIG", "SET", "notify-keyspace-events", "KEA")
	}
	p.reg, p.base = clusterParts(t, c)
	tagged, release, err := feature.Part{Namespace: psTag, HashTag: true}.Open(context.Background(), p.reg, p.base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	p.tagged, p.prefix = tagged, "{"+psTag+"}:"
	p.tagNode = p.owner(p.slot(p.prefix))
	return p
}

func (p *psCluster) do(addr string, args ...string) rueidis.RedisMessage {
	p.t.Helper()
	n := p.nodes[addr]
	m, err := n.Do(context.Background(), n.B().Arbitrary(args...).Build()).ToMessage()
	if err != nil {
		p.t.Fatalf("%s on %s: %v", strings.Join(args, " "), addr, err)
	}
	return m
}

func (p *psCluster) live() []string {
	var out []string
	for _, addr := range p.c.Addrs {
		if !p.dead[addr] {
			out = append(out, addr)
		}
	}
	return out
}

// owner returns the primary that serves slot, as the cluster says now.
func (p *psCluster) owner(slot int64) string {
	p.t.Helper()
	for _, addr := range p.live() {
		m := p.do(addr, "CLUSTER", "SLOTS")
		slots, err := m.ToArray()
		if err != nil {
			continue
		}
		for _, s := range slots {
			e, _ := s.ToArray()
			from, _ := e[0].AsInt64()
			to, _ := e[1].AsInt64()
			if slot < from || slot > to {
				continue
			}
			node, _ := e[2].ToArray()
			host, _ := node[0].ToString()
			port, _ := node[1].AsInt64()
			return fmt.Sprintf("%s:%d", host, port)
		}
	}
	p.t.Fatalf("no node serves slot %d", slot)
	return ""
}

func (p *psCluster) slot(key string) int64 {
	p.t.Helper()
	m := p.do(p.live()[0], "CLUSTER", "KEYSLOT", key)
	n, err := m.AsInt64()
	if err != nil {
		p.t.Fatal(err)
	}
	return n
}

// numsub returns each live node's count of subscribers of channel (as
// stored, prefix included), or of shard subscribers with shard.
func (p *psCluster) numsub(channel string, shard bool) map[string]int64 {
	p.t.Helper()
	sub := "NUMSUB"
	if shard {
		sub = "SHARDNUMSUB"
	}
	out := map[string]int64{}
	for _, addr := range p.live() {
		reply := p.do(addr, "PUBSUB", sub, channel)
		m, err := reply.AsIntMap()
		if err != nil {
			p.t.Fatal(err)
		}
		out[addr] = m[channel]
	}
	return out
}

// only reports whether counts has want on addr and 0 elsewhere.
func only(counts map[string]int64, addr string, want int64) bool {
	for a, n := range counts {
		if (a == addr && n != want) || (a != addr && n != 0) {
			return false
		}
	}
	return true
}

var psubField = regexp.MustCompile(`\bpsub=(\d+)`)

// patternSubscribers counts, on each live node, the connections that hold
// a pattern subscription (CLIENT LIST psub=).
func (p *psCluster) patternSubscribers() map[string]int64 {
	p.t.Helper()
	out := map[string]int64{}
	for _, addr := range p.live() {
		reply := p.do(addr, "CLIENT", "LIST")
		list, _ := reply.ToString()
		for _, line := range strings.Split(list, "\n") {
			if m := psubField.FindStringSubmatch(line); m != nil && m[1] != "0" {
				out[addr]++
			}
		}
	}
	return out
}

// psReceive runs Receive through c in the background.
type psReceive struct {
	msgs   chan rueidis.PubSubMessage
	cancel context.CancelFunc
	done   chan error
}

func startReceive(c interface {
	Receive(context.Context, rueidis.Completed, func(rueidis.PubSubMessage)) error
}, sub rueidis.Completed) *psReceive {
	ctx, cancel := context.WithCancel(context.Background())
	r := &psReceive{msgs: make(chan rueidis.PubSubMessage, 256), cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- c.Receive(ctx, sub, func(m rueidis.PubSubMessage) { r.msgs <- m }) }()
	return r
}

// stop ends the Receive by its context and returns what it returned.
func (r *psReceive) stop() error {
	r.cancel()
	err := <-r.done
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// next waits for the next message.
func (r *psReceive) next(t *testing.T, what string) rueidis.PubSubMessage {
	t.Helper()
	select {
	case m := <-r.msgs:
		return m
	case err := <-r.done:
		t.Fatalf("%s: Receive returned %v before a message came", what, err)
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: no message within 5s", what)
	}
	return rueidis.PubSubMessage{}
}

func intOf(t *testing.T, r rueidis.RedisResult, what string) int64 {
	t.Helper()
	n, err := r.AsInt64()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return n
}

func numsubOf(t *testing.T, c rueidis.CoreClient, b rueidis.Builder, channel string) int64 {
	t.Helper()
	m, err := c.Do(context.Background(), b.PubsubNumsub().Channel(channel).Build()).AsIntMap()
	if err != nil {
		t.Fatalf("PUBSUB NUMSUB %s: %v", channel, err)
	}
	return m[channel]
}

const psTag = "psx"

// TestPubSubClusterAttack: a hash-tag part's Pub/Sub on a three-primary
// cluster with replicas, through every entry point, judged by the nodes.
// The last case kills the tag's primary.
func TestPubSubClusterAttack(t *testing.T) {
	t.Parallel() // servers of its own and no globals: runs beside the other slow tests
	a := startPSAttack(t)
	for _, st := range []struct {
		name string
		run  func(*testing.T, *psAttack)
	}{
		{"Receive on the shared connection: SUBSCRIBE, PUBLISH, PUBSUB, UNSUBSCRIBE", attackSharedSubscribe},
		{"Receive on the shared connection: PSUBSCRIBE", attackSharedPsubscribe},
		{"keyspace notifications of its own keys, and none of others", attackKeyspaceNotifications},
		{"shared connection: UNSUBSCRIBE and PUNSUBSCRIBE without names are refused", attackBareUnsubscribe},
		{"Dedicated: hooks, SUBSCRIBE, other commands, UNSUBSCRIBE without names", attackDedicated},
		{"Dedicate: Receive on a dedicated client, released by cancel", attackDedicate},
		{"rueidiscompat Subscribe, PSubscribe, SSubscribe", attackCompat},
		{"DoMulti mixing PUBLISH, PUBSUB and keyed commands", attackDoMultiMixed},
		{"MULTI/EXEC with PUBLISH on a dedicated connection", attackDedicatedTransaction},
		{"ROLE and PUBSUB go where the subscriptions are", attackRoleAndPubsub},
		{"failover of the tag's primary", attackFailover},
	} {
		t.Run(st.name, func(t *testing.T) { st.run(t, a) })
	}
}

// psAttack is TestPubSubClusterAttack's fixture, which its cases share in
// turn: the cluster with its session and hash-tag parts, and a plain part
// "psplain".
type psAttack struct {
	*psCluster
	ctx   context.Context
	plain *feature.Client
}

func startPSAttack(t *testing.T) *psAttack {
	ctx := context.Background()
	p := startPSCluster(t, 1)
	plain, releasePlain, err := feature.Open(ctx, p.reg, p.base, "psplain")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(releasePlain)
	return &psAttack{psCluster: p, ctx: ctx, plain: plain}
}

// attackSharedSubscribe: Receive on the shared connection: SUBSCRIBE, PUBLISH, PUBSUB, UNSUBSCRIBE.
func attackSharedSubscribe(t *testing.T, a *psAttack) {
	ctx, p, tagged, prefix, tagNode := a.ctx, a.psCluster, a.tagged, a.prefix, a.tagNode
	for i := range 6 {
		ch := "shared" + strconv.Itoa(i)
		r := startReceive(tagged, tagged.B().Subscribe().Channel(ch).Build())
		testsupport.WaitFor(t, 5*time.Second, "the subscription on the tag's primary alone", func() bool {
			return only(p.numsub(prefix+ch, false), tagNode, 1)
		})
		for range 5 {
			if n := numsubOf(t, tagged, tagged.B(), ch); n != 1 {
				t.Errorf("round %d: PUBSUB NUMSUB %s through the part = %d, want 1", i, ch, n)
			}
			if chans, err := tagged.Do(ctx, tagged.B().PubsubChannels().Pattern("shared*").Build()).AsStrSlice(); err != nil || !slices.Contains(chans, ch) {
				t.Errorf("round %d: PUBSUB CHANNELS shared* = %q %v, want %s among them", i, chans, err, ch)
			}
			if n := intOf(t, tagged.Do(ctx, tagged.B().Publish().Channel(ch).Message("m").Build()), "PUBLISH"); n != 1 {
				t.Errorf("round %d: PUBLISH %s = %d receivers, want 1", i, ch, n)
			}
			if m := r.next(t, "PUBLISH "+ch); m.Channel != ch || m.Message != "m" || m.Pattern != "" {
				t.Errorf("round %d: message %+v, want channel %s", i, m, ch)
			}
		}
		// UNSUBSCRIBE by name through Do ends it on the server, and
		// the Receive.
		must(t, tagged.Do(ctx, tagged.B().Unsubscribe().Channel(ch).Build()))
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("Receive after UNSUBSCRIBE %s: %v", ch, err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Receive did not return after UNSUBSCRIBE %s through the part", ch)
			_ = r.stop()
		}
		if counts := p.numsub(prefix+ch, false); !only(counts, tagNode, 0) {
			t.Errorf("after UNSUBSCRIBE %s: subscribers by node %v", ch, counts)
		}
	}
}

// attackSharedPsubscribe: Receive on the shared connection: PSUBSCRIBE.
func attackSharedPsubscribe(t *testing.T, a *psAttack) {
	ctx, p, c, tagged, plain, tagNode := a.ctx, a.psCluster, a.c, a.tagged, a.plain, a.tagNode
	before := p.patternSubscribers()
	r := startReceive(tagged, tagged.B().Psubscribe().Pattern("pat.*").Build())
	testsupport.WaitFor(t, 5*time.Second, "one more pattern subscriber, on the tag's primary", func() bool {
		now := p.patternSubscribers()
		for _, addr := range p.live() {
			want := before[addr]
			if addr == tagNode {
				want++
			}
			if now[addr] != want {
				return false
			}
		}
		return true
	})
	if n := intOf(t, tagged.Do(ctx, tagged.B().Publish().Channel("pat.1").Message("x").Build()), "PUBLISH pat.1"); n != 1 {
		t.Errorf("PUBLISH pat.1 = %d receivers, want 1 (the pattern's)", n)
	}
	if m := r.next(t, "PUBLISH pat.1"); m.Pattern != "pat.*" || m.Channel != "pat.1" || m.Message != "x" {
		t.Errorf("message %+v, want pattern pat.* channel pat.1", m)
	}
	// Another namespace's channel that the raw pattern would match.
	must(t, plain.Do(ctx, plain.B().Publish().Channel("pat.2").Message("leak").Build()))
	must(t, c.Client.Do(ctx, c.Client.B().Publish().Channel("pat.3").Message("leak").Build()))
	must(t, tagged.Do(ctx, tagged.B().Publish().Channel("pat.4").Message("y").Build()))
	if m := r.next(t, "PUBLISH pat.4"); m.Channel != "pat.4" {
		t.Errorf("after other namespaces' pat.2/pat.3, the next message is %+v, want pat.4", m)
	}
	must(t, tagged.Do(ctx, tagged.B().Punsubscribe().Pattern("pat.*").Build()))
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Receive after PUNSUBSCRIBE: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("Receive did not return after PUNSUBSCRIBE through the part")
		_ = r.stop()
	}
	if now := p.patternSubscribers(); fmt.Sprint(now) != fmt.Sprint(before) {
		t.Errorf("pattern subscribers by node after PUNSUBSCRIBE: %v, want %v", now, before)
	}
}

// attackKeyspaceNotifications: keyspace notifications of its own keys, and none of others.
func attackKeyspaceNotifications(t *testing.T, a *psAttack) {
	ctx, p, c, tagged, plain, prefix, tagNode := a.ctx, a.psCluster, a.c, a.tagged, a.plain, a.prefix, a.tagNode
	space := startReceive(tagged, tagged.B().Subscribe().Channel("__keyspace@0__:ks1").Build())
	defer func() { _ = space.stop() }()
	event := startReceive(tagged, tagged.B().Subscribe().Channel("__keyevent@0__:set").Build())
	defer func() { _ = event.stop() }()
	pattern := startReceive(tagged, tagged.B().Psubscribe().Pattern("__keyspace@*__:ks*").Build())
	defer func() { _ = pattern.stop() }()
	testsupport.WaitFor(t, 5*time.Second, "the keyspace subscriptions on the tag's primary", func() bool {
		return only(p.numsub("__keyspace@0__:"+prefix+"ks1", false), tagNode, 1) &&
			only(p.numsub("__keyevent@0__:set", false), tagNode, 1)
	})
	// Keys of another part, and raw keys, on the tag's node itself.
	var others []string
	for i := 0; len(others) < 5 && i < 10000; i++ {
		k := "ks" + strconv.Itoa(i)
		if p.owner(p.slot("psplain:"+k)) == tagNode {
			others = append(others, k)
		}
	}
	if len(others) == 0 {
		t.Fatal("no psplain key on the tag's node")
	}
	for _, k := range others {
		must(t, plain.Do(ctx, plain.B().Set().Key(k).Value("v").Build()))
	}
	// A raw key that looks like the tag without its colon.
	must(t, c.Client.Do(ctx, c.Client.B().Set().Key("{"+psTag+"}ks1").Value("v").Build()))
	must(t, tagged.Do(ctx, tagged.B().Set().Key("ks1").Value("v").Build()))
	if m := space.next(t, "keyspace ks1"); m.Channel != "__keyspace@0__:ks1" || m.Message != "set" {
		t.Errorf("keyspace message %+v, want __keyspace@0__:ks1 set", m)
	}
	if m := event.next(t, "keyevent set"); m.Channel != "__keyevent@0__:set" || m.Message != "ks1" {
		t.Errorf("first keyevent message %+v, want __keyevent@0__:set ks1 (others' keys %q were set first on the same node)", m, others)
	}
	if m := pattern.next(t, "keyspace pattern"); m.Channel != "__keyspace@0__:ks1" || m.Pattern != "__keyspace@*__:ks*" {
		t.Errorf("keyspace pattern message %+v, want channel __keyspace@0__:ks1 pattern __keyspace@*__:ks*", m)
	}
	// Unsubscribing the keyevent channel on the shared connection is
	// refused, as documented.
	err := tagged.Do(ctx, tagged.B().Unsubscribe().Channel("__keyevent@0__:set").Build()).Error()
	var ce *feature.CommandError
	if !errors.As(err, &ce) || !errors.Is(err, feature.ErrBadArguments) {
		t.Errorf("UNSUBSCRIBE __keyevent@0__:set on the shared connection: %v, want a *CommandError", err)
	}
}

// attackBareUnsubscribe: shared connection: UNSUBSCRIBE and PUNSUBSCRIBE without names are refused.
func attackBareUnsubscribe(t *testing.T, a *psAttack) {
	ctx, tagged := a.ctx, a.tagged
	for _, cmd := range []rueidis.Completed{tagged.B().Unsubscribe().Build(), tagged.B().Punsubscribe().Build(), tagged.B().Sunsubscribe().Build()} {
		name := cmd.Commands()[0]
		err := tagged.Do(ctx, cmd).Error()
		var ce *feature.CommandError
		if !errors.As(err, &ce) {
			t.Errorf("%s without names on the shared connection: %v, want a *CommandError", name, err)
		}
	}
	// Receive takes the SUBSCRIBE family only.
	err := tagged.Receive(ctx, tagged.B().Publish().Channel("x").Message("y").Build(), func(rueidis.PubSubMessage) {})
	var ce *feature.CommandError
	if !errors.As(err, &ce) {
		t.Errorf("Receive(PUBLISH): %v, want a *CommandError", err)
	}
}

// attackDedicated: Dedicated: hooks, SUBSCRIBE, other commands, UNSUBSCRIBE without names.
func attackDedicated(t *testing.T, a *psAttack) {
	ctx, p, tagged, prefix, tagNode := a.ctx, a.psCluster, a.tagged, a.prefix, a.tagNode
	var mu sync.Mutex
	var subs []rueidis.PubSubSubscription
	msgs := make(chan rueidis.PubSubMessage, 16)
	err := tagged.Dedicated(func(d rueidis.DedicatedClient) error {
		wait := d.SetPubSubHooks(rueidis.PubSubHooks{
			OnMessage: func(m rueidis.PubSubMessage) { msgs <- m },
			OnSubscription: func(s rueidis.PubSubSubscription) {
				mu.Lock()
				subs = append(subs, s)
				mu.Unlock()
			},
		})
		if err := d.Do(ctx, d.B().Subscribe().Channel("d1", "d2").Build()).Error(); err != nil {
			return fmt.Errorf("SUBSCRIBE d1 d2: %w", err)
		}
		if counts := p.numsub(prefix+"d1", false); !only(counts, tagNode, 1) {
			t.Errorf("after SUBSCRIBE d1 on a dedicated connection: subscribers by node %v, want 1 on the tag's primary %s", counts, tagNode)
		}
		// Other commands on the same (subscribed) connection are refused:
		// Redis 7.0 may write a message inside their replies, which ends
		// the process in rueidis (TestFaultSubscribedConnectionReads).
		for _, cmd := range []rueidis.Completed{d.B().Set().Key("dk").Value("v").Build(), d.B().PubsubNumsub().Channel("d1").Build(), d.B().Publish().Channel("d2").Message("hi").Build()} {
			if err := d.Do(ctx, cmd).Error(); !errors.Is(err, feature.ErrRefused) {
				t.Errorf("%s on the subscribed dedicated connection: %v, want ErrRefused", cmd.Commands()[0], err)
			}
		}
		if n := numsubOf(t, tagged, tagged.B(), "d1"); n != 1 {
			t.Errorf("PUBSUB NUMSUB d1 through the part = %d, want 1", n)
		}
		if n := intOf(t, tagged.Do(ctx, tagged.B().Publish().Channel("d2").Message("hi").Build()), "PUBLISH d2 through the part"); n != 1 {
			t.Errorf("PUBLISH d2 through the part = %d, want 1", n)
		}
		select {
		case m := <-msgs:
			if m.Channel != "d2" || m.Message != "hi" {
				t.Errorf("hook message %+v, want d2 hi", m)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("no message on the hook within 5s")
		}
		if err := d.Do(ctx, d.B().Unsubscribe().Build()).Error(); err != nil {
			return fmt.Errorf("UNSUBSCRIBE without names on a dedicated connection: %w", err)
		}
		for _, ch := range []string{"d1", "d2"} {
			if counts := p.numsub(prefix+ch, false); !only(counts, tagNode, 0) {
				t.Errorf("after UNSUBSCRIBE without names: %s subscribers by node %v", ch, counts)
			}
		}
		d.Close()
		select {
		case err := <-wait:
			// nil once the UNSUBSCRIBE above ended every subscription,
			// rueidis's closing error if Close came first.
			if err != nil && !errors.Is(err, rueidis.ErrClosing) {
				t.Errorf("the hooks' channel gave %v after Close, want nil or rueidis.ErrClosing", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("the hooks' channel did not end after Close")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	var kinds []string
	for _, s := range subs {
		kinds = append(kinds, s.Kind+" "+s.Channel)
	}
	slices.Sort(kinds)
	if want := []string{"subscribe d1", "subscribe d2", "unsubscribe d1", "unsubscribe d2"}; !slices.Equal(kinds, want) {
		t.Errorf("subscription hooks saw %q, want %q", kinds, want)
	}
}

// attackDedicate: Dedicate: Receive on a dedicated client, released by cancel.
func attackDedicate(t *testing.T, a *psAttack) {
	ctx, p, tagged, prefix, tagNode := a.ctx, a.psCluster, a.tagged, a.prefix, a.tagNode
	// One Receive at a time: the part's dedicated client is for one
	// goroutine at a time (TestPubSubDedicatedConcurrentReceiveRace
	// shows what two do).
	d, cancel := tagged.Dedicate()
	r := startReceive(d, d.B().Psubscribe().Pattern("dr.*").Build())
	testsupport.WaitFor(t, 5*time.Second, "dr.* subscribed on the tag's primary", func() bool {
		return intOf(t, tagged.Do(ctx, tagged.B().Publish().Channel("dr.x").Message("1").Build()), "PUBLISH dr.x") == 1
	})
	if m := r.next(t, "dr.x"); m.Channel != "dr.x" || m.Pattern != "dr.*" {
		t.Errorf("pattern message %+v", m)
	}
	if err := r.stop(); err != nil {
		t.Errorf("Receive dr.* on a dedicated client: %v", err)
	}
	s := startReceive(d, d.B().Subscribe().Channel("dr").Build())
	testsupport.WaitFor(t, 5*time.Second, "dr subscribed on the tag's primary", func() bool {
		return only(p.numsub(prefix+"dr", false), tagNode, 1)
	})
	// PUBLISH through the part (another connection) reaches it, and
	// the pattern subscription, whose Receive ended, still holds on
	// the server: both count.
	if n := intOf(t, tagged.Do(ctx, tagged.B().Publish().Channel("dr").Message("2").Build()), "PUBLISH dr"); n != 1 {
		t.Errorf("PUBLISH dr = %d, want 1", n)
	}
	if m := s.next(t, "dr"); m.Channel != "dr" || m.Message != "2" {
		t.Errorf("channel message %+v", m)
	}
	if err := s.stop(); err != nil {
		t.Errorf("Receive dr on a dedicated client: %v", err)
	}
	cancel()
	// rueidis cleans the subscriptions when it takes the connection back.
	testsupport.WaitFor(t, 5*time.Second, "no subscriber of dr left", func() bool {
		return only(p.numsub(prefix+"dr", false), tagNode, 0)
	})
}

// attackCompat: rueidiscompat Subscribe, PSubscribe, SSubscribe.
func attackCompat(t *testing.T, a *psAttack) {
	ctx, p, tagged, prefix, tagNode := a.ctx, a.psCluster, a.tagged, a.prefix, a.tagNode
	compat := rueidiscompat.NewAdapter(tagged)
	before := p.patternSubscribers()
	kinds := []string{"subscribe", "psubscribe"}
	if redistest.ServerVersion(t).AtLeast(7, 0) {
		kinds = append(kinds, "ssubscribe")
	} else {
		t.Run("ssubscribe", func(t *testing.T) { redistest.RequireBinary(t, redistest.ShardedPubSub.Name, nil) })
	}
	for _, kind := range kinds {
		ch := "compat." + kind
		var sub rueidiscompat.PubSub
		switch kind {
		case "subscribe":
			sub = compat.Subscribe(ctx, ch)
		case "psubscribe":
			sub = compat.PSubscribe(ctx, "compat.p*")
		case "ssubscribe":
			sub = compat.SSubscribe(ctx, ch)
		}
		if got, err := sub.ReceiveTimeout(ctx, 5*time.Second); err != nil {
			t.Fatalf("%s: %#v %v", kind, got, err)
		}
		switch kind {
		case "subscribe":
			if counts := p.numsub(prefix+ch, false); !only(counts, tagNode, 1) {
				t.Errorf("rueidiscompat Subscribe: subscribers by node %v, want 1 on %s", counts, tagNode)
			}
			if n, err := compat.PubSubNumSub(ctx, ch).Result(); err != nil || n[ch] != 1 {
				t.Errorf("PubSubNumSub %s = %v %v", ch, n, err)
			}
		case "psubscribe":
			now := p.patternSubscribers()
			if now[tagNode] != before[tagNode]+1 {
				t.Errorf("rueidiscompat PSubscribe: pattern subscribers by node %v (before %v), want one more on %s", now, before, tagNode)
			}
		case "ssubscribe":
			if counts := p.numsub(prefix+ch, true); !only(counts, tagNode, 1) {
				t.Errorf("rueidiscompat SSubscribe: shard subscribers by node %v, want 1 on %s", counts, tagNode)
			}
			if n, err := compat.PubSubShardNumSub(ctx, ch).Result(); err != nil || n[ch] != 1 {
				t.Errorf("PubSubShardNumSub %s = %v %v", ch, n, err)
			}
			if chans, err := compat.PubSubShardChannels(ctx, "compat.*").Result(); err != nil || !slices.Equal(chans, []string{ch}) {
				t.Errorf("PubSubShardChannels compat.* = %q %v, want [%s]", chans, err, ch)
			}
		}
		var n int64
		var err error
		if kind == "ssubscribe" {
			n, err = compat.SPublish(ctx, ch, "hello").Result()
		} else {
			n, err = compat.Publish(ctx, ch, "hello").Result()
		}
		if err != nil || n != 1 {
			t.Errorf("%s: publish %s = %d %v, want 1", kind, ch, n, err)
		}
		got, err := sub.ReceiveTimeout(ctx, 5*time.Second)
		if m, ok := got.(*rueidiscompat.Message); err != nil || !ok || m.Channel != ch || m.Payload != "hello" {
			t.Errorf("%s: message %#v %v", kind, got, err)
		}
		if err := sub.Close(); err != nil {
			t.Fatal(err)
		}
		testsupport.WaitFor(t, 5*time.Second, kind+" ended on the server", func() bool {
			switch kind {
			case "psubscribe":
				return p.patternSubscribers()[tagNode] == before[tagNode]
			case "ssubscribe":
				return only(p.numsub(prefix+ch, true), tagNode, 0)
			}
			return only(p.numsub(prefix+ch, false), tagNode, 0)
		})
	}
}

// attackDoMultiMixed: DoMulti mixing PUBLISH, PUBSUB and keyed commands.
func attackDoMultiMixed(t *testing.T, a *psAttack) {
	ctx, p, c, tagged, plain, prefix, tagNode := a.ctx, a.psCluster, a.c, a.tagged, a.plain, a.prefix, a.tagNode
	r := startReceive(tagged, tagged.B().Subscribe().Channel("mix").Build())
	defer func() { _ = r.stop() }()
	testsupport.WaitFor(t, 5*time.Second, "mix subscribed", func() bool { return only(p.numsub(prefix+"mix", false), tagNode, 1) })
	for i := range 5 {
		res := tagged.DoMulti(ctx,
			tagged.B().Set().Key("mixk"+strconv.Itoa(i)).Value("v").Build(),
			tagged.B().Publish().Channel("mix").Message(strconv.Itoa(i)).Build(),
			tagged.B().PubsubNumsub().Channel("mix").Build(),
			tagged.B().Incr().Key("mixn").Build(),
		)
		for j, rr := range res {
			if err := rr.Error(); err != nil {
				t.Fatalf("round %d command %d: %v", i, j, err)
			}
		}
		if n, _ := res[1].AsInt64(); n != 1 {
			t.Errorf("round %d: PUBLISH in a batch = %d receivers, want 1", i, n)
		}
		if m, _ := res[2].AsIntMap(); m["mix"] != 1 {
			t.Errorf("round %d: PUBSUB NUMSUB in a batch = %v, want mix:1", i, m)
		}
		if m := r.next(t, "batched PUBLISH"); m.Channel != "mix" || m.Message != strconv.Itoa(i) {
			t.Errorf("round %d: message %+v", i, m)
		}
	}
	// A plain part's PUBLISH with keys of two slots: refused, no panic,
	// nothing written.
	res := plain.DoMulti(ctx,
		plain.B().Publish().Channel("mix").Message("x").Build(),
		plain.B().Set().Key("a").Value("1").Build(),
		plain.B().Set().Key("b").Value("2").Build(),
	)
	var ce *feature.CommandError
	if err := res[len(res)-1].Error(); !errors.As(err, &ce) && !errors.Is(err, feature.ErrNotSent) {
		t.Errorf("plain part, PUBLISH with SETs of two slots: %v, want a CommandError", err)
	}
	for _, k := range []string{"psplain:a", "psplain:b"} {
		if n, _ := c.Client.Do(ctx, c.Client.B().Exists().Key(k).Build()).AsInt64(); n != 0 {
			t.Errorf("the refused batch wrote %s", k)
		}
	}
}

// attackDedicatedTransaction: MULTI/EXEC with PUBLISH on a dedicated connection.
func attackDedicatedTransaction(t *testing.T, a *psAttack) {
	ctx, p, tagged, plain, prefix, tagNode := a.ctx, a.psCluster, a.tagged, a.plain, a.prefix, a.tagNode
	r := startReceive(tagged, tagged.B().Subscribe().Channel("txch").Build())
	defer func() { _ = r.stop() }()
	testsupport.WaitFor(t, 5*time.Second, "txch subscribed", func() bool { return only(p.numsub(prefix+"txch", false), tagNode, 1) })
	err := tagged.Dedicated(func(d rueidis.DedicatedClient) error {
		res := d.DoMulti(ctx,
			d.B().Multi().Build(),
			d.B().Set().Key("txk").Value("v").Build(),
			d.B().Publish().Channel("txch").Message("in-tx").Build(),
			d.B().Exec().Build(),
		)
		arr, err := res[3].ToArray()
		if err != nil {
			return err
		}
		if n, _ := arr[1].AsInt64(); len(arr) != 2 || n != 1 {
			t.Errorf("EXEC = %v, want [OK 1]", arr)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if m := r.next(t, "PUBLISH in MULTI"); m.Channel != "txch" || m.Message != "in-tx" {
		t.Errorf("message %+v", m)
	}
	// MULTI PUBLISH EXEC in one batch on the shared connection, to a
	// channel the part receives on that connection, crashes the
	// process: TestPubSubClusterAttackSharedTransactionCrash.
	// A plain part: no panic; a keyed command after a keyless first
	// one is refused.
	err = plain.Dedicated(func(d rueidis.DedicatedClient) error {
		res := d.DoMulti(ctx, d.B().Multi().Build(), d.B().Publish().Channel("txch").Message("p").Build(), d.B().Set().Key("k").Value("v").Build(), d.B().Exec().Build())
		var ce *feature.CommandError
		if err := res[2].Error(); !errors.As(err, &ce) {
			t.Errorf("plain part, MULTI PUBLISH SET EXEC on a dedicated connection: %v, want a CommandError on SET", res)
		}
		res = d.DoMulti(ctx, d.B().Multi().Build(), d.B().Publish().Channel("txch").Message("p").Build(), d.B().Exec().Build())
		return res[2].Error()
	})
	if err != nil {
		t.Errorf("plain part, MULTI PUBLISH EXEC on a dedicated connection: %v", err)
	}
}

// attackRoleAndPubsub: ROLE and PUBSUB go where the subscriptions are.
func attackRoleAndPubsub(t *testing.T, a *psAttack) {
	ctx, tagged := a.ctx, a.tagged
	for range 10 {
		role, err := tagged.Do(ctx, tagged.B().Role().Build()).ToArray()
		if err != nil || len(role) != 1 {
			t.Fatalf("ROLE: %v %v", role, err)
		}
		if r, _ := role[0].ToString(); r != "master" {
			t.Errorf("ROLE = %q, want master", r)
		}
	}
}

// attackFailover: failover of the tag's primary.
func attackFailover(t *testing.T, a *psAttack) {
	ctx, p, c, tagged, prefix, tagNode := a.ctx, a.psCluster, a.c, a.tagged, a.prefix, a.tagNode
	r := startReceive(tagged, tagged.B().Subscribe().Channel("fo").Build())
	defer func() { _ = r.stop() }()
	space := startReceive(tagged, tagged.B().Subscribe().Channel("__keyspace@0__:fok").Build())
	defer func() { _ = space.stop() }()
	compat := rueidiscompat.NewAdapter(tagged)
	csub := compat.Subscribe(ctx, "fo")
	defer func() { _ = csub.Close() }()
	if _, err := csub.ReceiveTimeout(ctx, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	testsupport.WaitFor(t, 5*time.Second, "fo subscribed twice on the tag's primary", func() bool {
		return only(p.numsub(prefix+"fo", false), tagNode, 2)
	})
	old := tagNode
	c.Kill(old)
	p.dead[old] = true
	c.WaitOK()
	var newNode string
	testsupport.WaitFor(t, 30*time.Second, "a new primary for the tag's slot", func() bool {
		newNode = p.owner(p.slot(prefix))
		return newNode != old
	})
	// The part's Receive and rueidiscompat's subscriber resubscribe on
	// the new primary.
	testsupport.WaitFor(t, 30*time.Second, "both subscribers on the new primary", func() bool {
		return only(p.numsub(prefix+"fo", false), newNode, 2)
	})
	testsupport.WaitFor(t, 30*time.Second, "the part's PUBSUB NUMSUB fo to say 2", func() bool {
		m, err := tagged.Do(ctx, tagged.B().PubsubNumsub().Channel("fo").Build()).AsIntMap()
		return err == nil && m["fo"] == 2
	})
	if n := intOf(t, tagged.Do(ctx, tagged.B().Publish().Channel("fo").Message("after").Build()), "PUBLISH after failover"); n != 2 {
		t.Errorf("PUBLISH fo after failover = %d receivers, want 2", n)
	}
	if m := r.next(t, "PUBLISH after failover"); m.Channel != "fo" || m.Message != "after" {
		t.Errorf("message after failover %+v", m)
	}
	for {
		got, err := csub.ReceiveTimeout(ctx, 5*time.Second)
		if err != nil {
			t.Fatalf("rueidiscompat subscriber after failover: %v", err)
		}
		if m, ok := got.(*rueidiscompat.Message); ok {
			if m.Channel != "fo" || m.Payload != "after" {
				t.Errorf("rueidiscompat message after failover %#v", m)
			}
			break
		}
	}
	// Each Receive resubscribes on its own schedule: events before
	// then are lost, as with any client.
	testsupport.WaitFor(t, 30*time.Second, "the keyspace subscription on the new primary", func() bool {
		return only(p.numsub("__keyspace@0__:"+prefix+"fok", false), newNode, 1)
	})
	must(t, tagged.Do(ctx, tagged.B().Set().Key("fok").Value("v").Build()))
	if m := space.next(t, "keyspace event after failover"); m.Channel != "__keyspace@0__:fok" || m.Message != "set" {
		t.Errorf("keyspace message after failover %+v", m)
	}
	if role, _ := tagged.Do(ctx, tagged.B().Role().Build()).ToArray(); len(role) != 1 {
		t.Errorf("ROLE after failover: %v", role)
	} else if s, _ := role[0].ToString(); s != "master" {
		t.Errorf("ROLE after failover = %q, want master", s)
	}
}

// crashChild names the scenario a child process of
// TestPubSubClusterAttackSharedTransactionCrash runs.
const crashChild = "WIREREDIS_PSATK_CHILD"

// TestPubSubClusterAttackSharedTransactionCrash: a transaction in one
// batch on the shared connection whose PUBLISH, or whose write's keyspace
// event, reaches a Receive on the same pipelined connection. Redis 7.0
// writes the push message inside the EXEC reply; rueidis v1.0.79 then
// panics in its reader goroutine ("protocol bug, message handled out of
// order"), which no caller can recover: the process died, on a cluster
// and on one server alike (a keyevent channel is every part's, so another
// part's transaction was enough). A part now sends a transaction on a
// pooled connection of its own (apartFromSubscriptions). Each scenario
// runs in a child process, so that a crash fails this test alone.
func TestPubSubClusterAttackSharedTransactionCrash(t *testing.T) {
	t.Parallel() // servers of its own and no globals: runs beside the other slow tests
	if scenario := os.Getenv(crashChild); scenario != "" {
		sharedTransactionScenario(t, scenario)
		return
	}
	for _, scenario := range []string{"own channel", "another part's transaction and the keyevent channel", "one server"} {
		t.Run(scenario, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestPubSubClusterAttackSharedTransactionCrash$", "-test.count=1")
			cmd.Env = append(os.Environ(), crashChild+"="+scenario)
			out, err := cmd.CombinedOutput()
			if err != nil {
				text := string(out)
				if i := strings.Index(text, "panic:"); i >= 0 {
					text = text[i:min(len(text), i+600)]
				} else {
					text = text[max(0, len(text)-1500):]
				}
				t.Errorf("%s: the process ended with %v:\n%s", scenario, err, text)
			}
		})
	}
}

func sharedTransactionScenario(t *testing.T, scenario string) {
	ctx := context.Background()
	if scenario == "one server" {
		oneServerTransactions(t)
		return
	}
	p := startPSCluster(t, 0)
	reg, base, tagged := p.reg, p.base, p.tagged
	prefix, tagNode := p.prefix, p.tagNode
	switch scenario {
	case "own channel":
		r := startReceive(tagged, tagged.B().Subscribe().Channel("txch").Build())
		defer func() { _ = r.stop() }()
		testsupport.WaitFor(t, 5*time.Second, "txch subscribed", func() bool { return only(p.numsub(prefix+"txch", false), tagNode, 1) })
		for i := range 20 {
			res := tagged.DoMulti(ctx, tagged.B().Multi().Build(), tagged.B().Publish().Channel("txch").Message(strconv.Itoa(i)).Build(), tagged.B().Exec().Build())
			if arr, err := res[2].ToArray(); err != nil || len(arr) != 1 {
				t.Fatalf("MULTI PUBLISH EXEC: %v %v", arr, err)
			}
			if m := r.next(t, "PUBLISH in MULTI"); m.Message != strconv.Itoa(i) {
				t.Errorf("message %+v", m)
			}
		}
	default:
		session, releaseSession, err := feature.ProvideSessionRedis(ctx, reg, base)
		if err != nil {
			t.Fatal(err)
		}
		defer releaseSession()
		event := startReceive(tagged, tagged.B().Subscribe().Channel("__keyevent@0__:set").Build())
		defer func() { _ = event.stop() }()
		testsupport.WaitFor(t, 5*time.Second, "the keyevent subscription", func() bool {
			return only(p.numsub("__keyevent@0__:set", false), tagNode, 1)
		})
		key := ""
		for i := 0; key == ""; i++ {
			if k := "{u" + strconv.Itoa(i) + "}k"; p.owner(p.slot("session:"+k)) == tagNode {
				key = k
			}
		}
		for range 20 {
			res := session.DoMulti(ctx, session.B().Multi().Build(), session.B().Set().Key(key).Value("v").Build(), session.B().Exec().Build())
			if err := res[2].Error(); err != nil {
				t.Fatalf("session MULTI SET EXEC: %v", err)
			}
		}
		// The tagged part's own write, to end on an event it must see.
		must(t, tagged.Do(ctx, tagged.B().Set().Key("last").Value("v").Build()))
		if m := event.next(t, "keyevent"); m.Message != "last" {
			t.Errorf("keyevent message %+v, want last (the session's keys are not the part's)", m)
		}
	}
}

// oneServerTransactions: on one server, the session part listens to its
// own channel and to the keyevent channel on the shared connection while
// it and the cache part send transactions that publish and write.
func oneServerTransactions(t *testing.T) {
	ctx := context.Background()
	session, cache := sessionAndCache(t, redistest.Start(t, "--notify-keyspace-events", "KEA"))
	own := startReceive(session, session.B().Subscribe().Channel("txch").Build())
	defer func() { _ = own.stop() }()
	event := startReceive(session, session.B().Subscribe().Channel("__keyevent@0__:set").Build())
	defer func() { _ = event.stop() }()
	testsupport.WaitFor(t, 5*time.Second, "both subscriptions", func() bool {
		n, err := session.Do(ctx, session.B().PubsubNumsub().Channel("txch").Build()).AsIntMap()
		return err == nil && n["txch"] == 1
	})
	for i := range 20 {
		res := session.DoMulti(ctx, session.B().Multi().Build(), session.B().Publish().Channel("txch").Message(strconv.Itoa(i)).Build(), session.B().Exec().Build())
		if err := res[2].Error(); err != nil {
			t.Fatalf("MULTI PUBLISH EXEC: %v", err)
		}
		if m := own.next(t, "PUBLISH in MULTI"); m.Message != strconv.Itoa(i) {
			t.Errorf("message %+v, want %d", m, i)
		}
		res = cache.DoMulti(ctx, cache.B().Multi().Build(), cache.B().Set().Key("k").Value("v").Build(), cache.B().Exec().Build())
		if err := res[2].Error(); err != nil {
			t.Fatalf("the cache part's MULTI SET EXEC: %v", err)
		}
	}
	must(t, session.Do(ctx, session.B().Set().Key("last").Value("v").Build()))
	if m := event.next(t, "keyevent"); m.Message != "last" {
		t.Errorf("keyevent message %+v, want last (the cache part's keys are not the session's)", m)
	}
}

// TestPubSubClusterAttackDedicatedConcurrentReceive: two Receives on one
// dedicated client, as rueidis's own dedicated client allows (its cluster
// client takes a mutex, its wire is safe for concurrent use); the part's
// dedicated client guards its state (transaction, slot) with a mutex. It
// failed under -race before.
func TestPubSubClusterAttackDedicatedConcurrentReceive(t *testing.T) {
	t.Parallel() // servers of its own and no globals: runs beside the other slow tests
	ctx := context.Background()
	p := startPSCluster(t, 0)
	tagged := p.tagged
	prefix, tagNode := p.prefix, p.tagNode
	d, cancel := tagged.Dedicate()
	defer cancel()
	a := startReceive(d, d.B().Subscribe().Channel("ca").Build())
	b := startReceive(d, d.B().Subscribe().Channel("cb").Build())
	testsupport.WaitFor(t, 5*time.Second, "ca and cb subscribed on the tag's primary", func() bool {
		return only(p.numsub(prefix+"ca", false), tagNode, 1) && only(p.numsub(prefix+"cb", false), tagNode, 1)
	})
	must(t, tagged.Do(ctx, tagged.B().Publish().Channel("ca").Message("1").Build()))
	must(t, tagged.Do(ctx, tagged.B().Publish().Channel("cb").Message("2").Build()))
	if m := a.next(t, "ca"); m.Channel != "ca" {
		t.Errorf("ca: %+v", m)
	}
	if m := b.next(t, "cb"); m.Channel != "cb" {
		t.Errorf("cb: %+v", m)
	}
	for _, r := range []*psReceive{a, b} {
		if err := r.stop(); err != nil {
			t.Error(err)
		}
	}
}

// migrateSlot moves slot, with its keys, from one primary to another, as
// redis-cli --cluster reshard does.
func (p *psCluster) migrateSlot(slot int64, from, to string) {
	p.t.Helper()
	idOf := func(addr string) string {
		m := p.do(addr, "CLUSTER", "MYID")
		id, _ := m.ToString()
		return id
	}
	s := strconv.FormatInt(slot, 10)
	fromID, toID := idOf(from), idOf(to)
	p.do(to, "CLUSTER", "SETSLOT", s, "IMPORTING", fromID)
	p.do(from, "CLUSTER", "SETSLOT", s, "MIGRATING", toID)
	host, port, _ := strings.Cut(to, ":")
	for {
		m := p.do(from, "CLUSTER", "GETKEYSINSLOT", s, "100")
		keys, _ := m.AsStrSlice()
		if len(keys) == 0 {
			break
		}
		p.do(from, append([]string{"MIGRATE", host, port, "", "0", "5000", "KEYS"}, keys...)...)
	}
	p.do(to, "CLUSTER", "SETSLOT", s, "NODE", toID)
	p.do(from, "CLUSTER", "SETSLOT", s, "NODE", toID)
	for _, addr := range p.live() {
		if addr != from && addr != to {
			p.do(addr, "CLUSTER", "SETSLOT", s, "NODE", toID)
		}
	}
}

// TestPubSubClusterAttackSlotMigration: the tag's slot moves to another
// primary (a reshard) while the part receives. A subscription stays on the
// node where it was made (rueidis's Receive goes on, since the connection
// is alive, and Redis 7.0 ends only shard subscriptions on a migration),
// while the part's PUBLISH, PUBSUB and the keyspace events of its keys
// follow the slot. What holds: messages still arrive (a PUBLISH reaches
// every node's subscribers). What does not, as docs/namespacing.md says:
// PUBSUB's counts and the keyspace events until the part subscribes
// again; after it does, they agree again on the new primary.
func TestPubSubClusterAttackSlotMigration(t *testing.T) {
	t.Parallel() // servers of its own and no globals: runs beside the other slow tests
	ctx := context.Background()
	p := startPSCluster(t, 0)
	c, tagged := p.c, p.tagged
	prefix := p.prefix
	slot := p.slot(prefix)
	from := p.owner(slot)
	r := startReceive(tagged, tagged.B().Subscribe().Channel("mig").Build())
	defer func() { _ = r.stop() }()
	space := startReceive(tagged, tagged.B().Subscribe().Channel("__keyspace@0__:migk").Build())
	defer func() { _ = space.stop() }()
	testsupport.WaitFor(t, 5*time.Second, "the subscriptions on the tag's primary", func() bool {
		return only(p.numsub(prefix+"mig", false), from, 1) && only(p.numsub("__keyspace@0__:"+prefix+"migk", false), from, 1)
	})
	must(t, tagged.Do(ctx, tagged.B().Set().Key("migk").Value("before").Build()))
	if m := space.next(t, "keyspace event before the migration"); m.Channel != "__keyspace@0__:migk" {
		t.Fatalf("keyspace message %+v", m)
	}

	var to string
	for _, addr := range c.Primaries() {
		if addr != from {
			to = addr
			break
		}
	}
	p.migrateSlot(slot, from, to)
	c.WaitOK()
	// The part's keyed commands follow the slot: a MOVED, then rueidis
	// refreshes its map and sends them to the new primary directly.
	moved := regexp.MustCompile(`errorstat_MOVED:count=(\d+)`)
	movedOnFrom := func() string { return fmt.Sprint(moved.FindStringSubmatch(c.Info(t, from, "errorstats"))) }
	testsupport.WaitFor(t, 10*time.Second, "the part to read migk from the new primary without a MOVED", func() bool {
		before := movedOnFrom()
		v, err := tagged.Do(ctx, tagged.B().Get().Key("migk").Build()).ToString()
		return err == nil && v == "before" && movedOnFrom() == before
	})
	t.Logf("slot %d moved from %s to %s; subscribers of %smig by node: %v", slot, from, to, prefix, p.numsub(prefix+"mig", false))

	// Messages still arrive, from any node.
	must(t, tagged.Do(ctx, tagged.B().Publish().Channel("mig").Message("after").Build()))
	if m := r.next(t, "PUBLISH after the migration"); m.Message != "after" {
		t.Errorf("message %+v", m)
	}
	// The subscriptions made again meet the slot on its new primary.
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	if err := space.stop(); err != nil {
		t.Fatal(err)
	}
	r = startReceive(tagged, tagged.B().Subscribe().Channel("mig").Build())
	space = startReceive(tagged, tagged.B().Subscribe().Channel("__keyspace@0__:migk").Build())
	// (The old ones stay on the old node's connection: rueidis ends a
	// Receive without UNSUBSCRIBE, and the part's UNSUBSCRIBE would now go
	// to the new primary.)
	if !testsupport.Eventually(5*time.Second, func() bool {
		return p.numsub(prefix+"mig", false)[to] == 1 && p.numsub("__keyspace@0__:"+prefix+"migk", false)[to] == 1
	}) {
		t.Fatalf("the subscriptions made again are not on the new primary %s: %v, %v", to, p.numsub(prefix+"mig", false), p.numsub("__keyspace@0__:"+prefix+"migk", false))
	}
	if n := numsubOf(t, tagged, tagged.B(), "mig"); n != 1 {
		t.Errorf("after subscribing again, PUBSUB NUMSUB mig through the part = %d, want 1", n)
	}
	if n := intOf(t, tagged.Do(ctx, tagged.B().Publish().Channel("mig").Message("again").Build()), "PUBLISH after subscribing again"); n != 1 {
		t.Errorf("after subscribing again, PUBLISH mig counts %d receivers, want 1", n)
	}
	if m := r.next(t, "PUBLISH after subscribing again"); m.Message != "again" {
		t.Errorf("message %+v", m)
	}
	must(t, tagged.Do(ctx, tagged.B().Set().Key("migk").Value("after").Build()))
	if m := space.next(t, "keyspace event after subscribing again"); m.Channel != "__keyspace@0__:migk" || m.Message != "set" {
		t.Errorf("keyspace message %+v, want set on __keyspace@0__:migk", m)
	}
}
