package feature_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/redistest"
)

// TestRepliesAsIfNoPrefixExisted sends the same commands to two servers:
// through a part to one, through a plain client to the other. The replies
// must be the same, key and channel names included: a part behaves as if
// it were a Redis of its own. Every command whose reply carries names is
// here (the key table's Reply field), over RESP3 and RESP2, through Do,
// DoMulti and a Dedicated connection; errors that quote a key too.
func TestRepliesAsIfNoPrefixExisted(t *testing.T) {
	a, b := redistest.Start(t), redistest.Start(t)
	ctx := context.Background()
	for _, resp2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("resp2=%t", resp2), func(t *testing.T) {
			edit := func(o *rueidis.ClientOption) { o.AlwaysRESP2, o.DisableCache = resp2, resp2 }
			part := feature.New(a.NewClient(t, edit), "session")
			plain := b.NewClient(t, edit)
			for _, c := range []rueidis.Client{a.Client, b.Client} {
				if err := c.Do(ctx, c.B().Flushall().Build()).Error(); err != nil {
					t.Fatal(err)
				}
			}
			// Every step runs on both sides; setup steps' replies are
			// compared too.
			steps := [][]string{
				{"RPUSH", "list", "a", "b", "c", "d"},
				{"RPUSH", "list2", "x"},
				{"ZADD", "z", "1", "m1", "2", "m2", "3", "m3"},
				{"XADD", "s", "1-1", "f", "v"},
				{"XADD", "s2", "1-1", "g", "w"},
				{"XGROUP", "CREATE", "s", "g", "0"},
				{"SET", "user:1", "x"},
				{"KEYS", "user:*"},
				{"SCAN", "0", "MATCH", "user:*", "COUNT", "1000"},
				{"BLPOP", "empty", "list", "1"},
				{"BRPOP", "list", "1"},
				{"LMPOP", "2", "empty", "list", "LEFT"},
				{"BLMPOP", "1", "2", "empty", "list2", "RIGHT", "COUNT", "2"},
				{"BZPOPMIN", "z", "1"},
				{"BZPOPMAX", "empty", "z", "1"},
				{"ZMPOP", "1", "z", "MIN"},
				{"ZADD", "z", "5", "m5"},
				{"BZMPOP", "1", "1", "z", "MAX", "COUNT", "3"},
				{"XREAD", "STREAMS", "s", "0"},
				{"XREAD", "COUNT", "1", "BLOCK", "10", "STREAMS", "s", "0"},
				{"XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "s", ">"},
				{"XREADGROUP", "GROUP", "nogroup", "c", "STREAMS", "s", ">"},
				{"XREADGROUP", "GROUP", "g", "c", "STREAMS", "nostream", ">"},
				{"XAUTOCLAIM", "s", "g", "c2", "0", "0"},
				{"XGROUP", "SETID", "s", "nogroup", "0"},
				{"XINFO", "CONSUMERS", "s", "nogroup"},
				{"PUBSUB", "NUMSUB", "news", "other"},
				{"PUBSUB", "SHARDNUMSUB", "shard"},
				// Hash field expiry (Redis 7.4): a server without it
				// answers with its own error, which quotes the keys.
				{"HSET", "h", "f", "v"},
				{"HEXPIRE", "h", "100", "FIELDS", "1", "f"},
				{"HTTL", "h", "FIELDS", "2", "f", "nofield"},
				{"HPERSIST", "h", "FIELDS", "1", "f"},
			}
			compare := func(via string, got, want rueidis.RedisResult, args []string) {
				t.Helper()
				g, w := replyText(got, args), replyText(want, args)
				if g != w {
					t.Errorf("%s %q: through the part %s, plain %s", via, args, g, w)
				}
				if strings.Contains(g, "session:") {
					t.Errorf("%s %q: the reply shows the prefix: %s", via, args, g)
				}
			}
			for _, args := range steps {
				build := func(c rueidis.Client) rueidis.Completed {
					if strings.HasPrefix(args[0], "B") || args[0] == "XREAD" && slices.Contains(args, "BLOCK") {
						return c.B().Arbitrary(args...).Blocking()
					}
					return c.B().Arbitrary(args...).Build()
				}
				compare("Do", part.Do(ctx, build(part)), plain.Do(ctx, build(plain)), args)
			}
			// The read-only ones again, in a batch and on a dedicated
			// connection.
			reads := [][]string{{"KEYS", "*"}, {"SCAN", "0", "COUNT", "1000"}, {"XREAD", "STREAMS", "s", "s2", "0", "0"}, {"PUBSUB", "NUMSUB", "news"}}
			batch := func(b rueidis.Builder) rueidis.Commands {
				var out rueidis.Commands
				for _, args := range reads {
					out = append(out, b.Arbitrary(args...).Build())
				}
				return out
			}
			got, want := part.DoMulti(ctx, batch(part.B())...), plain.DoMulti(ctx, batch(plain.B())...)
			for i := range reads {
				compare("DoMulti", got[i], want[i], reads[i])
			}
			var dgot, dwant []rueidis.RedisResult
			if err := part.Dedicated(func(d rueidis.DedicatedClient) error {
				dgot = d.DoMulti(ctx, batch(d.B())...)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if err := plain.Dedicated(func(d rueidis.DedicatedClient) error {
				dwant = d.DoMulti(ctx, batch(d.B())...)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			for i := range reads {
				compare("Dedicated", dgot[i], dwant[i], reads[i])
			}

			// PUBSUB CHANNELS and NUMSUB with a subscriber on each side.
			for side, c := range map[string]rueidis.Client{"part": part, "plain": plain} {
				msgs, stop := receive(t, c, c.B().Subscribe().Channel("news").Build())
				defer stop()
				publishUntilHeard(t, msgs, publish(c, "news", side))
			}
			for _, args := range [][]string{{"PUBSUB", "CHANNELS"}, {"PUBSUB", "CHANNELS", "n*"}, {"PUBSUB", "NUMSUB", "news"}} {
				compare("Do", part.Do(ctx, part.B().Arbitrary(args...).Build()), plain.Do(ctx, plain.B().Arbitrary(args...).Build()), args)
			}

			// A cached read whose reply quotes its key (twice: once
			// cached, if rueidis caches it).
			for range 2 {
				cmd := func(c rueidis.Client) rueidis.Cacheable {
					return rueidis.Cacheable(c.B().Arbitrary("XPENDING", "s", "nogroup").ReadOnly())
				}
				compare("DoCache", part.DoCache(ctx, cmd(part), time.Minute), plain.DoCache(ctx, cmd(plain), time.Minute), []string{"XPENDING", "s", "nogroup"})
			}
			// The commands whose replies carry names do not have their key
			// first, where rueidis keys its cache: DoCache refuses them
			// (TestAttackHotCacheKeyNotTheKey).
			xread := rueidis.Cacheable(part.B().Arbitrary("XREAD", "STREAMS", "s", "0").ReadOnly())
			if err := part.DoCache(ctx, xread, time.Minute).Error(); !errors.Is(err, feature.ErrBadArguments) {
				t.Errorf("DoCache XREAD STREAMS s 0: %v, want ErrBadArguments", err)
			}
		})
	}
}

// replyText is a reply as text, with the order of the names of KEYS,
// SCAN and PUBSUB CHANNELS (which the server does not fix) sorted, and
// stream IDs as they are (both sides write the same ones).
func replyText(r rueidis.RedisResult, args []string) string {
	m, err := r.ToMessage()
	if err != nil && !rueidis.IsRedisNil(err) {
		return "error " + err.Error()
	}
	switch strings.ToUpper(args[0]) {
	case "KEYS", "PUBSUB":
		if strings.EqualFold(args[0], "PUBSUB") && !strings.EqualFold(args[1], "CHANNELS") {
			break
		}
		names, _ := m.AsStrSlice()
		slices.Sort(names)
		return fmt.Sprint(names)
	case "SCAN":
		entry, _ := m.AsScanEntry()
		slices.Sort(entry.Elements)
		return fmt.Sprint(entry.Elements)
	case "XREAD", "XREADGROUP":
		if got, err := m.AsXRead(); err == nil {
			return fmt.Sprint(got)
		}
	case "PUBSUB NUMSUB":
	}
	if strings.EqualFold(args[0], "PUBSUB") && strings.HasSuffix(strings.ToUpper(args[1]), "NUMSUB") {
		if mm, err := m.AsIntMap(); err == nil {
			return fmt.Sprint(mm) // a map in RESP3, pairs in RESP2
		}
	}
	return m.String()
}
