package feature_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/internal/rueidisx"
)

// recorder is a rueidis.Client that keeps what it is asked to send; the
// builder is a real client's (no connection is needed to build commands).
type recorder struct {
	rueidis.Client
	b    rueidis.Builder
	sent []rueidis.Completed
}

func (r *recorder) B() rueidis.Builder { return r.b }

// Mode is that of the client the builder comes from: a single-node
// builder marks the commands it builds.
func (r *recorder) Mode() rueidis.ClientMode {
	if ping := r.b.Ping().Build(); ping.Slot()&rueidisx.SingleNodeMark != 0 {
		return rueidis.ClientModeStandalone
	}
	return rueidis.ClientModeCluster
}

func (r *recorder) Do(_ context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	r.sent = append(r.sent, cmd)
	return rueidis.NewErrorResult(nil)
}

func (r *recorder) DoMulti(_ context.Context, multi ...rueidis.Completed) []rueidis.RedisResult {
	r.sent = append(r.sent, multi...)
	return make([]rueidis.RedisResult, len(multi))
}

func (r *recorder) DoCache(_ context.Context, cmd rueidis.Cacheable, _ time.Duration) rueidis.RedisResult {
	r.sent = append(r.sent, rueidis.Completed(cmd))
	return rueidis.NewErrorResult(nil)
}

// newRecorder records what a part over a single Redis would send: the
// rewrite needs a builder, not a server.
func newRecorder(testing.TB) *recorder {
	return &recorder{b: rueidisx.SingleNodeBuilder()}
}

// clusterBuilder returns the command builder of a cluster client: it puts
// each key's slot in the command and refuses keys of different slots.
// Building commands needs no cluster; miniredis answers CLUSTER SLOTS.
func clusterBuilder(t testing.TB) rueidis.Builder {
	t.Helper()
	m := miniredis.RunT(t)
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{m.Addr()}, DisableCache: true, AlwaysRESP2: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if c.Mode() != rueidis.ClientModeCluster {
		t.Fatalf("miniredis gave a %s client, want a cluster one", c.Mode())
	}
	return c.B()
}

