package feature_test

// An attacker's look at the cache-hit fast path (hotKey, hotkeys.go), at
// rueidisx.Plain deciding from the type byte whether a reply is an error
// or nil, and at B() fixed once at New. Each test tries to make a part
// read or write outside its namespace, or get a reply with the prefix, or
// another caller's reply, and judges by what the server holds, read with
// a client of its own.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/internal/testsupport"
	"github.com/wireredis/wireredis/redistest"
)

// hotNames are key names chosen to confuse: another part's prefix, a
// hash-tag prefix, the empty key, NUL bytes, a colon alone.
var hotNames = []string{"k", "b:k", "a:k", "{a}:k", "{a}", "", "a:", "b:", ":", "\x00", "k\x00", "K", "GET"}

// hotValue is the value stored at the server key full: it names the key,
// so that a reply tells which key it came from.
func hotValue(full string) string { return "v(" + full + ")" }

// serverState returns every key of the clients' databases with its DUMP,
// as the server holds them.
func serverState(t *testing.T, nodes ...rueidis.Client) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	for _, n := range nodes {
		keys, err := n.Do(ctx, n.B().Keys().Pattern("*").Build()).AsStrSlice()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			d, err := n.Do(ctx, n.B().Dump().Key(k).Build()).ToString()
			if err != nil && !rueidis.IsRedisNil(err) {
				t.Fatal(err)
			}
			out[k] = d
		}
	}
	return out
}

// changedKeys lists the keys whose presence or DUMP differ.
func changedKeys(before, after map[string]string) []string {
	var out []string
	for k, v := range before {
		if w, ok := after[k]; !ok || w != v {
			out = append(out, k)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// setHotKeys stores hotValue at every name, raw and in each prefix.
func setHotKeys(t *testing.T, raw rueidis.Client, prefixes ...string) {
	t.Helper()
	ctx := context.Background()
	for _, k := range hotNames {
		for _, p := range append([]string{""}, prefixes...) {
			must(t, raw.Do(ctx, raw.B().Set().Key(p+k).Value(hotValue(p+k)).Build()))
		}
	}
}

// spellings of GET that the server runs as GET.
var getSpellings = []string{"GET", "get", "Get", "gET"}

// hotGet builds GET key with the name spelled as given, from b.
func hotGet(b rueidis.Builder, name, key string) rueidis.Cacheable {
	if name == "GET" {
		return b.Get().Key(key).Cache()
	}
	return rueidis.Cacheable(b.Arbitrary(name).Keys(key).Build())
}

// checkGet checks a reply of GET key from part p against the server key
// p.Key(key) and its value.
func checkGet(t *testing.T, what string, p *feature.Client, key string, r rueidis.RedisResult) {
	t.Helper()
	want := hotValue(p.Key(key))
	v, err := r.ToString()
	if err != nil || v != want {
		t.Errorf("%s: %s GET %q = %q, %v; want %q", what, p.Namespace(), key, v, err, want)
	}
}

// TestAttackHotSpellings: parts a and b and a hash-tag part {a} over one
// rueidis client (RESP3 with client-side caching, and RESP2), every key
// name of hotNames (other parts' prefixes among them), GET spelled four
// ways (the fast path remembers the name as spelled) and through the
// typed builder, each part's own B() and the others', in rounds that
// alternate spellings per key so that one spelling's remembered entry
// meets another's lookup. Every reply is the reader's own value; nothing
// on the server changes. (Holds.)
func TestAttackHotSpellings(t *testing.T) {
	for _, resp2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("RESP2=%v", resp2), func(t *testing.T) {
			ctx := context.Background()
			srv := redistest.Start(t)
			raw := srv.NewClient(t, func(o *rueidis.ClientOption) { o.DisableCache = true })
			shared := srv.NewClient(t, func(o *rueidis.ClientOption) { o.AlwaysRESP2, o.DisableCache = resp2, resp2 })
			a, b := feature.New(shared, "a"), feature.New(shared, "b")
			h := feature.New(shared, "a", feature.WithHashTag())
			setHotKeys(t, raw, "a:", "b:", "{a}:")
			before := serverState(t, raw)
			parts := []*feature.Client{a, b, h}
			for round := range 4 {
				for i, key := range hotNames {
					for j, p := range parts {
						name := getSpellings[(round+i+j)%len(getSpellings)]
						builder := parts[(round+j)%len(parts)].B()
						if round == 3 {
							builder = shared.B()
						}
						r := p.DoCache(ctx, hotGet(builder, name, key), time.Minute)
						checkGet(t, fmt.Sprintf("round %d %s", round, name), p, key, r)
						// The typed builder right after: same key, the name
						// spelled "GET".
						checkGet(t, fmt.Sprintf("round %d typed", round), p, key, p.DoCache(ctx, p.B().Get().Key(key).Cache(), time.Minute))
						n, err := p.DoCache(ctx, rueidis.Cacheable(p.B().Arbitrary(strings.ToLower("strlen")).Keys(key).Build()), time.Minute).AsInt64()
						if want := int64(len(hotValue(p.Key(key)))); err != nil || n != want {
							t.Errorf("round %d: %s strlen %q = %d, %v; want %d", round, p.Namespace(), key, n, err, want)
						}
					}
				}
			}
			// A NUL byte in the name: refused, never sent.
			for _, name := range []string{"GET\x00", "GET\x00x", "\x00GET"} {
				r := a.DoCache(ctx, rueidis.Cacheable(a.B().Arbitrary(name).Keys("k").Build()), time.Minute)
				if r.Error() == nil {
					t.Errorf("DoCache %q k was not refused: %v", name, r)
				}
			}
			if ch := changedKeys(before, serverState(t, raw)); len(ch) > 0 {
				t.Errorf("reads changed keys on the server: %q", ch)
			}
		})
	}
}

// TestAttackHotWrites: DoCache takes any one-key command, writes included,
// and the fast path remembers them: INCR, DEL, LPUSH-less writes such as
// PERSIST, INCR and DEL with names spelled in turn, by two parts and a
// hash-tag part over one client, for key names that are other parts'
// prefixes. Only the writer's own keys change on the server. (Holds.)
func TestAttackHotWrites(t *testing.T) {
	for _, resp2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("RESP2=%v", resp2), func(t *testing.T) {
			ctx := context.Background()
			srv := redistest.Start(t)
			raw := srv.NewClient(t, func(o *rueidis.ClientOption) { o.DisableCache = true })
			shared := srv.NewClient(t, func(o *rueidis.ClientOption) { o.AlwaysRESP2, o.DisableCache = resp2, resp2 })
			a, b := feature.New(shared, "a"), feature.New(shared, "b")
			h := feature.New(shared, "a", feature.WithHashTag())
			keys := []string{"n", "b:n", "a:n", "{a}:n", ""}
			outside := func() map[string]string {
				all := serverState(t, raw)
				return all
			}
			for _, k := range keys {
				for _, p := range []string{"", "a:", "b:", "{a}:"} {
					must(t, raw.Do(ctx, raw.B().Set().Key(p+k).Value("100").Ex(time.Hour).Build()))
				}
			}
			for _, p := range []*feature.Client{a, b, h} {
				for _, k := range keys {
					before := outside()
					for i, name := range []string{"INCR", "incr", "Incr", "INCR", "persist", "PERSIST", "DECR", "decr"} {
						var cmd rueidis.Completed
						if i%2 == 0 {
							cmd = p.B().Arbitrary(name).Keys(k).Build()
						} else {
							cmd = shared.B().Arbitrary(name).Keys(k).Build()
						}
						if err := p.DoCache(ctx, rueidis.Cacheable(cmd), time.Minute).Error(); err != nil {
							t.Fatalf("%s %s %q: %v", p.Namespace(), name, k, err)
						}
					}
					for _, c := range changedKeys(before, outside()) {
						if c != p.Key(k) {
							t.Errorf("%s writing %q changed %q on the server", p.Namespace(), k, c)
						}
					}
				}
			}
			// DEL through the fast path, after a GET of the same key
			// remembered it under another name.
			for _, p := range []*feature.Client{a, b, h} {
				before := outside()
				p.DoCache(ctx, p.B().Get().Key("n").Cache(), time.Minute)
				for _, name := range []string{"DEL", "del", "UNLINK"} {
					p.DoCache(ctx, rueidis.Cacheable(p.B().Arbitrary(name).Keys("n").Build()), time.Minute)
				}
				for _, c := range changedKeys(before, outside()) {
					if c != p.Key("n") {
						t.Errorf("%s deleting n changed %q on the server", p.Namespace(), c)
					}
				}
			}
		})
	}
}

