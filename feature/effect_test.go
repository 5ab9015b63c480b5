package feature_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"os"
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
	"github.com/wireredis/wireredis/redistest"
	"github.com/wireredis/wireredis/registry"
)

// The effect oracle judges isolation by what a command does on the server,
// not by what the key specs (or this package's table) say it should do.
// Around the part under attack it plants:
//
//   - victims: keys of every type outside the namespace, holding secret
//     values, and a few in another database;
//   - tenants' traces that a part must not read: a client with a secret
//     name, an ACL user, a function library, a loaded script, commands with
//     secret values in the slow log, thousands of pattern subscriptions;
//   - listeners that must hear nothing: a subscriber of a channel outside
//     the namespace and a client blocked on a list outside it;
//   - a second server, for MIGRATE.
//
// Then it sends the corpus (every command of the server, argument lists
// from COMMAND DOCS with optional and repeated tokens, a mutation of each,
// and the known attacks) through the part, over each entry point. After
// each group of commands it probes the server: a watcher subscribed to
// every keyspace notification (notify-keyspace-events KEA) reports events
// on keys outside the namespace; a snapshot (configuration, replication
// role, ACL users and log, functions, scripts, every database's keys, each
// victim's DUMP, the slow log's length, the command counters, the
// listeners, the second server's keys) must not change; another part on
// the same shared connection must still get its own replies. A reply
// carrying a secret, a panic, or a server that stops answering are
// escapes too. A group with an escape is run again one command at a time
// on a fresh server, to name the command.

// effectTrace prints the oracle's progress to stderr
// (EFFECT_TRACE=1 go test -run TestEffectOracle ./feature).
var effectTrace = os.Getenv("EFFECT_TRACE") != ""

// victimTypes are the key types planted outside the namespace, by the
// name the corpus gives keys of that COMMAND DOCS group.
var victimTypes = []string{"str", "bits", "hll", "list", "set", "zset", "geo", "hash", "stream"}

func keyForGroup(group string) string {
	switch group {
	case "bitmap":
		return "bits"
	case "hyperloglog":
		return "hll"
	case "list":
		return "list"
	case "set":
		return "set"
	case "sorted-set":
		return "zset"
	case "geo":
		return "geo"
	case "hash":
		return "hash"
	case "stream":
		return "stream"
	}
	return "str"
}

// corpusValues name what the effect oracle's argument lists hold.
var corpusValues = values{keyOf: keyForGroup, str: "str", channel: "chan"}

// numpatVictims is how many pattern subscriptions the victim holds: a
// reply that counts them (PUBSUB NUMPAT) reveals another tenant.
const numpatVictims = 7777

// effectNode is one server of the world: its own probe connection and
// keyspace watcher.
type effectNode struct {
	addr    string
	probe   *respConn
	watcher *watcher
	marker  string // a key this node holds, for the watcher's markers
}

// effectWorld is the server (or cluster) under attack.
type effectWorld struct {
	t       *testing.T
	cluster bool
	srv     *redistest.Server // standalone: restarted after an escape
	plain   rueidis.Client    // unnamespaced, for planting
	other   *redistest.Server // MIGRATE's target: must stay empty
	nodes   []*effectNode

	tag      string // in every secret of the run
	secrets  []string
	user     string // a victim ACL user
	lib      string // a victim function library
	client   string // a victim client's name
	sha      string // a victim script
	blockKey string // what the victim client blocks on

	listeners []*respConn
	muHeard   sync.Mutex
	heard     []string // what the listeners heard: must stay empty

	part   *feature.Client // the attacker
	bystop *feature.Client // another part on the same connection
	prefix string
	seq    int
	base   *snapshot // taken after planting; its counters after each probe
}

// newEffectWorld plants everything on the server(s) the parts reach.
func newEffectWorld(t *testing.T, srv *redistest.Server, cluster *redistest.Cluster, part, bystander *feature.Client) *effectWorld {
	t.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	w := &effectWorld{
		t: t, srv: srv, part: part, bystop: bystander,
		tag:    "S3CR3T" + hex.EncodeToString(b),
		prefix: part.Key(""),
		other:  redistest.Start(t),
	}
	w.user, w.lib, w.client = w.tag+"user", w.tag+"lib", w.tag+"client"
	w.blockKey = "block"
	if cluster != nil {
		w.cluster, w.plain = true, cluster.Client
		for _, addr := range cluster.Primaries() {
			w.nodes = append(w.nodes, &effectNode{addr: addr})
		}
	} else {
		w.plain = srv.Client
		w.nodes = []*effectNode{{addr: srv.Addr}}
	}
	w.plant()
	t.Cleanup(w.closeConns)
	return w
}

// secret returns a fresh secret value and remembers it.
func (w *effectWorld) secret(what string) string {
	s := w.tag + what
	w.secrets = append(w.secrets, s)
	return s
}

