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
	"github.com/wireredis/wireredis/internal/testsupport"
	"github.com/wireredis/wireredis/redistest"
)

func TestMain(m *testing.M) { testsupport.VerifyTestMain(m) }

// serverKeys lists every key on the server, sorted.
func serverKeys(t *testing.T, srv *redistest.Server) []string {
	t.Helper()
	keys, err := srv.Client.Do(context.Background(), srv.Client.B().Keys().Pattern("*").Build()).AsStrSlice()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	return keys
}

func flush(t *testing.T, srv *redistest.Server) {
	t.Helper()
	if err := srv.Client.Do(context.Background(), srv.Client.B().Flushall().Build()).Error(); err != nil {
		t.Fatal(err)
	}
}

// must fails the test on an error result.
func must(t *testing.T, r rueidis.RedisResult) rueidis.RedisMessage {
	t.Helper()
	m, err := r.ToMessage()
	if err != nil && !rueidis.IsRedisNil(err) {
		t.Fatalf("unexpected error: %v", err)
	}
	return m
}

func str(t *testing.T, r rueidis.RedisResult) string {
	t.Helper()
	s, err := r.ToString()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	return s
}

// TestFamilies runs each command family through a part and checks what the
// server holds afterwards: only prefixed keys, with the values the part
// wrote.
func TestFamilies(t *testing.T) {
	srv := redistest.Start(t)
	s := feature.New(srv.NewClient(t, nil), "session")
	ctx := context.Background()
	b := s.B()
	// The commands Redis 7.0 added are sent where the server has them;
	// elsewhere the subtest "Redis 7.0 commands" says they were not.
	has70 := srv.HasCommand(ctx, "LMPOP")
	tests := []struct {
		name     string
		run      func(t *testing.T)
		wantKeys []string
	}{
		{"strings", func(t *testing.T) {
			must(t, s.Do(ctx, b.Set().Key("user:1").Value("ann").Build()))
			must(t, s.Do(ctx, b.Append().Key("user:1").Value("e").Build()))
			must(t, s.Do(ctx, b.Incr().Key("visits").Build()))
			must(t, s.Do(ctx, b.Incrby().Key("visits").Increment(4).Build()))
			must(t, s.Do(ctx, b.Setex().Key("tmp").Seconds(60).Value("t").Build()))
			must(t, s.Do(ctx, b.Setrange().Key("tmp").Offset(0).Value("T").Build()))
			if got := str(t, s.Do(ctx, b.Get().Key("user:1").Build())); got != "anne" {
				t.Errorf("GET user:1 = %q", got)
			}
			if got := str(t, s.Do(ctx, b.Getdel().Key("tmp").Build())); got != "T" {
				t.Errorf("GETDEL tmp = %q", got)
			}
			if got := str(t, srv.Client.Do(ctx, srv.Client.B().Get().Key("session:visits").Build())); got != "5" {
				t.Errorf("server session:visits = %q", got)
			}
		}, []string{"session:user:1", "session:visits"}},
		{"mget mset", func(t *testing.T) {
			must(t, s.Do(ctx, b.Mset().KeyValue().KeyValue("a", "1").KeyValue("b", "2").Build()))
			must(t, s.Do(ctx, b.Msetnx().KeyValue().KeyValue("c", "3").KeyValue("d", "4").Build()))
			got, err := s.Do(ctx, b.Mget().Key("a", "b", "c", "missing").Build()).ToArray()
			if err != nil || len(got) != 4 {
				t.Fatalf("MGET: %v %v", got, err)
			}
			if v, _ := got[1].ToString(); v != "2" {
				t.Errorf("MGET b = %q", v)
			}
			if !got[3].IsNil() {
				t.Errorf("MGET missing is not nil")
			}
			// rueidis's MGet helper keys its map from the command it built.
			m, err := rueidis.MGet(s, ctx, []string{"a", "d"})
			if err != nil || len(m) != 2 {
				t.Fatalf("rueidis.MGet: %v %v", m, err)
			}
			d := m["d"]
			if v, _ := d.ToString(); v != "4" {
				t.Errorf("rueidis.MGet[d] = %q (map %v)", v, m)
			}
		}, []string{"session:a", "session:b", "session:c", "session:d"}},
		{"hashes", func(t *testing.T) {
			must(t, s.Do(ctx, b.Hset().Key("h").FieldValue().FieldValue("f1", "v1").FieldValue("f2", "v2").Build()))
			must(t, s.Do(ctx, b.Hincrby().Key("h").Field("n").Increment(3).Build()))
			must(t, s.Do(ctx, b.Hdel().Key("h").Field("f2").Build()))
			m, err := s.Do(ctx, b.Hgetall().Key("h").Build()).AsStrMap()
			if err != nil || m["f1"] != "v1" || m["n"] != "3" || len(m) != 2 {
				t.Errorf("HGETALL = %v %v", m, err)
			}
		}, []string{"session:h"}},
		{"lists", func(t *testing.T) {
			must(t, s.Do(ctx, b.Rpush().Key("q").Element("a", "b", "c").Build()))
			must(t, s.Do(ctx, b.Lpush().Key("q").Element("z").Build()))
			must(t, s.Do(ctx, b.Lmove().Source("q").Destination("done").Left().Right().Build()))
			must(t, s.Do(ctx, b.Rpoplpush().Source("q").Destination("done").Build()))
			got, _ := s.Do(ctx, b.Lrange().Key("done").Start(0).Stop(-1).Build()).AsStrSlice()
			if fmt.Sprint(got) != "[c z]" { // LMOVE z to the right, then RPOPLPUSH c to the left
				t.Errorf("LRANGE done = %v", got)
			}
		}, []string{"session:done", "session:q"}},
		{"sets", func(t *testing.T) {
			must(t, s.Do(ctx, b.Sadd().Key("s1").Member("a", "b", "c").Build()))
			must(t, s.Do(ctx, b.Sadd().Key("s2").Member("b", "c", "d").Build()))
			must(t, s.Do(ctx, b.Sinterstore().Destination("both").Key("s1", "s2").Build()))
			must(t, s.Do(ctx, b.Smove().Source("s1").Destination("s3").Member("a").Build()))
			got, _ := s.Do(ctx, b.Smembers().Key("both").Build()).AsStrSlice()
			slices.Sort(got)
			if fmt.Sprint(got) != "[b c]" {
				t.Errorf("SMEMBERS both = %v", got)
			}
			if n, _ := s.Do(ctx, b.Sintercard().Numkeys(2).Key("s1", "s2").Build()).AsInt64(); has70 && n != 2 {
				t.Errorf("SINTERCARD = %d", n)
			}
		}, []string{"session:both", "session:s1", "session:s2", "session:s3"}},
		{"sorted sets", func(t *testing.T) {
			must(t, s.Do(ctx, b.Zadd().Key("z1").ScoreMember().ScoreMember(1, "a").ScoreMember(2, "b").Build()))
			must(t, s.Do(ctx, b.Zadd().Key("z2").ScoreMember().ScoreMember(10, "b").Build()))
			must(t, s.Do(ctx, b.Zincrby().Key("z1").Increment(5).Member("a").Build()))
			must(t, s.Do(ctx, b.Zunionstore().Destination("zu").Numkeys(2).Key("z1", "z2").Build()))
			got, _ := s.Do(ctx, b.Zrange().Key("zu").Min("0").Max("-1").Withscores().Build()).AsZScores()
			if len(got) != 2 || got[0].Member != "a" || got[0].Score != 6 || got[1].Member != "b" || got[1].Score != 12 {
				t.Errorf("ZRANGE zu = %v", got)
			}
		}, []string{"session:z1", "session:z2", "session:zu"}},
		{"generic key commands", func(t *testing.T) {
			for _, k := range []string{"k1", "k2", "k3", "k4"} {
				must(t, s.Do(ctx, b.Set().Key(k).Value(k).Build()))
			}
			if n, _ := s.Do(ctx, b.Exists().Key("k1", "k2", "nope").Build()).AsInt64(); n != 2 {
				t.Errorf("EXISTS = %d", n)
			}
			must(t, s.Do(ctx, b.Expire().Key("k1").Seconds(100).Build()))
			must(t, s.Do(ctx, b.Pexpire().Key("k2").Milliseconds(100000).Build()))
			must(t, s.Do(ctx, b.Expireat().Key("k3").Timestamp(time.Now().Add(time.Hour).Unix()).Build()))
			must(t, s.Do(ctx, b.Persist().Key("k3").Build()))
			if ttl, _ := s.Do(ctx, b.Ttl().Key("k1").Build()).AsInt64(); ttl <= 0 || ttl > 100 {
				t.Errorf("TTL k1 = %d", ttl)
			}
			if pttl, _ := s.Do(ctx, b.Pttl().Key("k2").Build()).AsInt64(); pttl <= 0 {
				t.Errorf("PTTL k2 = %d", pttl)
			}
			if et, _ := s.Do(ctx, b.Expiretime().Key("k3").Build()).AsInt64(); has70 && et != -1 {
				t.Errorf("EXPIRETIME k3 = %d after PERSIST", et)
			}
			if typ := str(t, s.Do(ctx, b.Type().Key("k4").Build())); typ != "string" {
				t.Errorf("TYPE = %s", typ)
			}
			must(t, s.Do(ctx, b.Rename().Key("k4").Newkey("k5").Build()))
			must(t, s.Do(ctx, b.Renamenx().Key("k5").Newkey("k6").Build()))
			must(t, s.Do(ctx, b.Copy().Source("k6").Destination("k7").Build()))
			if n, _ := s.Do(ctx, b.Touch().Key("k6", "k7").Build()).AsInt64(); n != 2 {
				t.Errorf("TOUCH = %d", n)
			}
			must(t, s.Do(ctx, b.Del().Key("k1").Build()))
			must(t, s.Do(ctx, b.Unlink().Key("k2").Build()))
		}, []string{"session:k3", "session:k6", "session:k7"}},
		{"blocking pops", func(t *testing.T) {
			must(t, s.Do(ctx, b.Rpush().Key("jobs").Element("j1", "j2", "j3", "j4").Build()))
			must(t, s.Do(ctx, b.Zadd().Key("prio").ScoreMember().ScoreMember(1, "low").ScoreMember(9, "high").ScoreMember(5, "mid").Build()))
			popped, _ := s.Do(ctx, b.Blpop().Key("empty", "jobs").Timeout(1).Build()).AsStrSlice()
			if fmt.Sprint(popped) != "[jobs j1]" {
				t.Errorf("BLPOP = %v (the reply names the key as the part wrote it)", popped)
			}
			popped, _ = s.Do(ctx, b.Brpop().Key("jobs").Timeout(1).Build()).AsStrSlice()
			if fmt.Sprint(popped) != "[jobs j4]" {
				t.Errorf("BRPOP = %v", popped)
			}
			must(t, s.Do(ctx, b.Blmove().Source("jobs").Destination("taken").Left().Left().Timeout(1).Build()))
			if has70 {
				must(t, s.Do(ctx, b.Blmpop().Timeout(1).Numkeys(2).Key("empty", "jobs").Left().Build()))
			} else {
				must(t, s.Do(ctx, b.Lpop().Key("jobs").Build()))
			}
			zmax, _ := s.Do(ctx, b.Bzpopmax().Key("prio").Timeout(1).Build()).AsStrSlice()
			if len(zmax) != 3 || zmax[0] != "prio" || zmax[1] != "high" {
				t.Errorf("BZPOPMAX = %v", zmax)
			}
			must(t, s.Do(ctx, b.Bzpopmin().Key("prio").Timeout(1).Build()))
			if has70 {
				must(t, s.Do(ctx, b.Bzmpop().Timeout(1).Numkeys(1).Key("prio").Min().Build()))
			} else {
				must(t, s.Do(ctx, b.Zpopmin().Key("prio").Build()))
			}
		}, []string{"session:taken"}},
		{"blocking pop wakes on a push from another part's view", func(t *testing.T) {
			done := make(chan []string)
			go func() {
				got, _ := s.Do(ctx, b.Blpop().Key("inbox").Timeout(5).Build()).AsStrSlice()
				done <- got
			}()
			testsupport.WaitFor(t, 5*time.Second, "the BLPOP to block on the server", func() bool {
				return strings.Contains(str(t, srv.Client.Do(ctx, srv.Client.B().Info().Section("clients").Build())), "blocked_clients:1")
			})
			// The server-side name is what an outside writer uses.
			must(t, srv.Client.Do(ctx, srv.Client.B().Rpush().Key("session:inbox").Element("hi").Build()))
			if got := <-done; fmt.Sprint(got) != "[inbox hi]" {
				t.Errorf("BLPOP = %v", got)
			}
		}, nil},
		{"scripts", func(t *testing.T) {
			const script = "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('GET', KEYS[2])"
			must(t, s.Do(ctx, b.Set().Key("src").Value("from-src").Build()))
			got := str(t, s.Do(ctx, b.Eval().Script(script).Numkeys(2).Key("dst", "src").Arg("v1").Build()))
			if got != "from-src" {
				t.Errorf("EVAL = %q", got)
			}
			// Loading scripts is the administrator's (the script cache is
			// the whole server's); running them is the part's.
			sha := str(t, srv.Client.Do(ctx, srv.Client.B().ScriptLoad().Script(script).Build()))
			must(t, s.Do(ctx, b.Evalsha().Sha1(sha).Numkeys(2).Key("dst2", "src").Arg("v2").Build()))
			if !has70 {
				return
			}
			if v := str(t, s.Do(ctx, b.EvalRo().Script("return redis.call('GET', KEYS[1])").Numkeys(1).Key("dst2").Build())); v != "v2" {
				t.Errorf("EVAL_RO = %q", v)
			}
		}, []string{"session:dst", "session:dst2", "session:src"}},
		{"keyless", func(t *testing.T) {
			if got := str(t, s.Do(ctx, b.Ping().Build())); got != "PONG" {
				t.Errorf("PING = %q", got)
			}
			if got := str(t, s.Do(ctx, b.Echo().Message("hi").Build())); got != "hi" {
				t.Errorf("ECHO = %q", got)
			}
			// COMMAND is the one container the server takes bare.
			if cmds, err := s.Do(ctx, b.Command().Build()).ToArray(); err != nil || len(cmds) < 200 {
				t.Errorf("COMMAND: %d entries, %v", len(cmds), err)
			}
		}, nil},
		{"keys and scan see only the namespace", func(t *testing.T) {
			must(t, srv.Client.Do(ctx, srv.Client.B().Set().Key("cache:user:9").Value("x").Build()))
			must(t, srv.Client.Do(ctx, srv.Client.B().Set().Key("user:8").Value("x").Build()))
			must(t, s.Do(ctx, b.Set().Key("user:7").Value("x").Build()))
			keys, _ := s.Do(ctx, b.Keys().Pattern("user:*").Build()).AsStrSlice()
			if fmt.Sprint(keys) != "[user:7]" {
				t.Errorf("KEYS user:* = %v", keys)
			}
			entry, err := s.Do(ctx, b.Scan().Cursor(0).Count(1000).Build()).AsScanEntry()
			if err != nil || fmt.Sprint(entry.Elements) != "[user:7]" {
				t.Errorf("SCAN without MATCH = %v %v", entry.Elements, err)
			}
			entry, _ = s.Do(ctx, b.Scan().Cursor(0).Match("user:*").Count(1000).Build()).AsScanEntry()
			if fmt.Sprint(entry.Elements) != "[user:7]" {
				t.Errorf("SCAN MATCH user:* = %v", entry.Elements)
			}
		}, []string{"cache:user:9", "session:user:7", "user:8"}},
		{"Redis 7.0 commands", func(t *testing.T) {
			// SINTERCARD, EXPIRETIME, BLMPOP, BZMPOP and EVAL_RO ran in
			// the subtests above.
			srv.Require(t, redistest.Redis70)
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flush(t, srv)
			tt.run(t)
			if got := serverKeys(t, srv); !slices.Equal(got, tt.wantKeys) {
				t.Errorf("server keys = %v, want %v", got, tt.wantKeys)
			}
		})
	}
}