// TestAttackHotConcurrent: 8 goroutines over two parts and a hash-tag
// part on one client, 600 keys (more than the 256 slots of the memory of
// hot keys, so that slots are overwritten under readers), GET spelled at
// random, pinned or handed over. Every reply is the reader's own value.
// (Holds.)
func TestAttackHotConcurrent(t *testing.T) {
	for _, resp2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("RESP2=%v", resp2), func(t *testing.T) {
			ctx := context.Background()
			srv := redistest.Start(t)
			raw := srv.NewClient(t, func(o *rueidis.ClientOption) { o.DisableCache = true })
			shared := srv.NewClient(t, func(o *rueidis.ClientOption) { o.AlwaysRESP2, o.DisableCache = resp2, resp2 })
			parts := []*feature.Client{feature.New(shared, "a"), feature.New(shared, "b"), feature.New(shared, "a", feature.WithHashTag())}
			const nkeys = 600
			keyName := func(i int) string {
				if i%3 == 0 {
					return "b:" + fmt.Sprint(i) // another part's prefix in the name
				}
				return fmt.Sprint(i)
			}
			var cmds []rueidis.Completed
			for i := range nkeys {
				for _, p := range []string{"", "a:", "b:", "{a}:"} {
					k := p + keyName(i)
					cmds = append(cmds, raw.B().Set().Key(k).Value(hotValue(k)).Build())
				}
			}
			for _, r := range raw.DoMulti(ctx, cmds...) {
				must(t, r)
			}
			before := serverState(t, raw)
			var wg sync.WaitGroup
			var mu sync.Mutex
			var bad []string
			for g := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rng := rand.New(rand.NewPCG(uint64(g), 7))
					for range 3000 {
						p := parts[rng.IntN(len(parts))]
						k := keyName(rng.IntN(nkeys))
						name := getSpellings[rng.IntN(len(getSpellings))]
						cmd := hotGet(parts[rng.IntN(len(parts))].B(), name, k)
						if rng.IntN(5) == 0 {
							cmd = rueidis.Cacheable(rueidis.Completed(cmd).Pin())
						}
						v, err := p.DoCache(ctx, cmd, time.Minute).ToString()
						if want := hotValue(p.Key(k)); err != nil || v != want {
							mu.Lock()
							bad = append(bad, fmt.Sprintf("%s %s %q = %q, %v; want %q", p.Namespace(), name, k, v, err, want))
							mu.Unlock()
						}
					}
				}()
			}
			wg.Wait()
			if len(bad) > 0 {
				t.Errorf("%d wrong replies, first: %s", len(bad), bad[0])
			}
			if ch := changedKeys(before, serverState(t, raw)); len(ch) > 0 {
				t.Errorf("reads changed keys: %q", ch[:min(len(ch), 10)])
			}
		})
	}
}

