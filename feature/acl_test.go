package feature_test

import (
	"context"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/redistest"
)

type step struct {
	name string
	run  func() error
}

// scenario touches every command family through c; it returns the steps,
// each reporting the error of its command (a nil reply is not an error).
// tag goes in front of every key ("{u1}" puts them all in one cluster
// slot).
func scenario(ctx context.Context, c *feature.Client, tag string) []step {
	k := func(name string) string { return tag + name }
	b := c.B()
	do := func(cmd rueidis.Completed) func() error {
		return func() error { return noNil(c.Do(ctx, cmd).Error()) }
	}
	multi := func(cmds ...rueidis.Completed) func() error {
		return func() error {
			for _, r := range c.DoMulti(ctx, cmds...) {
				if err := noNil(r.Error()); err != nil {
					return err
				}
			}
			return nil
		}
	}
	return []step{
		{"SET", do(b.Set().Key(k("str")).Value("v").Build())},
		{"GET", do(b.Get().Key(k("str")).Build())},
		{"INCR", do(b.Incr().Key(k("n")).Build())},
		{"MSET", do(b.Mset().KeyValue().KeyValue(k("a"), "1").KeyValue(k("b"), "2").Build())},
		{"MGET", do(b.Mget().Key(k("a"), k("b")).Build())},
		{"GETEX", do(b.Getex().Key(k("a")).ExSeconds(100).Build())},
		{"HSET", do(b.Hset().Key(k("h")).FieldValue().FieldValue("f", "v").Build())},
		{"HGETALL", do(b.Hgetall().Key(k("h")).Build())},
		{"RPUSH", do(b.Rpush().Key(k("l")).Element("x", "y", k("z")).Build())},
		{"LMOVE", do(b.Lmove().Source(k("l")).Destination(k("l2")).Left().Right().Build())},
		{"BLPOP", do(b.Blpop().Key(k("l")).Timeout(0.1).Build())},
		{"SADD", do(b.Sadd().Key(k("s1")).Member(k("a"), k("b")).Build())},
		{"SINTERSTORE", do(b.Sinterstore().Destination(k("s2")).Key(k("s1")).Build())},
		{"ZADD", do(b.Zadd().Key(k("z")).ScoreMember().ScoreMember(1, "m").Build())},
		{"ZUNIONSTORE", do(b.Zunionstore().Destination(k("z2")).Numkeys(1).Key(k("z")).Build())},
		{"BZPOPMIN", do(b.Bzpopmin().Key(k("z2")).Timeout(0.1).Build())},
		{"XADD", do(b.Xadd().Key(k("st")).Id("*").FieldValue().FieldValue("f", "v").Build())},
		{"XGROUP CREATE", do(b.XgroupCreate().Key(k("st")).Group("g").Id("0").Build())},
		{"XREADGROUP", do(b.Xreadgroup().Group("g", "c").Count(1).Streams().Key(k("st")).Id(">").Build())},
		{"XREAD", do(b.Xread().Count(1).Streams().Key(k("st")).Id("0").Build())},
		{"XINFO STREAM", do(b.XinfoStream().Key(k("st")).Build())},
		{"GEOADD", do(b.Geoadd().Key(k("geo")).LongitudeLatitudeMember().LongitudeLatitudeMember(13.4, 52.5, "berlin").Build())},
		{"GEOSEARCHSTORE", do(b.Geosearchstore().Destination(k("geo2")).Source(k("geo")).Fromlonlat(13, 52).Byradius(500).Km().Build())},
		{"PFADD", do(b.Pfadd().Key(k("hll")).Element(k("a")).Build())},
		{"PFMERGE", do(b.Pfmerge().Destkey(k("hll2")).Sourcekey(k("hll")).Build())},
		{"SETBIT", do(b.Setbit().Key(k("bits")).Offset(7).Value(1).Build())},
		{"BITOP", do(b.Bitop().And().Destkey(k("bits2")).Key(k("bits")).Build())},
		{"EXISTS", do(b.Exists().Key(k("str"), k("h")).Build())},
		{"EXPIRE", do(b.Expire().Key(k("str")).Seconds(100).Build())},
		{"TTL", do(b.Ttl().Key(k("str")).Build())},
		{"OBJECT ENCODING", do(b.ObjectEncoding().Key(k("str")).Build())},
		{"COPY", do(b.Copy().Source(k("str")).Destination(k("str2")).Build())},
		{"RENAME", do(b.Rename().Key(k("str2")).Newkey(k("str3")).Build())},
		{"SORT STORE", do(b.Sort().Key(k("l2")).Alpha().Store(k("sorted")).Build())},
		{"DUMP", do(b.Dump().Key(k("str")).Build())},
		{"EVAL", do(b.Eval().Script("return redis.call('GET', KEYS[1])").Numkeys(1).Key(k("str")).Build())},
		{"MULTI/EXEC", multi(b.Multi().Build(), b.Incr().Key(k("n")).Build(), b.Exec().Build())},
		{"WATCH via Dedicated", func() error {
			return c.Dedicated(func(d rueidis.DedicatedClient) error {
				return noNil(d.Do(ctx, d.B().Watch().Key("n").Build()).Error())
			})
		}},
		{"DoCache GET", func() error { return noNil(c.DoCache(ctx, b.Get().Key(k("str")).Cache(), time.Minute).Error()) }},
		{"PUBLISH", do(b.Publish().Channel("ch").Message("m").Build())},
		{"SUBSCRIBE", func() error {
			sctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			defer cancel()
			err := c.Receive(sctx, b.Subscribe().Channel("ch").Build(), func(rueidis.PubSubMessage) {})
			if errors.Is(err, context.DeadlineExceeded) {
				return nil // subscribed, and no message came
			}
			return err
		}},
		{"UNLINK", do(b.Unlink().Key(k("str3"), k("sorted")).Build())},
		{"DEL", do(b.Del().Key(k("a"), k("b")).Build())},
	}
}