func TestPartsDoNotSeeEachOther(t *testing.T) {
	srv := redistest.Start(t)
	shared := srv.NewClient(t, nil)
	s, c := feature.New(shared, "session"), feature.New(shared, "cache")
	ctx := context.Background()
	must(t, s.Do(ctx, s.B().Set().Key("user:1").Value("session-data").Build()))
	must(t, c.Do(ctx, c.B().Set().Key("user:1").Value("cache-data").Build()))
	if got := str(t, s.Do(ctx, s.B().Get().Key("user:1").Build())); got != "session-data" {
		t.Errorf("session GET = %q", got)
	}
	if got := str(t, c.Do(ctx, c.B().Get().Key("user:1").Build())); got != "cache-data" {
		t.Errorf("cache GET = %q", got)
	}
	must(t, c.Do(ctx, c.B().Del().Key("user:1").Build()))
	if got := str(t, s.Do(ctx, s.B().Get().Key("user:1").Build())); got != "session-data" {
		t.Errorf("cache's DEL reached session: GET = %q", got)
	}
	if keys, _ := c.Do(ctx, c.B().Keys().Pattern("*").Build()).AsStrSlice(); len(keys) != 0 {
		t.Errorf("cache KEYS * = %v", keys)
	}
}

func TestRefusedAndUnknownCommands(t *testing.T) {
	srv := redistest.Start(t)
	s := feature.New(srv.NewClient(t, nil), "session")
	ctx := context.Background()
	b := s.B()
	must(t, srv.Client.Do(ctx, srv.Client.B().Set().Key("other:k").Value("keep").Build()))
	tests := []struct {
		name    string
		cmd     rueidis.Completed
		command string
		is      error
		hint    string
	}{
		{"flushdb", b.Flushdb().Build(), "FLUSHDB", feature.ErrRefused, "SCAN (scoped to the namespace)"},
		{"flushall", b.Flushall().Build(), "FLUSHALL", feature.ErrRefused, "every namespace"},
		{"randomkey", b.Randomkey().Build(), "RANDOMKEY", feature.ErrRefused, "another namespace"},
		{"dbsize", b.Dbsize().Build(), "DBSIZE", feature.ErrRefused, "counts"},
		{"select", b.Select().Index(1).Build(), "SELECT", feature.ErrRefused, "REDIS_<PART>_DB"},
		{"swapdb", b.Swapdb().Index1(0).Index2(1).Build(), "SWAPDB", feature.ErrRefused, "REDIS_<PART>_DB"},
		{"move", b.Move().Key("k").Db(1).Build(), "MOVE", feature.ErrRefused, "database"},
		{"bare unsubscribe", b.Unsubscribe().Build(), "UNSUBSCRIBE", feature.ErrBadArguments, "every part"},
		{"module command", b.Arbitrary("JSON.SET").Keys("doc").Args("$", "{}").Build(), "JSON.SET", feature.ErrUnknownCommand, "feature.RegisterCommand"},
		{"unknown subcommand", b.Arbitrary("OBJECT", "NOSUCH").Args("k").Build(), "OBJECT NOSUCH", feature.ErrUnknownCommand, "not in the key table"},
		{"bad numkeys", b.Arbitrary("EVAL").Args("return 1", "x", "k").Build(), "EVAL", feature.ErrBadArguments, "not a number"},
		{"too few keys", b.Arbitrary("EVAL").Args("return 1", "3", "k").Build(), "EVAL", feature.ErrBadArguments, "too few"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Do(ctx, tt.cmd).Error()
			var ce *feature.CommandError
			if !errors.As(err, &ce) {
				t.Fatalf("Do = %v, want a *feature.CommandError", err)
			}
			if ce.Command != tt.command || ce.Namespace != "session" || !errors.Is(err, tt.is) {
				t.Errorf("error %+v: want command %s and errors.Is %v", ce, tt.command, tt.is)
			}
			if !strings.Contains(err.Error(), tt.command) || !strings.Contains(err.Error(), tt.hint) {
				t.Errorf("error %q should name %s and say %q", err, tt.command, tt.hint)
			}
		})
	}
	if got := serverKeys(t, srv); fmt.Sprint(got) != "[other:k]" {
		t.Errorf("server keys after refused commands = %v", got)
	}
}