// TestAttackHotPinnedAcrossParts: one pinned GET k, built by part a, sent
// by a, b, the hash-tag part, the raw client, and a again, cached and
// not; and one pinned command made hot by a, then handed to b's
// DoMultiCache. Each gets its own value, and the pinned command keeps
// its unprefixed key. (Holds.)
func TestAttackHotPinnedAcrossParts(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	raw := srv.NewClient(t, func(o *rueidis.ClientOption) { o.DisableCache = true })
	shared := srv.NewClient(t, nil)
	a, b := feature.New(shared, "a"), feature.New(shared, "b")
	h := feature.New(shared, "a", feature.WithHashTag())
	setHotKeys(t, raw, "a:", "b:", "{a}:")
	for _, key := range hotNames {
		pinned := a.B().Get().Key(key).Cache()
		pinned = rueidis.Cacheable(rueidis.Completed(pinned).Pin())
		for round := range 3 {
			for _, p := range []*feature.Client{a, b, h, a} {
				checkGet(t, fmt.Sprintf("round %d pinned DoCache", round), p, key, p.DoCache(ctx, pinned, time.Minute))
				checkGet(t, fmt.Sprintf("round %d pinned Do", round), p, key, p.Do(ctx, rueidis.Completed(pinned)))
				rs := p.DoMultiCache(ctx, rueidis.CT(pinned, time.Minute), rueidis.CT(p.B().Get().Key(key).Cache(), time.Minute))
				checkGet(t, fmt.Sprintf("round %d pinned DoMultiCache", round), p, key, rs[0])
				checkGet(t, fmt.Sprintf("round %d DoMultiCache", round), p, key, rs[1])
				if v, err := shared.DoCache(ctx, pinned, time.Minute).ToString(); err != nil || v != hotValue(key) {
					t.Errorf("round %d: raw DoCache of the pinned GET %q = %q, %v; want %q", round, key, v, err, hotValue(key))
				}
			}
		}
		if pc := rueidis.Completed(pinned); len(pc.Commands()) != 2 || pc.Commands()[1] != key {
			t.Errorf("the pinned command now reads %q", pc.Commands())
		}
		if got := []string{"", key}; len(got) != 2 || got[1] != key {
			t.Errorf("the pinned command now reads %q", got)
		}
	}
}

// TestAttackHotBatch: DoMultiCache mixing keys made hot and new ones,
// with a command that must be refused last (MGET): nothing is sent, and
// the hot keys of the refused batch, sent again alone, still go to the
// part's own keys. Then the same with writes. (Holds.)
func TestAttackHotBatch(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	raw := srv.NewClient(t, func(o *rueidis.ClientOption) { o.DisableCache = true })
	shared := srv.NewClient(t, nil)
	a, b := feature.New(shared, "a"), feature.New(shared, "b")
	setHotKeys(t, raw, "a:", "b:")
	before := serverState(t, raw)
	for _, p := range []*feature.Client{a, b} {
		checkGet(t, "warm", p, "k", p.DoCache(ctx, p.B().Get().Key("k").Cache(), time.Minute))
		rs := p.DoMultiCache(ctx,
			rueidis.CT(p.B().Get().Key("k").Cache(), time.Minute),
			rueidis.CT(rueidis.Cacheable(p.B().Arbitrary("INCR").Keys("b:k").Build()), time.Minute),
			rueidis.CT(rueidis.Cacheable(p.B().Arbitrary("get").Keys("a:k").Build()), time.Minute),
			rueidis.CT(p.B().Mget().Key("k", "a:k").Cache(), time.Minute))
		for i, r := range rs {
			if r.Error() == nil {
				t.Errorf("%s: command %d of a refused batch answered %v", p.Namespace(), i, r)
			}
		}
		for _, k := range []string{"k", "a:k"} {
			for _, name := range []string{"GET", "get"} {
				checkGet(t, "after the refused batch "+name, p, k, p.DoCache(ctx, hotGet(p.B(), name, k), time.Minute))
			}
		}
	}
	if ch := changedKeys(before, serverState(t, raw)); len(ch) > 0 {
		t.Errorf("a refused batch changed keys: %q", ch)
	}
}