// plant writes the victims and traces, starts the listeners and watchers
// and takes the snapshot the probes compare with.
func (w *effectWorld) plant() {
	t, ctx := w.t, context.Background()
	// After a restart, the plain clients' first command may meet the
	// connection the old server closed.
	testsupport.WaitFor(t, 10*time.Second, "the server", func() bool {
		return w.plain.Do(ctx, w.plain.B().Ping().Build()).Error() == nil
	})
	w.secrets = w.secrets[:0]
	for _, n := range w.nodes {
		for _, cfg := range [][]string{
			{"CONFIG", "SET", "notify-keyspace-events", "KEA"},
			{"CONFIG", "SET", "slowlog-log-slower-than", "0"},
			{"CONFIG", "SET", "slowlog-max-len", "1000000"},
		} {
			c := w.nodeClient(n)
			if err := c.Do(ctx, c.B().Arbitrary(cfg...).Build()).Error(); err != nil {
				t.Fatalf("%s %q: %v", n.addr, cfg, err)
			}
		}
	}
	// Victims outside the namespace, under the names the corpus gives
	// keys. The namespace gets keys of the same names (reseed), whose
	// members name the victims: a pattern substituted without the prefix
	// (SORT ... GET *) reads a victim.
	// After a restart, a connection of the plain client's that PING did
	// not use may still be the old one: seed until every command lands.
	secrets := len(w.secrets)
	testsupport.WaitFor(t, 10*time.Second, "planting the victims", func() bool {
		w.secrets = w.secrets[:secrets]
		return w.seed(ctx, "", w.secret) == nil
	})
	// A key whose very name is secret: a reply that lists keys outside
	// the namespace (SCAN, KEYS) reveals it.
	if err := w.plain.Do(ctx, w.plain.B().Set().Key(w.secret("keyname")).Value("v").Build()).Error(); err != nil {
		t.Fatalf("planting a secret key name: %v", err)
	}
	if !w.cluster {
		c := w.srv.NewClient(t, func(o *rueidis.ClientOption) { o.SelectDB = 9 })
		for i := range 3 {
			if err := c.Do(ctx, c.B().Set().Key(fmt.Sprintf("db9-%d", i)).Value(w.secret("db9")).Build()).Error(); err != nil {
				t.Fatal(err)
			}
		}
		// INFO keyspace and MEMORY STATS name the databases in use.
		w.secrets = append(w.secrets, "db9:", "db.9")
	}
	n0 := w.nodes[0]
	n0client := w.nodeClient(n0)
	mustDo := func(args ...string) rueidis.RedisMessage {
		m, err := n0client.Do(ctx, n0client.B().Arbitrary(args...).Build()).ToMessage()
		if err != nil {
			t.Fatalf("planting %q: %v", args, err)
		}
		return m
	}
	for _, n := range w.nodes {
		c := w.nodeClient(n)
		for _, args := range [][]string{
			{"ACL", "SETUSER", w.user, "on", ">" + w.tag + "pw", "~*", "&*", "+@all"},
			{"FUNCTION", "LOAD", "REPLACE", "#!lua name=" + w.lib + "\nredis.register_function('" + w.tag + "fn', function() return '" + w.secret("fnbody") + "' end)"},
		} {
			if err := c.Do(ctx, c.B().Arbitrary(args...).Build()).Error(); err != nil {
				t.Fatalf("planting %q: %v", args[:2], err)
			}
		}
		// A failed AUTH leaves the user's name in the ACL log.
		_ = c.Do(ctx, c.B().Auth().Username(w.user).Password("wrong").Build()).Error()
	}
	w.secrets = append(w.secrets, w.user, w.lib, w.client)
	sha := mustDo("SCRIPT", "LOAD", "return '"+w.secret("script")+"'")
	w.sha, _ = sha.ToString()

	// The listeners: a subscriber with a secret name and thousands of
	// patterns, and a client blocked on a list; both must hear nothing.
	w.listen(n0.addr, func(rc *respConn) error {
		rc.deadline(time.Now().Add(10 * time.Second))
		defer rc.deadline(time.Time{})
		if _, err := rc.do("CLIENT", "SETNAME", w.client); err != nil {
			return err
		}
		patterns := []string{"PSUBSCRIBE"}
		for i := range numpatVictims {
			patterns = append(patterns, fmt.Sprintf("%spat%d*", w.tag, i))
		}
		if err := rc.send(patterns...); err != nil {
			return err
		}
		for range numpatVictims {
			if _, err := rc.read(); err != nil {
				return err
			}
		}
		_, err := rc.do("SUBSCRIBE", "chan")
		return err
	})
	w.listen(w.nodeOf(w.blockKey).addr, func(rc *respConn) error {
		return rc.send("BLPOP", w.blockKey, "0")
	})
	for _, n := range w.nodes {
		n.watcher = startWatcher(t, n.addr)
		var err error
		if n.probe, err = dialRESP(n.addr); err != nil {
			t.Fatal(err)
		}
		n.marker = w.keyOn(n, "marker")
	}
	// The listeners must be in place before the snapshot: wait until the
	// server counts them.
	testsupport.WaitFor(t, 10*time.Second, "the victim listeners", func() bool {
		reply, err := w.nodes[0].probe.do("PUBSUB", "NUMPAT")
		if err != nil {
			t.Fatal(err)
		}
		return reply == int64(numpatVictims+1)
	})
	testsupport.WaitFor(t, 10*time.Second, "the blocked victim", func() bool {
		reply, err := w.nodeOf(w.blockKey).probe.do("INFO", "clients")
		if err != nil {
			t.Fatal(err)
		}
		s, _ := reply.(string)
		return strings.Contains(s, "blocked_clients:1")
	})
	w.base = w.snapshot()
	w.ready()
}

// ready waits until both parts answer (after a restart, their
// connections are made again).
func (w *effectWorld) ready() {
	testsupport.WaitFor(w.t, 10*time.Second, "the parts to answer", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return w.part.Do(ctx, w.part.B().Ping().Build()).Error() == nil &&
			w.bystop.Do(ctx, w.bystop.B().Set().Key("probe").Value("0").Build()).Error() == nil
	})
}

// listen opens a listener connection; whatever it hears after setup is
// recorded.
func (w *effectWorld) listen(addr string, setup func(*respConn) error) {
	rc, err := dialRESP(addr)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := setup(rc); err != nil {
		w.t.Fatal(err)
	}
	w.listeners = append(w.listeners, rc)
	go func() {
		for {
			reply, err := rc.read()
			if err != nil {
				if !errors.Is(err, errClosedByWorld) && !isClosedConn(err) {
					w.hear(fmt.Sprintf("listener on %s: %v", addr, err))
				}
				return
			}
			w.hear(fmt.Sprintf("listener on %s heard %v", addr, reply))
		}
	}()
}

var errClosedByWorld = errors.New("closed")

func isClosedConn(err error) bool {
	return strings.Contains(err.Error(), "use of closed network connection")
}

func (w *effectWorld) hear(s string) {
	w.muHeard.Lock()
	w.heard = append(w.heard, s)
	w.muHeard.Unlock()
}

func (w *effectWorld) closeConns() {
	for _, rc := range w.listeners {
		rc.close()
	}
	w.listeners = nil
	for _, n := range w.nodes {
		if n.probe != nil {
			n.probe.close()
		}
		if n.watcher != nil {
			n.watcher.stop()
		}
	}
	// A closing listener may still report; what it says is not an escape.
	w.muHeard.Lock()
	w.heard = nil
	w.muHeard.Unlock()
}

// nodeClient returns a plain client of one node.
func (w *effectWorld) nodeClient(n *effectNode) rueidis.Client {
	if !w.cluster {
		return w.srv.Client
	}
	for addr, c := range w.plain.Nodes() {
		if addr == n.addr {
			return c
		}
	}
	w.t.Fatalf("no client for node %s", n.addr)
	return nil
}