func TestDoMultiIsAllOrNothing(t *testing.T) {
	srv := redistest.Start(t)
	s := feature.New(srv.NewClient(t, nil), "session")
	ctx := context.Background()
	b := s.B()
	results := s.DoMulti(ctx,
		b.Set().Key("a").Value("1").Build(),
		b.Flushdb().Build(),
		b.Set().Key("b").Value("2").Build(),
	)
	if len(results) != 3 {
		t.Fatalf("%d results", len(results))
	}
	if !errors.Is(results[1].Error(), feature.ErrRefused) {
		t.Errorf("result 2 = %v, want ErrRefused", results[1].Error())
	}
	for _, i := range []int{0, 2} {
		if err := results[i].Error(); !errors.Is(err, feature.ErrNotSent) || !strings.Contains(err.Error(), "command 2") {
			t.Errorf("result %d = %v, want ErrNotSent naming command 2", i+1, err)
		}
	}
	if keys := serverKeys(t, srv); len(keys) != 0 {
		t.Errorf("a refused batch wrote %v", keys)
	}
	// A good batch with MULTI/EXEC.
	results = s.DoMulti(ctx, b.Multi().Build(), b.Set().Key("a").Value("1").Build(), b.Incr().Key("n").Build(), b.Exec().Build())
	for i, r := range results {
		if err := r.Error(); err != nil {
			t.Errorf("MULTI batch result %d: %v", i, err)
		}
	}
	if got := serverKeys(t, srv); fmt.Sprint(got) != "[session:a session:n]" {
		t.Errorf("server keys = %v", got)
	}
}