// TestRewriteKeepsFlagsAndSlot sends each command through a part, built by
// a single-node and by a cluster builder, as it comes from the builder
// (rewritten in place) and pinned (copied): what is sent is the command
// built directly with the prefixed keys, with the same flags, and the
// slot a cluster routes by.
func TestRewriteKeepsFlagsAndSlot(t *testing.T) {
	tests := []struct {
		name string
		// build returns the command and the same one built directly with
		// prefixed keys. The keys share a hash tag, as a cluster builder
		// insists.
		build func(b rueidis.Builder) (cmd, want rueidis.Completed)
		keyed bool
	}{
		{"GET read-only", func(b rueidis.Builder) (rueidis.Completed, rueidis.Completed) {
			return b.Get().Key("k").Build(), b.Get().Key("session:k").Build()
		}, true},
		{"SET write", func(b rueidis.Builder) (rueidis.Completed, rueidis.Completed) {
			return b.Set().Key("k").Value("v").Build(), b.Set().Key("session:k").Value("v").Build()
		}, true},
		{"BLPOP blocking", func(b rueidis.Builder) (rueidis.Completed, rueidis.Completed) {
			return b.Blpop().Key("{t}a", "{t}b").Timeout(1).Build(), b.Blpop().Key("session:{t}a", "session:{t}b").Timeout(1).Build()
		}, true},
		{"MGET", func(b rueidis.Builder) (rueidis.Completed, rueidis.Completed) {
			return b.Mget().Key("{t}a", "{t}b").Build(), b.Mget().Key("session:{t}a", "session:{t}b").Build()
		}, true},
		{"piped, retryable", func(b rueidis.Builder) (rueidis.Completed, rueidis.Completed) {
			return b.Incr().Key("n").Build().ToPipe().ToRetryable(), b.Incr().Key("session:n").Build().ToPipe().ToRetryable()
		}, true},
		{"unblock on cancel", func(b rueidis.Builder) (rueidis.Completed, rueidis.Completed) {
			return b.Brpop().Key("q").Timeout(0).Build().UnblockOnCancel(), b.Brpop().Key("session:q").Timeout(0).Build().UnblockOnCancel()
		}, true},
		{"XREAD BLOCK keeps read-only", func(b rueidis.Builder) (rueidis.Completed, rueidis.Completed) {
			return b.Xread().Count(2).Block(100).Streams().Key("{t}s1", "{t}s2").Id("0", "$").Build(),
				b.Xread().Count(2).Block(100).Streams().Key("session:{t}s1", "session:{t}s2").Id("0", "$").Build()
		}, true},
		{"XREAD BLOCK without COUNT", func(b rueidis.Builder) (rueidis.Completed, rueidis.Completed) {
			return b.Xread().Block(0).Streams().Key("s").Id("$").Build().UnblockOnCancel(), b.Xread().Block(0).Streams().Key("session:s").Id("$").Build().UnblockOnCancel()
		}, true},
		{"XREAD keys before ids", func(b rueidis.Builder) (rueidis.Completed, rueidis.Completed) {
			return b.Xread().Count(1).Streams().Key("{t}s1", "{t}s2").Id("0", "$").Build(),
				b.Xread().Count(1).Streams().Key("session:{t}s1", "session:{t}s2").Id("0", "$").Build()
		}, true},
		{"EVAL numkeys", func(b rueidis.Builder) (rueidis.Completed, rueidis.Completed) {
			return b.Eval().Script("s").Numkeys(2).Key("{t}a", "{t}b").Arg("x").Build(), b.Eval().Script("s").Numkeys(2).Key("session:{t}a", "session:{t}b").Arg("x").Build()
		}, true},
		{"ZUNIONSTORE", func(b rueidis.Builder) (rueidis.Completed, rueidis.Completed) {
			return b.Zunionstore().Destination("{t}d").Numkeys(2).Key("{t}a", "{t}b").Weights(1, 2).Build(),
				b.Zunionstore().Destination("session:{t}d").Numkeys(2).Key("session:{t}a", "session:{t}b").Weights(1, 2).Build()
		}, true},
		{"SORT patterns", func(b rueidis.Builder) (rueidis.Completed, rueidis.Completed) {
			return b.Arbitrary("SORT").Keys("{t}l").Args("BY", "w_*", "LIMIT", "0", "5", "GET", "#", "get", "d_*->f", "STORE").Keys("{t}out").Build(),
				b.Arbitrary("SORT").Keys("session:{t}l").Args("BY", "session:w_*", "LIMIT", "0", "5", "GET", "#", "get", "session:d_*->f", "STORE").Keys("session:{t}out").Build()
		}, true},
		{"GEORADIUS STORE STORE", func(b rueidis.Builder) (rueidis.Completed, rueidis.Completed) {
			return b.Arbitrary("GEORADIUS").Keys("{t}g").Args("15", "37", "5", "km", "STORE").Keys("{t}a").Args("STORE").Keys("{t}b").Build(),
				b.Arbitrary("GEORADIUS").Keys("session:{t}g").Args("15", "37", "5", "km", "STORE").Keys("session:{t}a").Args("STORE").Keys("session:{t}b").Build()
		}, true},
		{"XREADGROUP with a group named STREAMS", func(b rueidis.Builder) (rueidis.Completed, rueidis.Completed) {
			return b.Arbitrary("XREADGROUP", "COUNT", "1", "GROUP", "STREAMS", "c", "STREAMS").Keys("{t}s").Args(">").Build(),
				b.Arbitrary("XREADGROUP", "COUNT", "1", "GROUP", "STREAMS", "c", "STREAMS").Keys("session:{t}s").Args(">").Build()
		}, true},
		{"OBJECT ENCODING", func(b rueidis.Builder) (rueidis.Completed, rueidis.Completed) {
			return b.ObjectEncoding().Key("k").Build(), b.ObjectEncoding().Key("session:k").Build()
		}, true},
		{"PING keyless", func(b rueidis.Builder) (rueidis.Completed, rueidis.Completed) {
			return b.Ping().Build(), b.Ping().Build()
		}, false},
	}
	flags := func(c rueidis.Completed) [5]bool {
		return [5]bool{c.IsBlock(), c.IsReadOnly(), c.IsPipe(), c.IsRetryable(), c.IsUnblockOnCancel()}
	}
	single := newRecorder(t)
	for _, builder := range []struct {
		name    string
		b       rueidis.Builder
		cluster bool
	}{{"single-node", single.b, false}, {"cluster", clusterBuilder(t), true}} {
		for _, pinned := range []bool{false, true} {
			for _, tt := range tests {
				t.Run(fmt.Sprintf("%s/pinned=%v/%s", builder.name, pinned, tt.name), func(t *testing.T) {
					rec := &recorder{b: builder.b}
					s := feature.New(rec, "session")
					cmd, want := tt.build(builder.b)
					if pinned {
						cmd = cmd.Pin()
					}
					before, slot := slices.Clone(cmd.Commands()), cmd.Slot()
					sends := 1
					if pinned {
						sends = 2 // a pinned command is sent again
					}
					for range sends {
						if err := s.Do(context.Background(), cmd).Error(); err != nil {
							t.Fatal(err)
						}
					}
					for _, got := range rec.sent {
						if !slices.Equal(got.Commands(), want.Commands()) {
							t.Errorf("sent %q, want %q", got.Commands(), want.Commands())
						}
						if flags(got) != flags(want) {
							t.Errorf("flags block/readonly/pipe/retryable/unblock = %v, want %v", flags(got), flags(want))
						}
						switch {
						case !tt.keyed:
						case builder.cluster || pinned:
							// A cluster routes by it; a copy is built anew.
							if got.Slot() != want.Slot() {
								t.Errorf("slot %d, want %d (that of the prefixed keys)", got.Slot(), want.Slot())
							}
						case got.Slot() != slot:
							// A single node only spreads cached reads over
							// its connections by it: left as built.
							t.Errorf("slot %d, want %d (as built)", got.Slot(), slot)
						}
					}
					if pinned && !slices.Equal(cmd.Commands(), before) {
						t.Errorf("the caller's pinned command changed to %q", cmd.Commands())
					}
				})
			}
		}
	}
}