// nodeOf returns the node that holds key.
func (w *effectWorld) nodeOf(key string) *effectNode {
	if !w.cluster {
		return w.nodes[0]
	}
	// On a loaded machine a node may miss the cluster bus for a moment
	// (CLUSTERDOWN): ask again until one answers for key.
	var found *effectNode
	var errs []string
	testsupport.Eventually(10*time.Second, func() bool {
		errs = errs[:0]
		for _, n := range w.nodes {
			c := w.nodeClient(n)
			err := c.Do(context.Background(), c.B().Arbitrary("TYPE").Keys(key).Build()).Error()
			if err == nil {
				found = n
				return true
			}
			errs = append(errs, n.addr+": "+err.Error())
		}
		return false
	})
	if found == nil {
		w.t.Fatalf("no node holds %s: %s", key, strings.Join(errs, "; "))
	}
	return found
}

// keyOn returns a key named after base that node n holds.
func (w *effectWorld) keyOn(n *effectNode, base string) string {
	for i := range 10000 {
		k := fmt.Sprintf("%s:{%d}", base, i)
		if w.nodeOf(k) == n {
			return k
		}
	}
	w.t.Fatal("no key found for a node")
	return ""
}

// snapshot is what must not change on each node: a text, and counters
// that may only grow.
type snapshot struct {
	text     []string
	counters [][3]int64
}

// snapshot reads every node; nil when one does not answer.
func (w *effectWorld) snapshot() *snapshot {
	out := &snapshot{}
	for _, n := range w.nodes {
		text, counters, err := w.snapshotNode(n)
		if err != nil {
			return nil
		}
		out.text = append(out.text, text)
		out.counters = append(out.counters, counters)
	}
	return out
}

// counterNames name the counters of a snapshot: the slow log's length, the
// ACL log's, and the commands processed. A reset (SLOWLOG RESET, ACL LOG
// RESET, CONFIG RESETSTAT) shows as a fall.
var counterNames = [3]string{"SLOWLOG LEN", "ACL LOG", "INFO stats"}

func (w *effectWorld) snapshotNode(n *effectNode) (string, [3]int64, error) {
	var counters [3]int64
	n.probe.deadline(time.Now().Add(5 * time.Second))
	defer n.probe.deadline(time.Time{})
	cmds := [][]string{
		{"CONFIG", "GET", "*"},
		{"ROLE"},
		{"ACL", "LIST"},
		{"FUNCTION", "LIST", "WITHCODE"},
		{"SCRIPT", "EXISTS", w.sha},
		{"LASTSAVE"},
		{"PUBSUB", "NUMSUB", "chan"},
	}
	dbs := 16
	if w.cluster {
		dbs = 1
	}
	for db := range dbs {
		if !w.cluster {
			cmds = append(cmds, []string{"SELECT", strconv.Itoa(db)})
		}
		cmds = append(cmds, []string{"SCAN", "0", "COUNT", "1000000"})
	}
	if !w.cluster {
		cmds = append(cmds, []string{"SELECT", "0"})
	}
	for _, v := range victimTypes {
		cmds = append(cmds, []string{"DUMP", v})
	}
	cmds = append(cmds, []string{"CLIENT", "LIST"}, []string{"SLOWLOG", "LEN"}, []string{"ACL", "LOG", "1000"}, []string{"INFO", "stats"})
	for _, c := range cmds {
		if err := n.probe.send(c...); err != nil {
			return "", counters, err
		}
	}
	var b strings.Builder
	for _, c := range cmds {
		reply, err := n.probe.read()
		if err != nil {
			return "", counters, err
		}
		switch name := strings.Join(c[:min(2, len(c))], " "); name {
		case "SCAN 0":
			arr, _ := reply.([]any)
			if len(arr) == 2 {
				keys, _ := arr[1].([]any)
				var kept []string
				for _, k := range keys {
					ks, _ := k.(string)
					if !strings.HasPrefix(ks, w.prefix) && !strings.HasPrefix(ks, "marker:") && !strings.HasPrefix(ks, w.bystop.Key("")) {
						kept = append(kept, ks)
					}
				}
				slices.Sort(kept)
				reply = kept
			}
		case "ROLE":
			// The role and the replicas; not the replication offset,
			// which every write moves once a backlog exists.
			if arr, ok := reply.([]any); ok && len(arr) >= 3 {
				reply = []any{arr[0], arr[2]}
			}
		case "CLIENT LIST":
			// Only whether the victim is still connected.
			s, _ := reply.(string)
			reply = fmt.Sprintf("victim client connected: %t", strings.Contains(s, "name="+w.client+" "))
		case counterNames[0]:
			counters[0], _ = reply.(int64)
			continue
		case counterNames[1]:
			arr, _ := reply.([]any)
			counters[1] = int64(len(arr))
			continue
		case counterNames[2]:
			s, _ := reply.(string)
			for _, line := range strings.Split(s, "\r\n") {
				if v, ok := strings.CutPrefix(line, "total_commands_processed:"); ok {
					counters[2], _ = strconv.ParseInt(v, 10, 64)
				}
			}
			continue
		}
		fmt.Fprintf(&b, "%s: %v\n", strings.Join(c, " "), reply)
	}
	return b.String(), counters, nil
}

// escape is one thing the part did that it must not.
type escape struct {
	attack attack
	what   string
}

// attack is one command sent through one entry point of the part; or,
// through Compat, one call of rueidiscompat's adapter over the part.
type attack struct {
	via    string
	cmd    docCommand
	args   []string
	compat func(context.Context, rueidiscompat.Cmdable) string
}

func (a attack) String() string { return fmt.Sprintf("%s %q", a.via, a.args) }