// TestAttackHotRepliesUnprefixed: the replies the fast path gives back
// without a look (Plain): a nil (missing key) and WRONGTYPE, each three
// times so that the later ones go through the fast path, on RESP3 and
// RESP2; and, through Do, server errors that quote the key. No reply
// carries a prefix. (Holds.)
func TestAttackHotRepliesUnprefixed(t *testing.T) {
	for _, resp2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("RESP2=%v", resp2), func(t *testing.T) {
			ctx := context.Background()
			srv := redistest.Start(t)
			raw := srv.NewClient(t, func(o *rueidis.ClientOption) { o.DisableCache = true })
			shared := srv.NewClient(t, func(o *rueidis.ClientOption) { o.AlwaysRESP2, o.DisableCache = resp2, resp2 })
			a := feature.New(shared, "a")
			must(t, raw.Do(ctx, raw.B().Lpush().Key("a:list").Element("x").Build()))
			for range 3 {
				if err := a.DoCache(ctx, a.B().Get().Key("missing").Cache(), time.Minute).Error(); !rueidis.IsRedisNil(err) {
					t.Errorf("GET missing: %v, want nil", err)
				}
				err := a.DoCache(ctx, a.B().Get().Key("list").Cache(), time.Minute).Error()
				if err == nil || strings.Contains(err.Error(), "a:") {
					t.Errorf("GET of a list: %v", err)
				}
				err = a.Do(ctx, a.B().Arbitrary("XPENDING").Keys("stream").Args("g").Build()).Error()
				if err == nil || strings.Contains(err.Error(), "a:") {
					t.Errorf("Do XPENDING: %v (want an error without the prefix)", err)
				}
				// NOGROUP quotes the key; at run time it comes inside EXEC's
				// reply, and is stripped.
				err = a.DoCache(ctx, rueidis.Cacheable(a.B().Arbitrary("XPENDING").Keys("stream").Args("g").Build()), time.Minute).Error()
				if err == nil || strings.Contains(err.Error(), "a:") {
					t.Errorf("DoCache XPENDING: %v (want an error without the prefix)", err)
				}
			}
		})
	}
}