func TestDedicatedWatchMultiExec(t *testing.T) {
	srv := redistest.Start(t)
	s := feature.New(srv.NewClient(t, nil), "session")
	ctx := context.Background()
	must(t, s.Do(ctx, s.B().Set().Key("balance").Value("10").Build()))
	err := s.Dedicated(func(d rueidis.DedicatedClient) error {
		if err := d.Do(ctx, d.B().Watch().Key("balance").Build()).Error(); err != nil {
			return err
		}
		n, err := d.Do(ctx, d.B().Get().Key("balance").Build()).AsInt64()
		if err != nil {
			return err
		}
		for _, r := range d.DoMulti(ctx, d.B().Multi().Build(), d.B().Set().Key("balance").Value(fmt.Sprint(n+5)).Build(), d.B().Exec().Build()) {
			if err := r.Error(); err != nil {
				return err
			}
		}
		return d.Do(ctx, d.B().Flushdb().Build()).Error()
	})
	if !errors.Is(err, feature.ErrRefused) {
		t.Errorf("FLUSHDB through Dedicated: %v, want ErrRefused", err)
	}
	if got := str(t, srv.Client.Do(ctx, srv.Client.B().Get().Key("session:balance").Build())); got != "15" {
		t.Errorf("session:balance = %q, want 15", got)
	}

	// A write by someone else between WATCH and EXEC aborts the transaction.
	d, cancel := s.Dedicate()
	defer cancel()
	must(t, d.Do(ctx, d.B().Watch().Key("balance").Build()))
	must(t, srv.Client.Do(ctx, srv.Client.B().Set().Key("session:balance").Value("99").Build()))
	res := d.DoMulti(ctx, d.B().Multi().Build(), d.B().Set().Key("balance").Value("0").Build(), d.B().Exec().Build())
	if msg, err := res[2].ToMessage(); err != nil && !rueidis.IsRedisNil(err) || err == nil && !msg.IsNil() {
		t.Errorf("EXEC after a concurrent write = %v, want nil (aborted)", res[2])
	}
	if got := str(t, srv.Client.Do(ctx, srv.Client.B().Get().Key("session:balance").Build())); got != "99" {
		t.Errorf("session:balance = %q, want 99", got)
	}
}