// run sends a through the part and returns what came back as text (the
// reply, or the error), or the panic it caused.
func (w *effectWorld) run(a attack) (reply, panicked string) {
	defer func() {
		if r := recover(); r != nil {
			panicked = fmt.Sprint(r)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	p := w.part
	switch a.via {
	case "Do":
		return resultText(p.Do(ctx, buildFor(p.B(), a.cmd, a.args))), ""
	case "DoMulti":
		var b strings.Builder
		for _, r := range p.DoMulti(ctx, p.B().Ping().Build(), buildFor(p.B(), a.cmd, a.args)) {
			b.WriteString(resultText(r))
		}
		return b.String(), ""
	case "DoCache":
		return resultText(p.DoCache(ctx, rueidis.Cacheable(buildFor(p.B(), a.cmd, a.args)), time.Second)), ""
	case "DoMultiCache":
		var b strings.Builder
		for _, r := range p.DoMultiCache(ctx, rueidis.CT(rueidis.Cacheable(buildFor(p.B(), a.cmd, a.args)), time.Second)) {
			b.WriteString(resultText(r))
		}
		return b.String(), ""
	case "DoStream":
		var buf bytes.Buffer
		s := p.DoStream(ctx, buildFor(p.B(), a.cmd, a.args))
		_, err := s.WriteTo(&buf)
		return fmt.Sprint(buf.String(), err), ""
	case "Dedicated":
		var out string
		err := p.Dedicated(func(d rueidis.DedicatedClient) error {
			out = resultText(d.Do(ctx, buildFor(d.B(), a.cmd, a.args)))
			return nil
		})
		return fmt.Sprint(out, err), ""
	case "Compat":
		return a.compat(ctx, rueidiscompat.NewAdapter(p)), ""
	case "Receive":
		rctx, rcancel := context.WithTimeout(ctx, 20*time.Millisecond)
		defer rcancel()
		var mu sync.Mutex
		var got []string
		err := p.Receive(rctx, buildFor(p.B(), a.cmd, a.args), func(m rueidis.PubSubMessage) {
			mu.Lock()
			got = append(got, fmt.Sprint(m))
			mu.Unlock()
		})
		mu.Lock()
		defer mu.Unlock()
		return fmt.Sprint(got, err), ""
	}
	panic("unknown entry point " + a.via)
}

// buildFor builds args with the flags the server gives the command.
func buildFor(b rueidis.Builder, cmd docCommand, args []string) rueidis.Completed {
	if strings.HasSuffix(strings.ToUpper(args[0]), "SUBSCRIBE") {
		return build(b, args)
	}
	a := b.Arbitrary(args[0]).Args(args[1:]...)
	switch {
	case cmd.has("blocking"):
		return a.Blocking()
	case cmd.has("readonly"):
		return a.ReadOnly()
	}
	return a.Build()
}

func resultText(r rueidis.RedisResult) string {
	m, err := r.ToMessage()
	if err != nil {
		return err.Error()
	}
	return m.String()
}

// entryPoints lists the ways into a part that the corpus takes; cmd says
// which apply to a command.
func entryPoints(cmd docCommand) []string {
	out := []string{"Do", "DoMulti", "DoStream", "Dedicated", "Receive"}
	if cmd.has("readonly") && !cmd.has("blocking") {
		out = append(out, "DoCache", "DoMultiCache")
	}
	return out
}

// scriptCommand reports whether args run a script, whose reply a part
// cannot know to carry key names (a script may return KEYS[1]).
func scriptCommand(args []string) bool {
	switch strings.ToUpper(args[0]) {
	case "EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO":
		return true
	}
	return false
}

// leaks returns the secrets text reveals.
func (w *effectWorld) leaks(text string) []string {
	var out []string
	for _, s := range w.secrets {
		if strings.Contains(text, s) {
			out = append(out, s)
		}
	}
	// The victim's pattern subscriptions, counted (PUBSUB NUMPAT).
	for n := numpatVictims; n < numpatVictims+8; n++ {
		if strings.Contains(text, fmt.Sprintf(`"Value":%d,"Type":"int64"`, n)) {
			out = append(out, fmt.Sprintf("the count %d", n))
		}
	}
	return out
}

// attackAll runs the attacks in groups. A panic or a secret in a reply
// names its attack at once; what the probe finds after a group is put
// down to a command by running the group again, one command at a time,
// on a fresh server.
func (w *effectWorld) attackAll(attacks []attack, group int) []escape {
	var out []escape
	for start := 0; start < len(attacks); start += group {
		batch := attacks[start:min(start+group, len(attacks))]
		found, changed := w.attackGroup(batch)
		out = append(out, found...)
		if effectTrace {
			fmt.Fprintf(os.Stderr, "effect oracle: attacks %d-%d of %d: %d escapes in replies, %d changes\n", start, start+len(batch), len(attacks), len(found), len(changed))
			for _, e := range found {
				fmt.Fprintf(os.Stderr, "  %s: %s\n", e.attack, clip(e.what))
			}
			for _, c := range changed {
				fmt.Fprintf(os.Stderr, "  changed: %s\n", clip(c))
			}
		}
		if len(changed) == 0 {
			continue
		}
		if w.cluster { // recover ends the run: name what was seen first
			reportEscapes(w.t, found)
			for _, what := range changed {
				w.t.Errorf("after attacks %d-%d (%s ... %s): %s", start, start+len(batch), batch[0], batch[len(batch)-1], what)
			}
		}
		w.recover()
		if len(batch) == 1 {
			for _, what := range changed {
				out = append(out, escape{batch[0], what})
			}
			continue
		}
		for _, a := range batch {
			if _, changed := w.attackGroup([]attack{a}); len(changed) > 0 {
				for _, what := range changed {
					out = append(out, escape{a, what})
				}
				w.recover()
			}
		}
	}
	return out
}

// attackGroup runs the attacks, then probes once: found are the escapes
// of single attacks (panics, secrets in replies), changed what the probe
// saw.
func (w *effectWorld) attackGroup(attacks []attack) (found []escape, changed []string) {
	for _, a := range attacks {
		reply, panicked := w.run(a)
		if panicked != "" {
			found = append(found, escape{a, "panic: " + panicked})
			continue
		}
		for _, s := range w.leaks(reply) {
			found = append(found, escape{a, "reply reveals " + s})
		}
		// A script's reply cannot be known to carry names; DoStream writes
		// what the server sends, errors included.
		if strings.Contains(reply, w.prefix) && !scriptCommand(a.args) && a.via != "DoStream" {
			found = append(found, escape{a, "the reply shows the prefix: " + clip(reply)})
		}
	}
	return found, w.probe()
}

// probe reports what changed on the server since the last probe.
func (w *effectWorld) probe() []string {
	var out []string
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	// Put the namespace back (an attack may have drained it), which also
	// touches every key a WATCH left on the shared connection may watch;
	// then the bystander part must get its own replies.
	w.reseed(ctx)
	w.seq++
	probeVal := strconv.Itoa(w.seq)
	if got, err := w.bystop.Do(ctx, w.bystop.B().Set().Key("probe").Value(probeVal).Build()).ToString(); err != nil || got != "OK" {
		out = append(out, fmt.Sprintf("another part's SET on the shared connection got %q, %v", got, err))
	}
	res := w.bystop.DoMulti(ctx, w.bystop.B().Multi().Build(), w.bystop.B().Incr().Key("n").Build(), w.bystop.B().Exec().Build())
	if arr, err := res[2].ToArray(); err != nil || len(arr) != 1 {
		out = append(out, fmt.Sprintf("another part's MULTI/INCR/EXEC on the shared connection got %v, %v", arr, err))
	}
	for _, n := range w.nodes {
		events, err := n.watcher.until(n.probe, n.marker, w.seq)
		if err != nil {
			out = append(out, fmt.Sprintf("node %s: %v", n.addr, err))
			continue
		}
		for _, e := range events {
			if !strings.HasPrefix(e.key, w.prefix) && !strings.HasPrefix(e.key, w.bystop.Key("")) && !strings.HasPrefix(e.key, "marker:") {
				out = append(out, fmt.Sprintf("node %s: keyspace event %q on %q (db %s), outside the namespace", n.addr, e.event, e.key, e.db))
			}
		}
	}
	if now := w.snapshot(); now == nil {
		out = append(out, "the server stopped answering the probe")
	} else {
		for i := range now.text {
			if now.text[i] != w.base.text[i] {
				out = append(out, "the server's state changed: "+diffLines(w.base.text[i], now.text[i]))
			}
			for j, name := range counterNames {
				if now.counters[i][j] < w.base.counters[i][j] {
					out = append(out, fmt.Sprintf("the server's %s fell from %d to %d: it was reset", name, w.base.counters[i][j], now.counters[i][j]))
				}
			}
		}
		w.base.counters = now.counters
	}
	w.muHeard.Lock()
	out = append(out, w.heard...)
	w.heard = nil
	w.muHeard.Unlock()
	return out
}

// reseed rewrites the namespace's keys.
func (w *effectWorld) reseed(ctx context.Context) {
	_ = w.seed(ctx, w.prefix, func(string) string { return "str" }) // a failure shows in the probe
}

// seed writes a key of every victim type under prefix; value gives the
// values (secrets for the victims). It runs on a cluster too: each
// command is built with its key.
func (w *effectWorld) seed(ctx context.Context, prefix string, value func(string) string) error {
	k := func(name string) string { return prefix + name }
	b := w.plain.B()
	var cmds rueidis.Commands
	for _, v := range victimTypes {
		cmds = append(cmds, b.Del().Key(k(v)).Build())
	}
	cmds = append(cmds,
		b.Set().Key(k("str")).Value(value("str")).Build(),
		b.Set().Key(k("bits")).Value(value("bits")).Build(),
		b.Pfadd().Key(k("hll")).Element(value("hll")).Build(),
		b.Rpush().Key(k("list")).Element(value("list"), "list", "zset").Build(),
		b.Sadd().Key(k("set")).Member(value("set"), "set", "hash").Build(),
		b.Zadd().Key(k("zset")).ScoreMember().ScoreMember(1, value("zset")).ScoreMember(2, "str").ScoreMember(3, "list").Build(),
		b.Geoadd().Key(k("geo")).LongitudeLatitudeMember().LongitudeLatitudeMember(15, 37, value("geo")).LongitudeLatitudeMember(15.001, 37.001, "str").Build(),
		b.Hset().Key(k("hash")).FieldValue().FieldValue("str", value("hash")).FieldValue(value("hashfield"), "v").Build(),
		b.Xadd().Key(k("stream")).Id("1-1").FieldValue().FieldValue("str", value("stream")).Build(),
		b.XgroupCreate().Key(k("stream")).Group("str").Id("0").Build(),
	)
	for i, r := range w.plain.DoMulti(ctx, cmds...) {
		// While probing, a server that stopped answering shows in the
		// probe; while planting it must not happen.
		if err := r.Error(); err != nil && prefix == "" {
			return fmt.Errorf("planting %q: %w", cmds[i].Commands(), err)
		}
	}
	return nil
}

// recover puts the world back after an escape: a fresh server
// (standalone), or the end of the run (a cluster cannot be restarted
// cheaply, and one escape fails the test anyway).
func (w *effectWorld) recover() {
	if w.cluster {
		w.t.Fatal("escape on the cluster: stopping the run (see the escapes above)")
	}
	w.closeConns()
	w.srv.Restart()
	for _, c := range []rueidis.Client{w.other.Client, w.srv.Client} {
		testsupport.WaitFor(w.t, 10*time.Second, "the server", func() bool { return c.Do(context.Background(), c.B().Ping().Build()).Error() == nil })
		// A SAVE among the attacks left a file the server loaded again.
		for _, cmd := range []rueidis.Completed{c.B().Flushall().Build(), c.B().FunctionFlush().Build()} {
			if err := c.Do(context.Background(), cmd).Error(); err != nil {
				w.t.Fatal(err)
			}
		}
	}
	w.plant()
}

// diffLines returns the lines of b that a lacks, and the reverse.
func diffLines(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for _, l := range bl {
		if !slices.Contains(al, l) {
			out = append(out, "now "+clip(l))
		}
	}
	for _, l := range al {
		if !slices.Contains(bl, l) {
			out = append(out, "was "+clip(l))
		}
	}
	return strings.Join(out, "; ")
}

func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}

// keyEvent is one keyspace notification.
type keyEvent struct{ db, key, event string }

// watcher collects the keyspace notifications of one server.
type watcher struct {
	rc   *respConn
	mu   sync.Mutex
	got  []keyEvent
	err  error
	more chan struct{}
	done chan struct{}
}

func startWatcher(t *testing.T, addr string) *watcher {
	rc, err := dialRESP(addr)
	if err != nil {
		t.Fatal(err)
	}
	rc.deadline(time.Now().Add(10 * time.Second))
	if _, err := rc.do("PSUBSCRIBE", "__keyspace@*__:*"); err != nil {
		t.Fatal(err)
	}
	rc.deadline(time.Time{})
	w := &watcher{rc: rc, more: make(chan struct{}, 1), done: make(chan struct{})}
	go w.read()
	return w
}

func (w *watcher) read() {
	defer close(w.done)
	for {
		reply, err := w.rc.read()
		w.mu.Lock()
		if err != nil {
			w.err = err
			w.mu.Unlock()
			w.signal()
			return
		}
		if arr, ok := reply.([]any); ok && len(arr) == 4 {
			channel, _ := arr[2].(string)
			event, _ := arr[3].(string)
			rest, _ := strings.CutPrefix(channel, "__keyspace@")
			db, key, _ := strings.Cut(rest, "__:")
			w.got = append(w.got, keyEvent{db: db, key: key, event: event})
		}
		w.mu.Unlock()
		w.signal()
	}
}

func (w *watcher) signal() {
	select {
	case w.more <- struct{}{}:
	default:
	}
}

func (w *watcher) stop() {
	w.rc.close()
	<-w.done
}

// until writes a marker through probe and returns the events the watcher
// collected before the marker's own: notifications come in the order the
// server ran the commands, so every event of the attacks is in.
func (w *watcher) until(probe *respConn, marker string, seq int) ([]keyEvent, error) {
	probe.deadline(time.Now().Add(5 * time.Second))
	_, err := probe.do("SET", marker, strconv.Itoa(seq))
	probe.deadline(time.Time{})
	if err != nil {
		return nil, fmt.Errorf("marker: %w", err)
	}
	deadline := time.After(5 * time.Second)
	for {
		w.mu.Lock()
		for i, e := range w.got {
			if e.key == marker && e.event == "set" {
				out := slices.Clone(w.got[:i])
				w.got = slices.Delete(w.got, 0, i+1)
				w.mu.Unlock()
				return out, nil
			}
		}
		err := w.err
		w.mu.Unlock()
		if err != nil {
			return nil, fmt.Errorf("keyspace watcher: %w", err)
		}
		select {
		case <-w.more:
		case <-deadline:
			return nil, errors.New("the marker's keyspace event did not come within 5s (notifications turned off, or the server paused?)")
		}
	}
}

// corpusAttacks returns the attacks: every command's shapes through every
// entry point that applies, the known attacks, and mutations.
func corpusAttacks(cmds []docCommand, known [][]string, mutations int, seed uint64, shapes int) []attack {
	byName := map[string]docCommand{}
	for _, c := range cmds {
		byName[c.String()] = c
	}
	find := func(args []string) docCommand {
		if len(args) > 1 {
			if c, ok := byName[strings.ToUpper(args[0]+" "+args[1])]; ok {
				return c
			}
		}
		return byName[strings.ToUpper(args[0])]
	}
	var out []attack
	add := func(c docCommand, args []string) {
		for _, via := range entryPoints(c) {
			out = append(out, attack{via: via, cmd: c, args: args})
		}
	}
	rng := mrand.New(mrand.NewPCG(seed, seed^0x9E3779B97F4A7C15))
	for _, c := range cmds {
		lists := c.shapes(corpusValues, shapes)
		for _, args := range lists {
			add(c, args)
		}
		for range mutations {
			args := mutate(rng, lists[rng.IntN(len(lists))], len(c.name))
			out = append(out, attack{via: []string{"Do", "DoMulti", "Dedicated"}[rng.IntN(3)], cmd: c, args: args})
		}
	}
	for _, args := range known {
		add(find(args), args)
	}
	return out
}

// mutateWords are tokens that decide where keys are in some command.
var mutateWords = []string{"STORE", "STOREDIST", "BY", "GET", "KEYS", "STREAMS", "DB", "COUNT", "MATCH", "TYPE", "AUTH", "AUTH2", "COPY", "REPLACE", "LIMIT", "GROUP", "BLOCK", "FROMMEMBER", "WITHSCORES", "#", "*", "->"}

// mutate changes args after its first name words: a keyword with a
// victim name inserted, an argument repeated, dropped, swapped, or a
// number made extreme.
func mutate(rng *mrand.Rand, args []string, names int) []string {
	out := slices.Clone(args)
	at := func() int { return names + rng.IntN(len(out)-names+1) }
	for range 1 + rng.IntN(3) {
		switch rng.IntN(6) {
		case 0, 1:
			i := at()
			out = slices.Insert(out, i, mutateWords[rng.IntN(len(mutateWords))], victimTypes[rng.IntN(len(victimTypes))])
		case 2:
			if len(out) > names {
				i := names + rng.IntN(len(out)-names)
				out = slices.Insert(out, at(), out[i])
			}
		case 3:
			if len(out) > names+1 {
				i := names + rng.IntN(len(out)-names)
				out = slices.Delete(out, i, i+1)
			}
		case 4:
			if len(out) > names+1 {
				i, j := names+rng.IntN(len(out)-names), names+rng.IntN(len(out)-names)
				out[i], out[j] = out[j], out[i]
			}
		case 5:
			for i := names; i < len(out); i++ {
				if _, err := strconv.ParseFloat(out[i], 64); err == nil {
					out[i] = []string{"0", "-1", strconv.Itoa(math.MaxInt32)}[rng.IntN(3)]
					break
				}
			}
		}
	}
	return out
}

// knownAttacks are the escapes found by hand: server-wide commands, reads
// of other tenants, transactions on the shared connection, and key specs
// that miss keys (addr is the second server, port the first).
func (w *effectWorld) knownAttacks() [][]string {
	otherHost, otherPort, _ := strings.Cut(w.other.Addr, ":")
	return [][]string{
		{"GEORADIUS", "geo", "15", "37", "500", "km", "STORE", "geo", "STORE", "geo"},
		{"GEORADIUS", "geo", "15", "37", "500", "km", "STOREDIST", "geo", "STORE", "zset"},
		{"GEORADIUSBYMEMBER", "geo", "str", "500", "km", "STORE", "geo", "STOREDIST", "zset"},
		{"XREADGROUP", "COUNT", "1", "GROUP", "STREAMS", "str", "STREAMS", "stream", ">"},
		{"XREAD", "COUNT", "1", "STREAMS", "stream", "0"},
		{"SORT", "list", "BY", "nosort", "GET", "*"},
		{"SORT", "list", "STORE", "list", "STORE", "set"},
		{"CONFIG", "SET", "maxmemory", "1"},
		{"CONFIG", "SET", "maxmemory-policy", "allkeys-random"},
		{"CONFIG", "SET", "notify-keyspace-events", ""},
		{"CONFIG", "GET", "*"},
		{"CONFIG", "RESETSTAT"},
		{"REPLICAOF", otherHost, otherPort},
		{"SLAVEOF", otherHost, otherPort},
		{"SHUTDOWN", "NOSAVE"},
		{"SAVE"},
		{"FUNCTION", "FLUSH"},
		{"FUNCTION", "DELETE", w.lib},
		{"FUNCTION", "LOAD", "REPLACE", "#!lua name=" + w.lib + "\nredis.register_function('f', function() return 1 end)"},
		{"FUNCTION", "LIST", "WITHCODE"},
		{"FUNCTION", "DUMP"},
		{"SCRIPT", "FLUSH"},
		{"ACL", "SETUSER", "str", "on", ">x", "~*", "+@all"},
		{"ACL", "DELUSER", w.user},
		{"ACL", "LIST"},
		{"ACL", "USERS"},
		{"ACL", "GETUSER", w.user},
		{"ACL", "LOG"},
		{"ACL", "LOG", "RESET"},
		{"CLIENT", "LIST"},
		{"CLIENT", "KILL", "TYPE", "pubsub"},
		{"CLIENT", "KILL", "TYPE", "normal"},
		{"CLIENT", "PAUSE", "60000"},
		{"CLIENT", "UNBLOCK", "3"}, {"CLIENT", "UNBLOCK", "4"}, {"CLIENT", "UNBLOCK", "5"}, {"CLIENT", "UNBLOCK", "6"},
		{"COPY", "str", "str", "DB", "5"},
		{"COPY", "str", "str2", "DB", "5", "REPLACE"},
		{"MIGRATE", otherHost, otherPort, "str", "0", "1000", "COPY"},
		{"MIGRATE", otherHost, otherPort, "", "0", "1000", "COPY", "KEYS", "str", "list"},
		{"SLOWLOG", "GET", "1000000"},
		{"SLOWLOG", "RESET"},
		{"INFO", "keyspace"},
		{"INFO", "all"},
		{"MEMORY", "STATS"},
		{"PUBSUB", "NUMPAT"},
		{"PUBLISH", "chan", "hello"},
		{"MULTI"},
		{"WATCH", "str"},
		{"EXEC"},
		{"DISCARD"},
		{"LATENCY", "RESET"},
		{"MEMORY", "PURGE"},
		{"SWAPDB", "0", "9"},
		{"FLUSHALL"},
		{"SELECT", "9"},
		{"MOVE", "str", "9"},
	}
}

// compatAttacks are the known attacks in go-redis's words, through
// rueidiscompat's adapter over the part.
func (w *effectWorld) compatAttacks() []attack {
	host, port, _ := strings.Cut(w.other.Addr, ":")
	portN, _ := strconv.ParseInt(port, 10, 64)
	calls := map[string]func(context.Context, rueidiscompat.Cmdable) any{
		"ConfigSet": func(ctx context.Context, c rueidiscompat.Cmdable) any {
			return c.ConfigSet(ctx, "maxmemory", "1")
		},
		"ConfigGet":       func(ctx context.Context, c rueidiscompat.Cmdable) any { return c.ConfigGet(ctx, "*") },
		"ConfigResetStat": func(ctx context.Context, c rueidiscompat.Cmdable) any { return c.ConfigResetStat(ctx) },
		"ReplicaOf":       func(ctx context.Context, c rueidiscompat.Cmdable) any { return c.ReplicaOf(ctx, host, port) },
		"ShutdownNoSave":  func(ctx context.Context, c rueidiscompat.Cmdable) any { return c.ShutdownNoSave(ctx) },
		"Save":            func(ctx context.Context, c rueidiscompat.Cmdable) any { return c.Save(ctx) },
		"FunctionFlush":   func(ctx context.Context, c rueidiscompat.Cmdable) any { return c.FunctionFlush(ctx) },
		"FunctionDelete":  func(ctx context.Context, c rueidiscompat.Cmdable) any { return c.FunctionDelete(ctx, w.lib) },
		"FunctionList": func(ctx context.Context, c rueidiscompat.Cmdable) any {
			return c.FunctionList(ctx, rueidiscompat.FunctionListQuery{WithCode: true})
		},
		"ScriptFlush": func(ctx context.Context, c rueidiscompat.Cmdable) any { return c.ScriptFlush(ctx) },
		"ACLSetUser": func(ctx context.Context, c rueidiscompat.Cmdable) any {
			return c.ACLSetUser(ctx, "str", "on", ">x", "~*", "+@all")
		},
		"ACLDelUser":  func(ctx context.Context, c rueidiscompat.Cmdable) any { return c.ACLDelUser(ctx, w.user) },
		"ACLList":     func(ctx context.Context, c rueidiscompat.Cmdable) any { return c.ACLList(ctx) },
		"ACLLog":      func(ctx context.Context, c rueidiscompat.Cmdable) any { return c.ACLLog(ctx, 100) },
		"ACLLogReset": func(ctx context.Context, c rueidiscompat.Cmdable) any { return c.ACLLogReset(ctx) },
		"ClientList":  func(ctx context.Context, c rueidiscompat.Cmdable) any { return c.ClientList(ctx) },
		"ClientKill": func(ctx context.Context, c rueidiscompat.Cmdable) any {
			return c.ClientKillByFilter(ctx, "TYPE", "pubsub")
		},
		"ClientPause": func(ctx context.Context, c rueidiscompat.Cmdable) any {
			return c.ClientPause(ctx, time.Minute)
		},
		"ClientUnblock": func(ctx context.Context, c rueidiscompat.Cmdable) any { return c.ClientUnblock(ctx, 4) },
		"Copy": func(ctx context.Context, c rueidiscompat.Cmdable) any {
			return c.Copy(ctx, "str", "str", 5, true)
		},
		"Migrate": func(ctx context.Context, c rueidiscompat.Cmdable) any {
			return c.Migrate(ctx, host, portN, "str", 0, time.Second)
		},
		"SlowLogGet":   func(ctx context.Context, c rueidiscompat.Cmdable) any { return c.SlowLogGet(ctx, 1000000) },
		"SlowLogReset": func(ctx context.Context, c rueidiscompat.Cmdable) any { return c.SlowLogReset(ctx) },
		"Info":         func(ctx context.Context, c rueidiscompat.Cmdable) any { return c.Info(ctx, "keyspace") },
		"PubSubNumPat": func(ctx context.Context, c rueidiscompat.Cmdable) any { return c.PubSubNumPat(ctx) },
		"Publish": func(ctx context.Context, c rueidiscompat.Cmdable) any {
			return c.Publish(ctx, "chan", "hello")
		},
		"GeoRadiusStore": func(ctx context.Context, c rueidiscompat.Cmdable) any {
			return c.GeoRadiusStore(ctx, "geo", 15, 37, rueidiscompat.GeoRadiusQuery{Radius: 500, Unit: "km", Store: "geo", StoreDist: "zset"})
		},
		"XReadGroup": func(ctx context.Context, c rueidiscompat.Cmdable) any {
			return c.XReadGroup(ctx, rueidiscompat.XReadGroupArgs{Group: "STREAMS", Consumer: "str", Streams: []string{"stream", ">"}, Count: 1})
		},
		"Sort": func(ctx context.Context, c rueidiscompat.Cmdable) any {
			return c.Sort(ctx, "list", rueidiscompat.Sort{By: "nosort", Get: []string{"*"}})
		},
		"Keys":      func(ctx context.Context, c rueidiscompat.Cmdable) any { return c.Keys(ctx, "*") },
		"DBSize":    func(ctx context.Context, c rueidiscompat.Cmdable) any { return c.DBSize(ctx) },
		"FlushAll":  func(ctx context.Context, c rueidiscompat.Cmdable) any { return c.FlushAll(ctx) },
		"RandomKey": func(ctx context.Context, c rueidiscompat.Cmdable) any { return c.RandomKey(ctx) },
		"LastSave":  func(ctx context.Context, c rueidiscompat.Cmdable) any { return c.LastSave(ctx) },
		"Watch": func(ctx context.Context, c rueidiscompat.Cmdable) any {
			keys := []string{"str", "list"}
			if w.cluster && !strings.HasPrefix(w.prefix, "{") {
				// A plain part's keys of two slots are refused by
				// rueidis's builder, as for any cluster client.
				keys = keys[:1]
			}
			err := c.Watch(ctx, func(tx rueidiscompat.Tx) error {
				_, err := tx.TxPipelined(ctx, func(p rueidiscompat.Pipeliner) error {
					p.Set(ctx, "str", "mine", 0)
					return nil
				})
				return err
			}, keys...)
			return err
		},
		"TxPipelined": func(ctx context.Context, c rueidiscompat.Cmdable) any {
			cmds, err := c.TxPipelined(ctx, func(p rueidiscompat.Pipeliner) error {
				p.Set(ctx, "str", "mine", 0)
				p.Get(ctx, "list")
				return nil
			})
			return fmt.Sprintf("%+v %v", cmds, err)
		},
	}
	names := make([]string, 0, len(calls))
	for name := range calls {
		names = append(names, name)
	}
	slices.Sort(names)
	out := make([]attack, 0, len(calls))
	for _, name := range names {
		call := calls[name]
		out = append(out, attack{via: "Compat", args: []string{name}, compat: func(ctx context.Context, c rueidiscompat.Cmdable) string {
			// %+v prints what a command holds, its value and error.
			return fmt.Sprintf("%+v", call(ctx, c))
		}})
	}
	return out
}

// effectParts opens the attacking part and a bystander that shares its
// connection.
func effectParts(t *testing.T, environ []string, hashTag bool) (attacker, bystander *feature.Client) {
	t.Helper()
	ctx := context.Background()
	reg, base := parts(t, environ...)
	open := func(p feature.Part) *feature.Client {
		c, release, err := p.Open(ctx, reg, base)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(release)
		return c
	}
	attacker = open(feature.Part{Namespace: "session", HashTag: hashTag})
	bystander = open(feature.Part{Namespace: "cache", HashTag: hashTag})
	if s := reg.Stats(); len(s) != 1 {
		t.Fatalf("the parts should share one connection: %+v", s)
	}
	_ = registry.ErrClosed
	return attacker, bystander
}

func reportEscapes(t *testing.T, escapes []escape) {
	t.Helper()
	seen := map[string]bool{}
	for _, e := range escapes {
		k := e.attack.String() + e.what
		if seen[k] {
			continue
		}
		seen[k] = true
		t.Errorf("escape: %s: %s", e.attack, e.what)
	}
}

// TestEffectOracle runs the corpus through a part of a standalone server.
func TestEffectOracle(t *testing.T) {
	t.Parallel() // servers of its own and no globals: runs beside the other slow tests
	srv := redistest.Start(t)
	srv.Require(t, redistest.KeySpecs) // its corpus comes from COMMAND DOCS
	attacker, bystander := effectParts(t, []string{"REDIS_URL=" + srv.URL()}, false)
	w := newEffectWorld(t, srv, nil, attacker, bystander)
	attacks := corpusAttacks(serverCommands(t, srv.Client), w.knownAttacks(), 2, 1, 24)
	attacks = append(attacks, w.compatAttacks()...)
	escapes := w.attackAll(attacks, 40)
	reportEscapes(t, escapes)
	t.Logf("%d attacks over %d entry points; %d escapes", len(attacks), 7, len(escapes))
}

// TestEffectOracleCluster runs the corpus (fewer shapes of each command)
// through a plain part and through a hash-tag part of a 3-master cluster.
func TestEffectOracleCluster(t *testing.T) {
	t.Parallel() // servers of its own and no globals: runs beside the other slow tests
	redistest.RequireBinary(t, redistest.KeySpecs.Name, func(v redistest.Version) bool { return v.AtLeast(7, 0) })
	for _, hashTag := range []bool{false, true} {
		t.Run(fmt.Sprintf("hashtag=%t", hashTag), func(t *testing.T) {
			// A cluster each: the two run side by side, and each judges
			// the whole cluster's state.
			t.Parallel()
			cluster := redistest.StartCluster(t, 3, 0)
			cmds := serverCommands(t, cluster.Node(t, cluster.Primaries()[0]))
			attacker, bystander := effectParts(t, []string{"REDIS_ADDRS=" + strings.Join(cluster.Addrs, ",")}, hashTag)
			w := newEffectWorld(t, nil, cluster, attacker, bystander)
			attacks := corpusAttacks(cmds, w.knownAttacks(), 0, 1, 6)
			attacks = append(attacks, w.compatAttacks()...)
			reportEscapes(t, w.attackAll(attacks, 40))
		})
	}
}
