package rueidisx_test

import (
	"context"
	"testing"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/rueidisx"
	"github.com/wireredis/wireredis/redistest"
)

// TestMessageVerified fails when a rueidis upgrade changes RedisMessage:
// parts would then show the prefix in replies again.
func TestMessageVerified(t *testing.T) {
	if !rueidisx.MessageVerified() {
		t.Fatal("the layout of rueidis's RedisMessage is not the one rueidisx mirrors: update the mirror in message.go")
	}
}

// TestReplyRewriting changes replies a real server sent, under RESP3 and
// RESP2: arrays, maps, nested arrays, errors, and a clone that leaves the
// original as it was.
func TestReplyRewriting(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	for _, resp2 := range []bool{false, true} {
		c := srv.NewClient(t, func(o *rueidis.ClientOption) { o.AlwaysRESP2 = resp2; o.DisableCache = resp2 })
		do := func(args ...string) rueidis.RedisMessage {
			t.Helper()
			m, err := c.Do(ctx, c.B().Arbitrary(args...).Build()).ToMessage()
			if err != nil && !rueidis.IsRedisNil(err) {
				if _, isRedis := rueidis.IsRedisErr(err); !isRedis {
					t.Fatal(err)
				}
			}
			return m
		}
		do("DEL", "p:a", "p:b", "p:s")
		do("SET", "p:a", "1")
		do("SET", "p:b", "2")
		keys := do("KEYS", "p:*")
		elems := rueidisx.Elements(&keys)
		for i := range elems {
			if !rueidisx.TrimPrefix(&elems[i], "p:") {
				t.Errorf("resp2=%t: KEYS element %v kept its prefix", resp2, elems[i].String())
			}
		}
		if got, _ := keys.AsStrSlice(); len(got) != 2 || got[0]+got[1] != "ab" && got[0]+got[1] != "ba" {
			t.Errorf("resp2=%t: KEYS after trimming = %q", resp2, got)
		}
		if rueidisx.TrimPrefix(&elems[0], "p:") {
			t.Errorf("resp2=%t: trimmed a name without the prefix", resp2)
		}

		do("XADD", "p:s", "1-1", "f", "v")
		xread := do("XREAD", "STREAMS", "p:s", "0")
		copied := rueidisx.Clone(xread)
		streams := rueidisx.Elements(&copied)
		if rueidisx.IsMap(&copied) != !resp2 {
			t.Errorf("resp2=%t: XREAD reply IsMap = %t", resp2, !resp2)
		}
		if rueidisx.IsMap(&copied) {
			rueidisx.TrimPrefix(&streams[0], "p:")
		} else {
			rueidisx.TrimPrefix(&rueidisx.Elements(&streams[0])[0], "p:")
		}
		if got, err := copied.AsXRead(); err != nil || len(got["s"]) != 1 {
			t.Errorf("resp2=%t: XREAD after trimming = %v %v", resp2, got, err)
		}
		if got, _ := xread.AsXRead(); len(got["p:s"]) != 1 {
			t.Errorf("resp2=%t: trimming the clone changed the original: %v", resp2, got)
		}

		nogroup := do("XREADGROUP", "GROUP", "g", "c", "STREAMS", "p:s", ">")
		if !rueidisx.ReplaceInError(&nogroup, "'p:", "'") {
			t.Fatalf("resp2=%t: NOGROUP = %v", resp2, nogroup.String())
		}
		if err := nogroup.Error(); err == nil || err.Error() != "NOGROUP No such key 's' or consumer group 'g' in XREADGROUP with GROUP option" {
			t.Errorf("resp2=%t: error after rewriting = %v", resp2, err)
		}
	}
}

// TestPlainAgreesWithError compares Plain with rueidis's own Error on
// what a real server sends, RESP3 and RESP2, and on a client error; it
// fails when a rueidis upgrade changes RedisResult (Plain then asks
// rueidis, which is slower).
func TestPlainAgreesWithError(t *testing.T) {
	if !rueidisx.ResultVerified() {
		t.Fatal("the layout of rueidis's RedisResult is not the one rueidisx mirrors: update the mirror in message.go")
	}
	srv := redistest.Start(t)
	ctx := context.Background()
	for _, resp2 := range []bool{false, true} {
		c := srv.NewClient(t, func(o *rueidis.ClientOption) { o.AlwaysRESP2 = resp2; o.DisableCache = resp2 })
		_ = c.Do(ctx, c.B().Arbitrary("SET", "plain:s", "v").Build())
		for _, args := range [][]string{
			{"GET", "plain:s"}, {"GET", "plain:missing"}, {"INCR", "plain:s"}, {"PING"},
			{"MGET", "plain:s", "plain:missing"}, {"HGETALL", "plain:s"}, {"NOSUCHCOMMAND"},
			{"DBSIZE"}, {"EVAL", "return redis.error_reply('MY own')", "0"},
			{"EVAL", "return false", "0"}, {"EVAL", "return {err='E2'}", "0"}, {"EVAL", "return 1.5", "0"},
		} {
			r := c.Do(ctx, c.B().Arbitrary(args...).Build())
			if got, want := rueidisx.Plain(&r), r.Error() == nil; got != want {
				t.Errorf("resp2=%v %q: Plain %v, Error %v", resp2, args, got, r.Error())
			}
		}
	}
	r := rueidis.NewErrorResult(context.Canceled)
	if rueidisx.Plain(&r) {
		t.Error("Plain of a client error is true")
	}
}