// TestDoCacheIsInvalidatedOnThePrefixedKey runs with commands as they come
// from the builder (rewritten in place) and pinned (copied).
func TestDoCacheIsInvalidatedOnThePrefixedKey(t *testing.T) {
	for _, pinned := range []bool{false, true} {
		t.Run(fmt.Sprintf("pinned=%v", pinned), func(t *testing.T) {
			testDoCacheInvalidation(t, pinned)
		})
	}
}

func testDoCacheInvalidation(t *testing.T, pinned bool) {
	cache := func(c rueidis.Cacheable) rueidis.Cacheable {
		if pinned {
			return c.Pin()
		}
		return c
	}
	srv := redistest.Start(t)
	s := feature.New(srv.NewClient(t, nil), "session")
	ctx := context.Background()
	b := s.B()
	must(t, s.Do(ctx, b.Set().Key("profile").Value("v1").Build()))
	first := s.DoCache(ctx, cache(b.Get().Key("profile").Cache()), time.Minute)
	if v, _ := first.ToString(); v != "v1" || first.IsCacheHit() {
		t.Fatalf("first DoCache = %q, hit %v", v, first.IsCacheHit())
	}
	second := s.DoCache(ctx, cache(b.Get().Key("profile").Cache()), time.Minute)
	if v, _ := second.ToString(); v != "v1" || !second.IsCacheHit() {
		t.Fatalf("second DoCache = %q, hit %v; want a cache hit", v, second.IsCacheHit())
	}
	// An outside write to the server-side name invalidates the entry.
	must(t, srv.Client.Do(ctx, srv.Client.B().Set().Key("session:profile").Value("v2").Build()))
	testsupport.WaitFor(t, 5*time.Second, "the invalidation of the cached session:profile", func() bool {
		r := s.DoCache(ctx, cache(b.Get().Key("profile").Cache()), time.Minute)
		v, _ := r.ToString()
		return v == "v2"
	})

	// The read-only scripts keep rueidis's read-only script tag through the
	// rebuild, so they are cached by key and invalidated too.
	t.Run("read-only scripts", func(t *testing.T) {
		srv.Require(t, redistest.Functions, redistest.Redis70)
		testDoCacheScripts(ctx, t, srv, s, cache)
	})
}

