package featuretest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/redis/rueidis/mock"
	"go.uber.org/mock/gomock"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/featuretest"
	"github.com/wireredis/wireredis/internal/testsupport"
)

func TestMain(m *testing.M) { testsupport.VerifyTestMain(m) }

// built is the command a part would send for these tokens, prefix and
// all, as the mock receives it.
func built(tokens ...string) rueidis.Completed {
	return mock.NewClient(nil).B().Arbitrary(tokens...).Build()
}

// TestMatchAddsThePrefixWhereTheKeysAre: Match prefixes the keys, and
// only the keys, as the part does.
func TestMatchAddsThePrefixWhereTheKeysAre(t *testing.T) {
	_, session := featuretest.Session(t)
	_, jobs := featuretest.Mock(t, "jobs", feature.WithHashTag())
	for _, c := range []struct {
		part       featuretest.Namespaced
		cmd, match []string
	}{
		{session, []string{"GET", "k"}, []string{"GET", "session:k"}},
		{session, []string{"MSET", "a", "1", "b", "2"}, []string{"MSET", "session:a", "1", "session:b", "2"}},
		{session, []string{"SET", "k", "k", "EX", "10"}, []string{"SET", "session:k", "k", "EX", "10"}},
		{session, []string{"PING"}, []string{"PING"}},
		{jobs, []string{"LPUSH", "q", "job"}, []string{"LPUSH", "{jobs}:q", "job"}},
	} {
		m := featuretest.Match(c.part, c.cmd...)
		if !m.Matches(built(c.match...)) {
			t.Errorf("Match(%v) = %v, does not match %v", c.cmd, m, c.match)
		}
		if m.Matches(built(c.cmd...)) && !slicesEqual(c.cmd, c.match) {
			t.Errorf("Match(%v) matches the command without the prefix", c.cmd)
		}
	}
}

func slicesEqual(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }

// TestMatchRefused: a command the part refuses matches nothing, and the
// matcher (in gomock's "missing call" report) says why.
func TestMatchRefused(t *testing.T) {
	_, session := featuretest.Session(t)
	m := featuretest.Match(session, "FLUSHALL")
	if m.Matches(built("FLUSHALL")) {
		t.Error("a refused command matched")
	}
	if s := m.String(); !strings.Contains(s, "never sends") || !strings.Contains(s, "FLUSHALL") {
		t.Errorf("String() = %q", s)
	}
}

// TestMockServesEveryKindOfCall: DoCache and DoMulti through the part,
// matched without the prefix, and a reply that names a key loses the
// prefix on its way back.
func TestMockServesEveryKindOfCall(t *testing.T) {
	ctx := context.Background()
	m, session := featuretest.Session(t)
	m.EXPECT().DoCache(gomock.Any(), featuretest.Match(session, "GET", "k"), time.Minute).Return(mock.Result(mock.RedisString("v")))
	m.EXPECT().DoMulti(gomock.Any(), featuretest.Match(session, "INCR", "a"), featuretest.Match(session, "INCR", "b")).
		Return([]rueidis.RedisResult{mock.Result(mock.RedisInt64(1)), mock.Result(mock.RedisInt64(2))})
	m.EXPECT().Do(gomock.Any(), featuretest.Match(session, "BLPOP", "q", "1")).
		Return(mock.Result(mock.RedisArray(mock.RedisString(session.Key("q")), mock.RedisString("job"))))

	if v, err := session.DoCache(ctx, session.B().Get().Key("k").Cache(), time.Minute).ToString(); v != "v" || err != nil {
		t.Errorf("DoCache: %q, %v", v, err)
	}
	res := session.DoMulti(ctx, session.B().Incr().Key("a").Build(), session.B().Incr().Key("b").Build())
	if n, err := res[1].AsInt64(); n != 2 || err != nil {
		t.Errorf("DoMulti: %d, %v", n, err)
	}
	kv, err := session.Do(ctx, session.B().Blpop().Key("q").Timeout(1).Build()).AsStrSlice()
	if err != nil || len(kv) != 2 || kv[0] != "q" {
		t.Errorf("BLPOP: %q, %v; want the key without the prefix", kv, err)
	}
}
