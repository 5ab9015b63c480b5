package registry_test

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/testsupport"
	"github.com/wireredis/wireredis/redistest"
	"github.com/wireredis/wireredis/registry"
)

// TestBadRepliesCloseASocketNotTheProcess: replies that made rueidis
// v1.0.80 panic in its reader, or the runtime fail for want of memory or
// stack, each ended the process. Now each fails the command that got it,
// whether rueidis reads it in the caller's goroutine (a call with a
// deadline on an idle connection) or in its reader goroutine (a call
// without one), and the connection comes back for the next command.
func TestBadRepliesCloseASocketNotTheProcess(t *testing.T) {
	for _, tc := range []struct {
		name, reply string
		refused     bool // else held until the command's deadline
	}{
		{"negative bulk length", "$-2\r\n", true},
		{"negative array length", "*-2\r\n", true},
		{"null map", "%-1\r\n", true},
		{"bulk length past int64 range for make", "$99999999999999999\r\n", true},
		{"streamed string with a negative chunk", "$?\r\n;-4\r\nabcd\r\n", true},
		{"nested four million deep", strings.Repeat("*1\r\n", 1<<22), true},
		{"array of four billion", "*4000000000\r\n", false},
		{"bulk of a terabyte", "$1099511627776\r\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := testsupport.FakeRedis(t, tc.reply)
			reg, logs := newRegistry(t)
			c, release, err := reg.Acquire(context.Background(), load(t, "session", "REDIS_URL=redis://"+addr, "REDIS_PROTOCOL=3"))
			if err != nil {
				t.Fatal(err)
			}
			defer release()
			get := func(ctx context.Context, key string) (string, error) {
				return c.Do(ctx, c.B().Get().Key(key).Build()).ToString()
			}
			// rueidis retries a failed read on a new socket while the
			// context lives: the call ends with the last try's error, the
			// refusal or the deadline, and each try is counted.
			refusedSince := func(before int64) bool {
				s := reg.Stats()
				return len(s) == 1 && s[0].BadReplies > before
			}
			withDeadline, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			_, err = get(withDeadline, "evil")
			switch {
			case tc.refused && (!errors.Is(err, registry.ErrBadReply) && !errors.Is(err, context.DeadlineExceeded) || !refusedSince(0)):
				t.Errorf("GET evil in the caller's goroutine: %v, %+v, want a refusal", err, reg.Stats())
			case !tc.refused && !errors.Is(err, context.DeadlineExceeded):
				t.Errorf("GET evil in the caller's goroutine: %v, want its deadline", err)
			}
			if tc.refused {
				// A call whose context has no deadline moves the socket's
				// replies to rueidis's reader goroutine for good.
				cancellable, cancel := context.WithCancel(context.Background())
				defer cancel()
				if _, err := get(cancellable, "good"); err != nil {
					t.Fatal(err)
				}
				// With a deadline: rueidis retries a read on a new socket
				// while the context lives.
				before := reg.Stats()[0].BadReplies
				withDeadline, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
				defer cancel()
				if _, err := get(withDeadline, "evil"); !errors.Is(err, registry.ErrBadReply) && !errors.Is(err, context.DeadlineExceeded) || !refusedSince(before) {
					t.Errorf("GET evil in rueidis's reader: %v, %+v, want a refusal", err, reg.Stats())
				}
			}
			if v, err := get(context.Background(), "good"); err != nil || v != "value" {
				t.Errorf("GET good after the bad reply: %q, %v", v, err)
			}
			if !tc.refused {
				// The reply waited for bytes that never came, as from a
				// server that stalls mid-reply; nothing was allocated for
				// it.
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapSys > 1<<30 {
					t.Errorf("the heap grew to %d MB", m.HeapSys>>20)
				}
				return
			}
			if s := reg.Stats(); s[0].InFlight != 0 {
				t.Errorf("Stats: %+v, want nothing in flight", s)
			}
			if !strings.Contains(logs.String(), "cannot be read safely") {
				t.Errorf("nothing logged: %s", logs)
			}
		})
	}
}

// TestLargeRepliesFromRedisPassWhole: the guard holds a reply whose
// lengths run ahead of its bytes; what Redis sends always brings its
// bytes, and comes through whole: a 48 MiB string (held until a
// sixteenth of it came), an array of a million elements, a reply nested
// 100 deep, and COMMAND.
func TestLargeRepliesFromRedisPassWhole(t *testing.T) {
	srv := redistest.Start(t)
	reg, _ := newRegistry(t)
	c, release, err := reg.Acquire(context.Background(), load(t, "session", "REDIS_URL="+srv.URL()))
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx := context.Background()
	big := make([]byte, 48<<20)
	for i := range big {
		big[i] = byte(i * 7 % 251)
	}
	if err := c.Do(ctx, c.B().Set().Key("big").Value(rueidis.BinaryString(big)).Build()).Error(); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Do(ctx, c.B().Get().Key("big").Build()).AsBytes(); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("GET big: %d bytes, %v", len(got), err)
	}
	const n = 1_000_000
	if err := c.Do(ctx, c.B().Eval().Script("for i = 1, tonumber(ARGV[1]) do redis.call('RPUSH', KEYS[1], i) end").Numkeys(1).Key("list").Arg(strconv.Itoa(n)).Build()).Error(); err != nil && !rueidis.IsRedisNil(err) {
		t.Fatal(err)
	}
	if list, err := c.Do(ctx, c.B().Lrange().Key("list").Start(0).Stop(-1).Build()).AsStrSlice(); err != nil || len(list) != n || list[n-1] != strconv.Itoa(n) {
		t.Fatalf("LRANGE: %d elements, %v", len(list), err)
	}
	nested, err := c.Do(ctx, c.B().Eval().Script("local t = {1} for i = 1, 99 do t = {t} end return t").Numkeys(0).Build()).ToMessage()
	for depth := 1; err == nil && depth <= 100; depth++ {
		var inner []rueidis.RedisMessage
		if inner, err = nested.ToArray(); err == nil && len(inner) == 1 {
			nested = inner[0]
		}
	}
	if v, e := nested.AsInt64(); err != nil || e != nil || v != 1 {
		t.Fatalf("a reply nested 100 deep: %v, %v, %v", v, err, e)
	}
	if table, err := c.Do(ctx, c.B().Command().Build()).ToArray(); err != nil || len(table) < 200 {
		t.Fatalf("COMMAND: %d commands, %v", len(table), err)
	}
	if s := reg.Stats(); s[0].BadReplies != 0 {
		t.Fatalf("Stats: %+v", s)
	}
}