func noNil(err error) error {
	if rueidis.IsRedisNil(err) {
		return nil
	}
	return err
}

// deniedByACL reports whether err is the server's ACL refusal (NOPERM; inside
// a script, each version's own words for it).
func deniedByACL(err error) bool { return redistest.DeniedByACL(err) }

// aclAccepts is what the test server accepts in ACL rules.
func aclAccepts(t *testing.T, c rueidis.Client) func(string) bool {
	t.Helper()
	accepts, err := feature.ServerCommands(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return accepts
}

// aclUser creates, through redis-cli as an operator would paste it, the
// user ACLRules describes for parts, with a password.
func aclUser(t *testing.T, srv *redistest.Server, base provider.Options, user string, parts ...feature.Part) {
	t.Helper()
	rules, err := feature.ACLRules(base, parts, feature.ACLOptions{Accepts: aclAccepts(t, srv.Client)})
	if err != nil {
		t.Fatal(err)
	}
	line := "ACL SETUSER " + user + " " + strings.Join(rules, " ") + "\n"
	cli := exec.Command("redis-cli", "-h", "127.0.0.1", "-p", strconv.Itoa(srv.Port()))
	cli.Stdin = strings.NewReader(line)
	out, err := cli.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "OK" {
		t.Fatalf("redis-cli took %q: %s %v", line, out, err)
	}
	if err := srv.Client.Do(context.Background(), srv.Client.B().AclSetuser().Username(user).Rule(">"+user+"-password").Build()).Error(); err != nil {
		t.Fatal(err)
	}
}

// TestACLEnforcedIsolation lets the server judge: the user that ACLRules
// describes for the session part runs every command family through it
// without a single NOPERM, while the server refuses the cache part's
// keys, every class of command a part refuses, and a script that reaches
// outside the namespace.
func TestACLEnforcedIsolation(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	base := func(environ ...string) provider.Options {
		o, err := provider.LoadFrom(append([]string{"REDIS_URL=" + srv.URL()}, environ...))
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	aclUser(t, srv, base(), "app", feature.Part{Namespace: "session"})
	reg, creds := parts(t, "REDIS_URL="+srv.URL(), "REDIS_USERNAME=app", "REDIS_PASSWORD=app-password")
	session, releaseSession, err := feature.ProvideSessionRedis(ctx, reg, creds)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseSession()
	cache, releaseCache, err := feature.ProvideCacheRedis(ctx, reg, creds)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseCache()

	sortHeld := aclAccepts(t, srv.Client)("sort") // not on Redis 6.2 (see feature.ServerCommands)
	for _, st := range scenario(ctx, session.Client, "") {
		err := st.run()
		if !sortHeld && strings.HasPrefix(st.name, "SORT") {
			if !deniedByACL(err) {
				t.Errorf("session %s: %v, want NOPERM: SORT is left out of the rules on this server", st.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("session %s: %v", st.name, err)
		}
	}
	denied := 0
	steps := scenario(ctx, cache.Client, "")
	for _, st := range steps {
		err := st.run()
		switch {
		case err != nil && strings.Contains(err.Error(), "NOPERM"):
			denied++
		case st.name == "MULTI/EXEC" && err != nil && strings.Contains(err.Error(), "EXECABORT"):
			denied++ // the INCR inside was denied
		default:
			t.Errorf("cache %s: %v, want NOPERM: the server should deny the cache namespace", st.name, err)
		}
	}
	t.Logf("session: %d steps, no NOPERM; cache: %d of %d steps denied by the server", len(steps), denied, len(steps))

	// What a part refuses, sent as that user without a part (as a bug, or
	// a script, would): the server refuses it too.
	must(t, srv.Client.Do(ctx, srv.Client.B().Set().Key("victim").Value("secret").Build()))
	raw := srv.NewClient(t, func(o *rueidis.ClientOption) { o.Username, o.Password = "app", "app-password" })
	for _, args := range [][]string{
		{"EVAL", "return redis.call('GET', 'victim')", "0"},
		{"EVAL", "return redis.call('GET', KEYS[1])", "1", "victim"},
		{"EVAL", "return redis.call('DBSIZE')", "0"},
		{"EVAL", "return redis.call('FLUSHALL')", "0"},
		{"GEORADIUS", "session:geo", "15", "37", "500", "km", "STORE", "session:a", "STORE", "victim"},
		{"GET", "victim"},
		{"SET", "victim", "x"},
		{"COPY", "victim", "session:copy"},
		{"PUBLISH", "victim", "x"},
		{"CONFIG", "SET", "maxmemory", "1"},
		{"CONFIG", "GET", "*"},
		{"REPLICAOF", "127.0.0.1", "1"},
		{"SHUTDOWN", "NOSAVE"},
		{"SAVE"},
		{"FUNCTION", "FLUSH"},
		{"FUNCTION", "LIST"},
		{"SCRIPT", "FLUSH"},
		{"ACL", "SETUSER", "x"},
		{"ACL", "LIST"},
		{"CLIENT", "LIST"},
		{"CLIENT", "KILL", "TYPE", "normal"},
		{"CLIENT", "PAUSE", "1"},
		{"SLOWLOG", "GET"},
		{"INFO", "keyspace"},
		{"MEMORY", "STATS"},
		{"PUBSUB", "NUMPAT"},
		{"DBSIZE"},
		{"RANDOMKEY"},
		{"FLUSHDB"},
		{"SWAPDB", "0", "1"},
		{"SELECT", "1"},
		{"MOVE", "session:a", "1"},
		{"MIGRATE", "127.0.0.1", "1", "session:a", "0", "100"},
		{"MONITOR"},
		{"LATENCY", "RESET"},
		{"MODULE", "LIST"},
		{"CLUSTER", "INFO"},
	} {
		if !srv.HasCommand(ctx, args[0]) {
			continue // FUNCTION on Redis 6.2: nothing to deny
		}
		err := raw.Do(ctx, raw.B().Arbitrary(args...).Build()).Error()
		if !deniedByACL(err) {
			t.Errorf("as the part's ACL user, %q: %v, want NOPERM", args, err)
		}
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := raw.Receive(rctx, raw.B().Subscribe().Channel("victim").Build(), func(rueidis.PubSubMessage) {}); !deniedByACL(err) {
		t.Errorf("as the part's ACL user, SUBSCRIBE victim: %v, want NOPERM", err)
	}
	if got := str(t, srv.Client.Do(ctx, srv.Client.B().Get().Key("victim").Build())); got != "secret" {
		t.Errorf("victim = %q", got)
	}
}