func testDoCacheScripts(ctx context.Context, t *testing.T, srv *redistest.Server, s *feature.Client, cache func(rueidis.Cacheable) rueidis.Cacheable) {
	b := s.B()
	const script = "return redis.call('GET', KEYS[1])"
	admin := srv.Client
	sha := str(t, admin.Do(ctx, admin.B().ScriptLoad().Script(script).Build()))
	lib := "#!lua name=wrlib\nredis.register_function{function_name='wrget', callback=function(keys) return redis.call('GET', keys[1]) end, flags={'no-writes'}}"
	must(t, admin.Do(ctx, admin.B().FunctionLoad().Replace().FunctionCode(lib).Build()))
	value := "v2"
	for _, ro := range []struct {
		name string
		get  func() rueidis.RedisResult
	}{
		{"EVALSHA_RO", func() rueidis.RedisResult {
			return s.DoCache(ctx, cache(b.EvalshaRo().Sha1(sha).Numkeys(1).Key("profile").Cache()), time.Minute)
		}},
		{"EVAL_RO", func() rueidis.RedisResult {
			return s.DoCache(ctx, cache(b.EvalRo().Script(script).Numkeys(1).Key("profile").Arg("x").Cache()), time.Minute)
		}},
		{"FCALL_RO", func() rueidis.RedisResult {
			return s.DoCache(ctx, cache(b.FcallRo().Function("wrget").Numkeys(1).Key("profile").Cache()), time.Minute)
		}},
	} {
		if v, _ := ro.get().ToString(); v != value {
			t.Fatalf("%s = %q, want %q", ro.name, v, value)
		}
		if r := ro.get(); !r.IsCacheHit() {
			t.Errorf("second %s was not a cache hit", ro.name)
		}
		value += "+"
		must(t, srv.Client.Do(ctx, srv.Client.B().Set().Key("session:profile").Value(value).Build()))
		testsupport.WaitFor(t, 5*time.Second, "the invalidation of "+ro.name, func() bool { v, _ := ro.get().ToString(); return v == value })
	}
	if err := s.DoCache(ctx, cache(b.EvalRo().Script(script).Numkeys(2).Key("a", "b").Cache()), time.Minute).Error(); !errors.Is(err, feature.ErrBadArguments) {
		t.Errorf("DoCache EVAL_RO with two keys: %v, want ErrBadArguments", err)
	}

	// MGET through DoCache.
	must(t, s.Do(ctx, b.Set().Key("other").Value("o").Build()))
	arr, err := s.DoCache(ctx, cache(b.Mget().Key("profile", "other").Cache()), time.Minute).ToArray()
	if err != nil || len(arr) != 2 {
		t.Fatalf("DoCache MGET = %v %v", arr, err)
	}
	if v, _ := arr[1].ToString(); v != "o" {
		t.Errorf("DoCache MGET other = %q", v)
	}
	multi := s.DoMultiCache(ctx, rueidis.CT(cache(b.Get().Key("profile").Cache()), time.Minute), rueidis.CT(cache(b.Get().Key("other").Cache()), time.Minute))
	if v, _ := multi[1].ToString(); v != "o" {
		t.Errorf("DoMultiCache other = %q", v)
	}
}