// TestAttackHotCacheErrorKeepsPrefix broke (fixed since) the promise that a part's
// replies look as if no prefix existed: with client-side caching (RESP3,
// rueidis's default), an error the server gives while queueing the
// command, quoting its key, comes back from DoCache and DoMultiCache with
// the prefix in it (first call and fast path alike).
//
// rueidis sends a cached read as CLIENT CACHING YES, MULTI, PTTL k, cmd,
// EXEC; a command refused when queued makes EXEC fail (EXECABORT), and
// rueidis then returns the command's *RedisError as the result's err
// (pipe.go, newErrResult(preErr)), not as its message. unprefix
// (feature/replies.go) calls ReplaceInError on r.ToMessage()'s message,
// which is empty: the text, in r.err, is never rewritten. (An error at
// run time, NOGROUP of XPENDING, comes inside EXEC's reply and is
// stripped; Do strips both.)
//
// Reproduction, Redis 7.0 (no HTTL, which the key table has):
//
//	a := feature.New(rueidisClient, "a") // RESP3, cache on
//	a.DoCache(ctx, rueidis.Cacheable(a.B().Arbitrary("HTTL").Keys("h").Args("FIELDS", "1", "f").Build()), time.Minute)
//	// ERR unknown command 'HTTL', with args beginning with: 'a:h' 'FIELDS' '1' 'f'
//
// and on any server, a command given to feature.RegisterCommand that the
// server lacks (a module not loaded):
// "unknown command 'WIREHOTATTACK.GET', with args beginning with: 'a:secret'".
// unprefix now rewrites such an error where rueidis puts it.
func TestAttackHotCacheErrorKeepsPrefix(t *testing.T) {
	if err := feature.RegisterCommand("WIREHOTATTACK.GET", feature.CommandSpec{Keys: []feature.KeySpec{feature.KeyAt(1)}}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	srv := redistest.Start(t)
	shared := srv.NewClient(t, nil) // RESP3, client-side caching on
	a := feature.New(shared, "a")
	check := func(what string, err error) {
		t.Helper()
		if err == nil || strings.Contains(err.Error(), "a:") {
			t.Errorf("%s: %v (want an error without the prefix)", what, err)
		}
	}
	unknown := func() rueidis.Cacheable {
		return rueidis.Cacheable(a.B().Arbitrary("WIREHOTATTACK.GET").Keys("secret").Build())
	}
	httl := func() rueidis.Cacheable {
		return rueidis.Cacheable(a.B().Arbitrary("HTTL").Keys("h").Args("FIELDS", "1", "f").Build())
	}
	noHTTL := !srv.HasCommand(ctx, "HTTL")
	for round := range 2 { // the second round: the fast path for the 2-argument command
		check(fmt.Sprintf("round %d Do WIREHOTATTACK.GET (holds)", round), a.Do(ctx, rueidis.Completed(unknown())).Error())
		check(fmt.Sprintf("round %d DoCache WIREHOTATTACK.GET", round), a.DoCache(ctx, unknown(), time.Minute).Error())
		rs := a.DoMultiCache(ctx, rueidis.CT(unknown(), time.Minute))
		check(fmt.Sprintf("round %d DoMultiCache WIREHOTATTACK.GET", round), rs[0].Error())
		if noHTTL {
			check(fmt.Sprintf("round %d Do HTTL (holds)", round), a.Do(ctx, rueidis.Completed(httl())).Error())
			check(fmt.Sprintf("round %d DoCache HTTL", round), a.DoCache(ctx, httl(), time.Minute).Error())
		}
	}
}

// TestAttackHotExecKeepsPrefix broke (fixed since) the same promise through DoMulti
// and Dedicated (no fast path involved; found on the way): the replies
// of the commands of a transaction come back inside EXEC's reply, and
// EXEC's reply is not rewritten at all: the names the table says a
// reply carries (LMPOP's key, KEYS's and SCAN's names) and errors that
// quote a key (NOGROUP) keep the prefix. unprefix goes by the command's
// entry; EXEC's is keyless with no names (the same commands outside a
// transaction are stripped; docs/namespacing.md says it holds for
// DoMulti and Dedicated).
//
// Reproduction (RESP3 or RESP2):
//
//	a := feature.New(rueidisClient, "a")
//	b := a.B()
//	rs := a.DoMulti(ctx, b.Multi().Build(), b.Lpush().Key("l").Element("x").Build(),
//		b.Lmpop().Numkeys(1).Key("l").Left().Build(), b.Keys().Pattern("*").Build(),
//		b.Arbitrary("XPENDING").Keys("stream").Args("g").Build(), b.Exec().Build())
//	rs[5] // [1, ["a:l", ["x"]], ["a:..."], NOGROUP No such key 'a:stream' ...]
//
// The part now follows the transaction and rewrites EXEC's elements as
// the queued commands' replies (unprefixAll). (DoStream and DoMultiStream
// also give NOGROUP with the prefix, as docs/namespacing.md says they do:
// not counted as a break.)
func TestAttackHotExecKeepsPrefix(t *testing.T) {
	for _, resp2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("RESP2=%v", resp2), func(t *testing.T) {
			ctx := context.Background()
			srv := redistest.Start(t)
			srv.Require(t, redistest.Commands("Redis 7.0", "LMPOP"))
			shared := srv.NewClient(t, func(o *rueidis.ClientOption) { o.AlwaysRESP2, o.DisableCache = resp2, resp2 })
			a := feature.New(shared, "a")
			txn := func(b rueidis.Builder) []rueidis.Completed {
				return []rueidis.Completed{
					b.Multi().Build(),
					b.Lpush().Key("l").Element("x").Build(),
					b.Lmpop().Numkeys(1).Key("l").Left().Build(),
					b.Set().Key("s").Value("v").Build(),
					b.Keys().Pattern("*").Build(),
					b.Arbitrary("XPENDING").Keys("stream").Args("g").Build(),
					b.Exec().Build(),
				}
			}
			check := func(what string, r rueidis.RedisResult) {
				t.Helper()
				arr, err := r.ToArray()
				if err != nil || len(arr) != 5 {
					t.Fatalf("%s: EXEC = %v, %v", what, arr, err)
				}
				if pop, err := arr[1].ToArray(); err != nil || len(pop) != 2 {
					t.Errorf("%s: LMPOP in EXEC = %v, %v", what, pop, err)
				} else if k, _ := pop[0].ToString(); k != "l" {
					t.Errorf("%s: LMPOP in EXEC names the key %q, want \"l\"", what, k)
				}
				if keys, err := arr[3].AsStrSlice(); err != nil || len(keys) != 1 || keys[0] != "s" {
					t.Errorf("%s: KEYS * in EXEC = %q, %v; want [\"s\"]", what, keys, err)
				}
				if e := arr[4].Error(); e == nil || strings.Contains(e.Error(), "a:") {
					t.Errorf("%s: XPENDING's error in EXEC: %v (want one without the prefix)", what, e)
				}
			}
			check("DoMulti", a.DoMulti(ctx, txn(a.B())...)[6])
			err := a.Dedicated(func(d rueidis.DedicatedClient) error {
				check("Dedicated DoMulti", d.DoMulti(ctx, txn(d.B())...)[6])
				// One command at a time: the part follows the
				// transaction across calls.
				var last rueidis.RedisResult
				for _, cmd := range txn(d.B()) {
					last = d.Do(ctx, cmd)
				}
				check("Dedicated Do", last)
				// Split over two batches, after a discarded transaction.
				b := d.B()
				d.DoMulti(ctx, b.Multi().Build(), b.Keys().Pattern("*").Build(), b.Discard().Build())
				cmds := txn(d.B())
				d.DoMulti(ctx, cmds[:3]...)
				check("Dedicated DoMulti in two", d.DoMulti(ctx, cmds[3:]...)[3])
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			d, cancel := a.Dedicate()
			var last rueidis.RedisResult
			for _, cmd := range txn(d.B()) {
				last = d.Do(ctx, cmd)
			}
			cancel()
			check("Dedicate Do", last)
		})
	}
}

// TestAttackHotClusterBuilders: on a cluster, a hash-tag part {a} and a
// plain part b over one rueidis cluster client. GETs and SETs built with
// each part's fixed B(), the other part's, and the raw client's; cached
// (the fast path) and not; pinned and handed over; DoMultiCache of keys
// in other slots. Each reply is the reader's own value, and a write
// lands on the writer's key alone. (Holds.)
func TestAttackHotClusterBuilders(t *testing.T) {
	ctx := context.Background()
	c := redistest.StartCluster(t, 3, 0)
	nodes := make([]rueidis.Client, 0, 3)
	for _, addr := range c.Primaries() {
		nodes = append(nodes, c.Node(t, addr))
	}
	raw := c.Client
	h := feature.New(raw, "a", feature.WithHashTag())
	b := feature.New(raw, "b")
	keys := []string{"k", "x1", "x2", "x3", "{a}:k", "a:k", "b:k", "{b}k"}
	for _, k := range keys {
		for _, p := range []string{"", "{a}:", "b:"} {
			must(t, raw.Do(ctx, raw.B().Set().Key(p+k).Value(hotValue(p+k)).Build()))
		}
	}
	before := serverState(t, nodes...)
	builders := map[string]func() rueidis.Builder{"h.B": h.B, "b.B": b.B, "raw.B": raw.B}
	for round := range 3 {
		for bn, builder := range builders {
			for _, p := range []*feature.Client{h, b} {
				for _, k := range keys {
					for _, name := range []string{"GET", "get"} {
						cmd := hotGet(builder(), name, k)
						what := fmt.Sprintf("round %d %s %s", round, bn, name)
						if round == 2 {
							cmd = rueidis.Cacheable(rueidis.Completed(cmd).Pin())
							what += " pinned"
						}
						checkGet(t, what, p, k, p.DoCache(ctx, cmd, time.Minute))
					}
					checkGet(t, fmt.Sprintf("round %d %s Do", round, bn), p, k, p.Do(ctx, builder().Get().Key(k).Build()))
				}
				var multi []rueidis.CacheableTTL
				for _, k := range keys {
					multi = append(multi, rueidis.CT(hotGet(builder(), "GET", k), time.Minute))
				}
				for i, r := range p.DoMultiCache(ctx, multi...) {
					checkGet(t, fmt.Sprintf("round %d %s DoMultiCache", round, bn), p, keys[i], r)
				}
			}
		}
	}
	if ch := changedKeys(before, serverState(t, nodes...)); len(ch) > 0 {
		t.Errorf("reads changed keys: %q", ch)
	}
	// Writes: each part SETs every key through every builder, and INCRs
	// through DoCache (accepted, and remembered by the fast path).
	for bn, builder := range builders {
		for _, p := range []*feature.Client{h, b} {
			for _, k := range keys {
				before := serverState(t, nodes...)
				p.Do(ctx, builder().Set().Key(k).Value("w").Build())
				p.DoCache(ctx, rueidis.Cacheable(builder().Arbitrary("INCR").Keys(k+"n").Build()), time.Minute)
				p.DoCache(ctx, rueidis.Cacheable(builder().Arbitrary("incr").Keys(k+"n").Build()), time.Minute)
				for _, ch := range changedKeys(before, serverState(t, nodes...)) {
					if ch != p.Key(k) && ch != p.Key(k+"n") {
						t.Errorf("%s via %s writing %q changed %q", p.Namespace(), bn, k, ch)
					}
				}
			}
		}
	}
}

// TestAttackHotWatchThroughDoCache: Do refuses WATCH sent alone on the
// connection the parts share, but DoCache and DoMultiCache do not check
// it (rewriteCacheableSpec has no transaction rule), and the fast path
// remembers it: with RESP2, or RESP3 with rueidis's cache off, rueidis
// sends it as Do and WATCH a:k stays on the shared pipeline. Part a then
// changes a:k, and part b sends a transaction in one DoMulti. Holds:
// b's transaction still commits, because a part sends MULTI...EXEC on a
// pooled connection of its own (apartFromSubscriptions), never on the
// pipeline the WATCH is on. (The WATCH is still accepted; a raw rueidis
// user of the same client, whose transaction runs on the pipeline, would
// be aborted: outside the parts' promise.)
func TestAttackHotWatchThroughDoCache(t *testing.T) {
	for _, mode := range []string{"RESP2", "RESP3-nocache"} {
		for _, via := range []string{"DoCache", "DoMultiCache"} {
			t.Run(mode+"/"+via, func(t *testing.T) {
				ctx := context.Background()
				srv := redistest.Start(t)
				raw := srv.NewClient(t, func(o *rueidis.ClientOption) { o.DisableCache = true })
				shared := srv.NewClient(t, func(o *rueidis.ClientOption) {
					o.DisableCache = true
					o.AlwaysRESP2 = mode == "RESP2"
				})
				a, b := feature.New(shared, "a"), feature.New(shared, "b")
				if err := a.Do(ctx, a.B().Watch().Key("k").Build()).Error(); err == nil {
					t.Fatal("Do WATCH was not refused")
				}
				for range 2 { // the second time through the fast path
					watch := rueidis.Cacheable(a.B().Watch().Key("k").Build())
					var err error
					if via == "DoCache" {
						err = a.DoCache(ctx, watch, time.Minute).Error()
					} else {
						err = a.DoMultiCache(ctx, rueidis.CT(watch, time.Minute))[0].Error()
					}
					if err != nil {
						return // refused: held
					}
				}
				must(t, a.Do(ctx, a.B().Set().Key("k").Value("1").Build()))
				rs := b.DoMulti(ctx, b.B().Multi().Build(), b.B().Set().Key("x").Value("1").Build(), b.B().Exec().Build())
				exec := rs[2]
				if n, err := raw.Do(ctx, raw.B().Exists().Key("b:x").Build()).AsInt64(); err != nil || n != 1 {
					t.Errorf("b's transaction did not write b:x (EXEC = %v, %v): part a's WATCH, sent by %s, aborted it", exec, exec.Error(), via)
				}
			})
		}
	}
}

// monitor sends MONITOR on a connection of its own and returns the lines
// the server writes, until stop is called.
func monitor(t *testing.T, addr string) (lines func() []string, stop func()) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write([]byte("MONITOR\r\n")); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		r := bufio.NewReader(conn)
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return
			}
			mu.Lock()
			got = append(got, strings.TrimSpace(l))
			mu.Unlock()
		}
	}()
	return func() []string {
			mu.Lock()
			defer mu.Unlock()
			return append([]string(nil), got...)
		}, func() {
			_ = conn.Close()
			<-done
		}
}

