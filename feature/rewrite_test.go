package feature_test

import (
	"context"
	"slices"
	"testing"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/redistest"
)

// recorder is a rueidis.Client that keeps what it is asked to send; the
// builder is a real client's (no connection is needed to build commands).
type recorder struct {
	rueidis.Client
	b    rueidis.Builder
	sent []rueidis.Completed
}

func (r *recorder) B() rueidis.Builder { return r.b }

func (r *recorder) Mode() rueidis.ClientMode { return rueidis.ClientModeStandalone }

func (r *recorder) Do(_ context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	r.sent = append(r.sent, cmd)
	return rueidis.NewErrorResult(nil)
}

// newRecorder takes its builder from a real client.
func newRecorder(t testing.TB) *recorder {
	t.Helper()
	return &recorder{b: redistest.Start(t).Client.B()}
}

func TestRewriteKeepsFlagsAndSlot(t *testing.T) {
	rec := newRecorder(t)
	s := feature.New(rec, "session")
	b := rec.b
	tests := []struct {
		name   string
		cmd    rueidis.Completed
		want   rueidis.Completed // built directly with the prefixed keys
		single bool              // one key: its slot is the command's
	}{
		{"GET read-only", b.Get().Key("k").Build(), b.Get().Key("session:k").Build(), true},
		{"SET write", b.Set().Key("k").Value("v").Build(), b.Set().Key("session:k").Value("v").Build(), true},
		{"BLPOP blocking", b.Blpop().Key("a", "b").Timeout(1).Build(), b.Blpop().Key("session:a", "session:b").Timeout(1).Build(), false},
		{"MGET", b.Mget().Key("a", "b").Build(), b.Mget().Key("session:a", "session:b").Build(), false},
		{"piped, retryable", b.Incr().Key("n").Build().ToPipe().ToRetryable(), b.Incr().Key("session:n").Build().ToPipe().ToRetryable(), true},
		{"unblock on cancel", b.Brpop().Key("q").Timeout(0).Build().UnblockOnCancel(), b.Brpop().Key("session:q").Timeout(0).Build().UnblockOnCancel(), true},
		{"XREAD BLOCK keeps read-only", b.Xread().Count(2).Block(100).Streams().Key("s1", "s2").Id("0", "$").Build(), b.Xread().Count(2).Block(100).Streams().Key("session:s1", "session:s2").Id("0", "$").Build(), false},
		{"XREAD BLOCK without COUNT", b.Xread().Block(0).Streams().Key("s").Id("$").Build().UnblockOnCancel(), b.Xread().Block(0).Streams().Key("session:s").Id("$").Build().UnblockOnCancel(), true},
		{"XREAD keys before ids", b.Xread().Count(1).Streams().Key("s1", "s2").Id("0", "$").Build(), b.Xread().Count(1).Streams().Key("session:s1", "session:s2").Id("0", "$").Build(), false},
		{"EVAL numkeys", b.Eval().Script("s").Numkeys(2).Key("a", "b").Arg("x").Build(), b.Eval().Script("s").Numkeys(2).Key("session:a", "session:b").Arg("x").Build(), false},
		{"ZUNIONSTORE", b.Zunionstore().Destination("d").Numkeys(2).Key("a", "b").Weights(1, 2).Build(), b.Zunionstore().Destination("session:d").Numkeys(2).Key("session:a", "session:b").Weights(1, 2).Build(), false},
		{"SORT patterns", b.Arbitrary("SORT").Keys("l").Args("BY", "w_*", "LIMIT", "0", "5", "GET", "#", "get", "d_*->f", "STORE").Keys("out").Build(),
			b.Arbitrary("SORT").Keys("session:l").Args("BY", "session:w_*", "LIMIT", "0", "5", "GET", "#", "get", "session:d_*->f", "STORE").Keys("session:out").Build(), false},
		{"MIGRATE KEYS", b.Arbitrary("MIGRATE", "h", "1", "", "0", "5", "AUTH", "KEYS", "KEYS").Keys("a", "b").Build(),
			b.Arbitrary("MIGRATE", "h", "1", "", "0", "5", "AUTH", "KEYS", "KEYS").Keys("session:a", "session:b").Build(), false},
		{"MIGRATE one key", b.Arbitrary("MIGRATE", "h", "1").Keys("k").Args("0", "5", "COPY").Build(), b.Arbitrary("MIGRATE", "h", "1").Keys("session:k").Args("0", "5", "COPY").Build(), true},
		{"OBJECT ENCODING", b.ObjectEncoding().Key("k").Build(), b.ObjectEncoding().Key("session:k").Build(), true},
		{"PING keyless", b.Ping().Build(), b.Ping().Build(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := slices.Clone(tt.cmd.Commands())
			rec.sent = rec.sent[:0]
			if err := s.Do(context.Background(), tt.cmd).Error(); err != nil {
				t.Fatal(err)
			}
			got := rec.sent[0]
			if !slices.Equal(got.Commands(), tt.want.Commands()) {
				t.Errorf("sent %q, want %q", got.Commands(), tt.want.Commands())
			}
			// The slot is that of a prefixed key. (On a single node rueidis
			// itself takes any key's; a cluster builder insists on one slot.)
			var slots []uint16
			for _, arg := range tt.want.Commands() {
				get := rec.b.Get().Key(arg).Build()
				slots = append(slots, get.Slot())
			}
			if tt.name != "PING keyless" && !slices.Contains(slots, got.Slot()) {
				t.Errorf("slot %d is not that of any prefixed key", got.Slot())
			}
			if tt.single && got.Slot() != tt.want.Slot() {
				t.Errorf("slot %d, want %d (that of the prefixed key)", got.Slot(), tt.want.Slot())
			}
			flags := func(c rueidis.Completed) [5]bool {
				return [5]bool{c.IsBlock(), c.IsReadOnly(), c.IsPipe(), c.IsRetryable(), c.IsUnblockOnCancel()}
			}
			if flags(got) != flags(tt.want) {
				t.Errorf("flags block/readonly/pipe/retryable/unblock = %v, want %v", flags(got), flags(tt.want))
			}
			if !slices.Equal(tt.cmd.Commands(), before) {
				t.Errorf("the caller's command changed to %q", tt.cmd.Commands())
			}
		})
	}
}

func TestScopedRewrite(t *testing.T) {
	rec := newRecorder(t)
	b := rec.b
	tests := []struct {
		ns   string
		cmd  rueidis.Completed
		want []string
	}{
		{"session", b.Keys().Pattern("user:*").Build(), []string{"KEYS", "session:user:*"}},
		{"session", b.Scan().Cursor(0).Build(), []string{"SCAN", "0", "MATCH", "session:*"}},
		{"session", b.Scan().Cursor(7).Match("u*").Count(10).Type("hash").Build(), []string{"SCAN", "7", "MATCH", "session:u*", "COUNT", "10", "TYPE", "hash"}},
		{"a*b?[c]", b.Keys().Pattern("*").Build(), []string{"KEYS", `a\*b\?\[c\]:*`}},
	}
	for _, tt := range tests {
		rec.sent = rec.sent[:0]
		if err := feature.New(rec, tt.ns).Do(context.Background(), tt.cmd).Error(); err != nil {
			t.Fatal(err)
		}
		if got := rec.sent[0].Commands(); !slices.Equal(got, tt.want) {
			t.Errorf("namespace %q: sent %q, want %q", tt.ns, got, tt.want)
		}
	}
}