// TestScopedRewrite: KEYS and SCAN see the namespace only. A command
// handed over gets its patterns prefixed in place; a pinned one is copied
// and stays as it was, to be sent again.
func TestScopedRewrite(t *testing.T) {
	rec := newRecorder(t)
	b := rec.b
	tests := []struct {
		ns   string
		cmd  func() rueidis.Completed
		want []string
	}{
		{"session", func() rueidis.Completed { return b.Keys().Pattern("user:*").Build() }, []string{"KEYS", "session:user:*"}},
		{"session", func() rueidis.Completed { return b.Scan().Cursor(0).Build() }, []string{"SCAN", "0", "MATCH", "session:*"}},
		{"session", func() rueidis.Completed { return b.Scan().Cursor(7).Match("u*").Count(10).Type("hash").Build() }, []string{"SCAN", "7", "MATCH", "session:u*", "COUNT", "10", "TYPE", "hash"}},
		{"session:a", func() rueidis.Completed { return b.Keys().Pattern("*").Build() }, []string{"KEYS", "session:a:*"}},
		// A pattern that reads "MATCH" is a pattern, not the keyword; every
		// MATCH, in any case, gets the namespace.
		{"session", func() rueidis.Completed {
			return b.Arbitrary("SCAN", "0", "match", "MATCH", "COUNT", "5", "MATCH", "x*").Build()
		},
			[]string{"SCAN", "0", "match", "session:MATCH", "COUNT", "5", "MATCH", "session:x*"}},
		{"session", func() rueidis.Completed { return b.Arbitrary("SCAN", "0", "COUNT", "MATCH").Build() }, []string{"SCAN", "0", "COUNT", "MATCH", "MATCH", "session:*"}},
	}
	for _, tt := range tests {
		for _, pinned := range []bool{false, true} {
			rec.sent = rec.sent[:0]
			cmd := tt.cmd()
			if pinned {
				cmd = cmd.Pin()
			}
			asBuilt := slices.Clone(cmd.Commands())
			if err := feature.New(rec, tt.ns).Do(context.Background(), cmd).Error(); err != nil {
				t.Fatal(err)
			}
			if got := rec.sent[0].Commands(); !slices.Equal(got, tt.want) {
				t.Errorf("namespace %q, pinned %v: sent %q, want %q", tt.ns, pinned, got, tt.want)
			}
			if got := cmd.Commands(); pinned && !slices.Equal(got, asBuilt) {
				t.Errorf("pinned %q became %q", asBuilt, got)
			}
		}
	}
}

// TestDoCacheOfAHotKey reads keys again and again through DoCache, as a
// client-side cache is used: the part remembers their prefixed names
// (hotKeys), and what it sends must not change for it, on a single node
// or on a cluster, for one command or another on the same key, for one
// part or another.
func TestDoCacheOfAHotKey(t *testing.T) {
	for _, builder := range []struct {
		name    string
		b       rueidis.Builder
		cluster bool
	}{{"single-node", newRecorder(t).b, false}, {"cluster", clusterBuilder(t), true}} {
		t.Run(builder.name, func(t *testing.T) {
			rec := &recorder{b: builder.b}
			session, cache := feature.New(rec, "session"), feature.New(rec, "cache")
			ctx := context.Background()
			b := builder.b
			for range 3 {
				for _, tc := range []struct {
					part rueidis.Client
					cmd  rueidis.Cacheable
					want []string
				}{
					{session, b.Get().Key("k").Cache(), []string{"GET", "session:k"}},
					{session, b.Hgetall().Key("k").Cache(), []string{"HGETALL", "session:k"}},
					{cache, b.Get().Key("k").Cache(), []string{"GET", "cache:k"}},
					{session, b.Get().Key("k").Cache().Pin(), []string{"GET", "session:k"}},
				} {
					rec.sent = rec.sent[:0]
					if err := tc.part.DoCache(ctx, tc.cmd, time.Minute).Error(); err != nil {
						t.Fatal(err)
					}
					got := rec.sent[0]
					if !slices.Equal(got.Commands(), tc.want) {
						t.Fatalf("sent %q, want %q", got.Commands(), tc.want)
					}
					if want := b.Get().Key(tc.want[1]).Build(); builder.cluster && got.Slot() != want.Slot() {
						t.Errorf("%q: slot %d, want %d", tc.want, got.Slot(), want.Slot())
					}
				}
			}
			// A batch of hot keys, one refused: nothing is written.
			get := b.Get().Key("k").Cache()
			res := session.DoMultiCache(ctx, rueidis.CT(get, time.Minute), rueidis.CT(b.EvalRo().Script("s").Numkeys(2).Key("{t}a", "{t}b").Cache(), time.Minute))
			if !errors.Is(res[1].Error(), feature.ErrBadArguments) {
				t.Fatalf("DoMultiCache: %v", res[1].Error())
			}
			if got := get.Commands(); !slices.Equal(got, []string{"GET", "k"}) {
				t.Errorf("a hot key of a refused batch became %q", got)
			}
		})
	}
}