// TestAttackHotScriptCacheKeyOutside: DoCache of a read-only script
// built with Arbitrary (EVAL_RO, EVALSHA_RO, FCALL_RO) has no rueidis
// script tag, and rueidis would cache it under args[1], the script: it
// sent PTTL b:secret unprefixed (the server read a key outside the
// namespace), and with FCALL_RO hot_f the part's cached reply was
// dropped when another client wrote the raw key hot_f, so the part could
// watch it. Found by the attacker of the DoCache fast path; the part now
// rebuilds these with the tag, always.
//
// Reproduction (RESP3, rueidis's cache on):
//
//	a := feature.New(rueidisClient, "a")
//	a.DoCache(ctx, rueidis.Cacheable(a.B().Arbitrary("EVAL_RO", "b:secret", "1").Keys("k").Build()), time.Minute)
//	// MONITOR: "PTTL" "b:secret"
func TestAttackHotScriptCacheKeyOutside(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	srv.Require(t, redistest.Commands("Redis 7.0", "EVAL_RO", "FUNCTION"))
	raw := srv.NewClient(t, func(o *rueidis.ClientOption) { o.DisableCache = true })
	shared := srv.NewClient(t, nil)
	a := feature.New(shared, "a")
	must(t, raw.Do(ctx, raw.B().Set().Key("b:secret").Value("s").Px(time.Hour).Build()))

	lines, stop := monitor(t, srv.Addr)
	monitorSees(t, raw, lines, "before")
	if err := a.DoCache(ctx, rueidis.Cacheable(a.B().Arbitrary("EVAL_RO", "return 1", "1").Keys("k").Build()), time.Minute).Error(); err != nil {
		t.Fatal(err)
	}
	_ = a.DoCache(ctx, rueidis.Cacheable(a.B().Arbitrary("EVAL_RO", "b:secret", "1").Keys("k").Build()), time.Minute)
	monitorSees(t, raw, lines, "after")
	stop()
	sawOwn := false
	for _, l := range lines() {
		if strings.Contains(l, `"PTTL" "b:secret"`) {
			t.Errorf("part a sent a command on b:secret: %s", l)
		}
		sawOwn = sawOwn || strings.Contains(l, `"PTTL" "a:k"`)
	}
	if !sawOwn {
		t.Error(`the control: no "PTTL" "a:k" seen, so the cache did not key on the part's key`)
	}

	// FCALL_RO of a function the administrator loaded: a write of the raw
	// key named as the function must not drop the part's cached reply.
	const lib = "#!lua name=hotattack\n" +
		"redis.register_function{function_name='hot_f', callback=function(keys, args) return redis.call('TIME')[1] .. redis.call('TIME')[2] end, flags={'no-writes'}}"
	must(t, raw.Do(ctx, raw.B().FunctionLoad().Replace().FunctionCode(lib).Build()))
	fcall := func() string {
		s, err := a.DoCache(ctx, rueidis.Cacheable(a.B().Arbitrary("FCALL_RO", "hot_f", "1").Keys("k").Build()), time.Minute).ToString()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	first := fcall()
	if again := fcall(); again != first {
		t.Fatalf("the FCALL_RO reply was not cached: %q then %q", first, again)
	}
	must(t, raw.Do(ctx, raw.B().Set().Key("hot_f").Value("x").Build()))
	// An invalidation of hot_f, had the connection tracked it, was written
	// to it before the reply of a command sent after the SET.
	must(t, a.Do(ctx, a.B().Ping().Build()))
	if after := fcall(); after != first {
		t.Errorf("part a saw a write of the raw key hot_f, outside its namespace: its cached FCALL_RO reply was invalidated (%q -> %q)", first, after)
	}
	// The control: a write of the part's own key drops it.
	must(t, a.Do(ctx, a.B().Set().Key("k").Value("x").Build()))
	must(t, a.Do(ctx, a.B().Ping().Build()))
	testsupport.WaitFor(t, 5*time.Second, "a write of a:k to drop the cached FCALL_RO reply", func() bool { return fcall() != first })
}

// monitorSees sends ECHO marker and waits until MONITOR has shown it:
// every command the server ran before it has been seen too.
func monitorSees(t *testing.T, raw rueidis.Client, lines func() []string, marker string) {
	t.Helper()
	testsupport.WaitFor(t, 5*time.Second, "MONITOR to show "+marker, func() bool {
		must(t, raw.Do(context.Background(), raw.B().Echo().Message(marker).Build()))
		for _, l := range lines() {
			if strings.Contains(l, `"ECHO" "`+marker+`"`) {
				return true
			}
		}
		return false
	})
}

// TestAttackHotCacheKeyNotTheKey: DoCache took every command of the
// Keys class, and rueidis caches by args[1] whatever it is. For
// SINTERCARD numkeys key..., the cached key was the count ("1"): rueidis
// sent PTTL 1, the server tracked the raw key "1" (outside every
// namespace), the part's cached reply went stale after its own write,
// and the part saw when another client wrote the raw key "1". The part
// now refuses DoCache of a command whose first argument is not a key;
// judged by the server's command counts (nothing sent).
//
// Reproduction (RESP3, rueidis's cache on):
//
//	a := feature.New(rueidisClient, "a")
//	a.DoCache(ctx, rueidis.Cacheable(a.B().Arbitrary("SINTERCARD", "1").Keys("s").Build()), time.Minute) // MONITOR: "PTTL" "1"
func TestAttackHotCacheKeyNotTheKey(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	shared := srv.NewClient(t, nil)
	a := feature.New(shared, "a")
	must(t, a.Do(ctx, a.B().Sadd().Key("s").Member("x").Build()))
	must(t, a.Do(ctx, a.B().Xadd().Key("st").Id("*").FieldValue().FieldValue("f", "v").Build()))
	cases := [][]string{
		{"SINTERCARD", "1", "s"},
		{"ZUNION", "1", "z"},
		{"LMPOP", "1", "l", "LEFT"},
		{"XREAD", "COUNT", "1", "STREAMS", "st", "0"},
		{"OBJECT", "ENCODING", "s"},
		{"MEMORY", "USAGE", "s"},
		{"XINFO", "STREAM", "st"},
	}
	var present [][]string
	for _, args := range cases {
		if srv.HasCommand(ctx, args[0]) {
			present = append(present, args)
		}
	}
	raw := srv.NewClient(t, func(o *rueidis.ClientOption) { o.DisableCache = true })
	before := commandCalls(t, raw)
	for _, args := range present {
		cmd := func() rueidis.Cacheable {
			return rueidis.Cacheable(a.B().Arbitrary(args[0]).Args(args[1:]...).Build())
		}
		if err := a.DoCache(ctx, cmd(), time.Minute).Error(); !errors.Is(err, feature.ErrBadArguments) {
			t.Errorf("DoCache %q: %v, want ErrBadArguments", args, err)
		}
		if err := a.DoMultiCache(ctx, rueidis.CT(cmd(), time.Minute))[0].Error(); !errors.Is(err, feature.ErrBadArguments) {
			t.Errorf("DoMultiCache %q: %v, want ErrBadArguments", args, err)
		}
	}
	after := commandCalls(t, raw)
	for _, name := range []string{"pttl", "sintercard", "zunion", "lmpop", "xread", "object|encoding", "memory|usage", "xinfo|stream", "multi"} {
		if after[name] != before[name] {
			t.Errorf("the server ran %s %d times during the refused DoCache calls", name, after[name]-before[name])
		}
	}
	// The control: a command whose first argument is its key is cached.
	if err := a.DoCache(ctx, a.B().Scard().Key("s").Cache(), time.Minute).Error(); err != nil {
		t.Fatal(err)
	}
	if got := commandCalls(t, raw)["pttl"]; got == after["pttl"] {
		t.Error("the control: DoCache SCARD s sent no PTTL")
	}
}

// commandCalls reads INFO commandstats: calls by command, lower case,
// subcommands as "object|encoding".
func commandCalls(t *testing.T, raw rueidis.Client) map[string]int64 {
	t.Helper()
	info, err := raw.Do(context.Background(), raw.B().Info().Section("commandstats").Build()).ToString()
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]int64{}
	for _, line := range strings.Split(info, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_")
		if !ok {
			continue
		}
		name, stats, _ := strings.Cut(rest, ":")
		if n, ok := strings.CutPrefix(stats, "calls="); ok {
			n, _, _ = strings.Cut(n, ",")
			calls[name], _ = strconv.ParseInt(n, 10, 64)
		}
	}
	return calls
}

