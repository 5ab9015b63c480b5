package feature_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/feature"
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

// TestACLEnforcedIsolation lets the server judge: its ACL user may touch
// only ~session:* keys and &session:* channels.
func TestACLEnforcedIsolation(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	acl := srv.Client.B().AclSetuser().Username("app").Rule("on", ">app-password", "~session:*", "&session:*", "+@all").Build()
	if err := srv.Client.Do(ctx, acl).Error(); err != nil {
		t.Fatal(err)
	}
	reg, base := parts(t, "REDIS_URL="+srv.URL(), "REDIS_USERNAME=app", "REDIS_PASSWORD=app-password")
	session, releaseSession, err := feature.ProvideSessionRedis(ctx, reg, base)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseSession()
	cache, releaseCache, err := feature.ProvideCacheRedis(ctx, reg, base)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseCache()

	for _, st := range scenario(ctx, session.Client, "") {
		if err := st.run(); err != nil {
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
}