func TestCloseKeepsTheSharedConnection(t *testing.T) {
	srv := redistest.Start(t)
	shared := srv.NewClient(t, nil)
	s, c := feature.New(shared, "session"), feature.New(shared, "cache")
	ctx := context.Background()
	s.Close()
	if err := c.Do(ctx, c.B().Ping().Build()).Error(); err != nil {
		t.Errorf("cache PING after session.Close: %v", err)
	}
	if err := shared.Do(ctx, shared.B().Ping().Build()).Error(); err != nil {
		t.Errorf("shared PING after session.Close: %v", err)
	}
	for addr, n := range s.Nodes() {
		n.Close()
		if err := n.Do(ctx, n.B().Set().Key("x").Value("1").Build()).Error(); err != nil {
			t.Errorf("node %s after its Close: %v", addr, err)
		}
	}
	if got := serverKeys(t, srv); fmt.Sprint(got) != "[session:x]" {
		t.Errorf("a write through Nodes() landed as %v", got)
	}
}

func TestStreams(t *testing.T) {
	srv := redistest.Start(t)
	s := feature.New(srv.NewClient(t, nil), "session")
	ctx := context.Background()
	b := s.B()
	must(t, s.Do(ctx, b.Set().Key("big").Value(strings.Repeat("x", 1000)).Build()))
	var sb strings.Builder
	stream := s.DoStream(ctx, b.Get().Key("big").Build())
	if n, err := stream.WriteTo(&sb); err != nil || n != 1000 {
		t.Errorf("DoStream = %d, %v", n, err)
	}
	ms := s.DoMultiStream(ctx, b.Get().Key("big").Build(), b.Strlen().Key("big").Build())
	sb.Reset()
	if _, err := ms.WriteTo(&sb); err != nil || sb.Len() != 1000 {
		t.Errorf("DoMultiStream first = %d bytes, %v", sb.Len(), err)
	}
	if _, err := ms.WriteTo(&sb); err != nil {
		t.Errorf("DoMultiStream second: %v", err)
	}
	refused := s.DoStream(ctx, b.Flushall().Build())
	if err := refused.Error(); !errors.Is(err, feature.ErrRefused) {
		t.Errorf("DoStream FLUSHALL: %v", err)
	}
}

type rueidisOption = rueidis.ClientOption

func sortedString(s []string) string {
	slices.Sort(s)
	return fmt.Sprint(s)
}