// TestAttackHotExecSkipsWhatWasNotQueued: inside MULTI, the server runs
// WATCH at once and fails it ("WATCH inside MULTI is not allowed")
// without ending the transaction, and refuses a nested MULTI the same
// way: neither is an element of EXEC's reply. Counting them would shift
// every later element onto another command's names: LRANGE's values,
// which start with the part's prefix as data, would be taken for KEYS's
// names and cut. Judged against the values the server holds.
func TestAttackHotExecSkipsWhatWasNotQueued(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	shared := srv.NewClient(t, nil)
	a := feature.New(shared, "a")
	must(t, a.Do(ctx, a.B().Rpush().Key("l").Element("a:value").Build()))
	txn := func(b rueidis.Builder) []rueidis.Completed {
		return []rueidis.Completed{
			b.Multi().Build(),
			b.Arbitrary("WATCH").Keys("w").Build(),
			b.Arbitrary("MULTI").Build(),
			b.Keys().Pattern("l").Build(),
			b.Lrange().Key("l").Start(0).Stop(-1).Build(),
			b.Exec().Build(),
		}
	}
	check := func(what string, exec rueidis.RedisResult) {
		t.Helper()
		if err := exec.Error(); err != nil && strings.Contains(err.Error(), "EXECABORT") {
			return // Valkey 8 refuses WATCH and MULTI inside MULTI, and discards the transaction
		}
		arr, err := exec.ToArray()
		if err != nil || len(arr) != 2 {
			t.Fatalf("%s: EXEC = %v, %v", what, arr, err)
		}
		if keys, _ := arr[0].AsStrSlice(); len(keys) != 1 || keys[0] != "l" {
			t.Errorf("%s: KEYS l in EXEC = %q, want [l]", what, keys)
		}
		if vals, _ := arr[1].AsStrSlice(); len(vals) != 1 || vals[0] != "a:value" {
			t.Errorf("%s: LRANGE in EXEC = %q, want [a:value] (the value as stored)", what, vals)
		}
	}
	err := a.Dedicated(func(d rueidis.DedicatedClient) error {
		var last rueidis.RedisResult
		for _, cmd := range txn(d.B()) {
			last = d.Do(ctx, cmd)
		}
		check("Dedicated Do", last)
		rs := d.DoMulti(ctx, txn(d.B())...)
		check("Dedicated DoMulti", rs[len(rs)-1])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
