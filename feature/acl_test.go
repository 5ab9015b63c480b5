package feature_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/redistest"
	"github.com/wireredis/wireredis/registry"
)

type step struct {
	name string
	run  func() error
}

// scenario touches every command family through c; it returns the steps,
// each reporting the error of its command (a nil reply is not an error).
func scenario(ctx context.Context, c *feature.Client) []step {
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
		{"SET", do(b.Set().Key("str").Value("v").Build())},
		{"GET", do(b.Get().Key("str").Build())},
		{"INCR", do(b.Incr().Key("n").Build())},
		{"MSET", do(b.Mset().KeyValue().KeyValue("a", "1").KeyValue("b", "2").Build())},
		{"MGET", do(b.Mget().Key("a", "b").Build())},
		{"GETEX", do(b.Getex().Key("a").ExSeconds(100).Build())},
		{"HSET", do(b.Hset().Key("h").FieldValue().FieldValue("f", "v").Build())},
		{"HGETALL", do(b.Hgetall().Key("h").Build())},
		{"RPUSH", do(b.Rpush().Key("l").Element("x", "y", "z").Build())},
		{"LMOVE", do(b.Lmove().Source("l").Destination("l2").Left().Right().Build())},
		{"BLPOP", do(b.Blpop().Key("l").Timeout(0.1).Build())},
		{"SADD", do(b.Sadd().Key("s1").Member("a", "b").Build())},
		{"SINTERSTORE", do(b.Sinterstore().Destination("s2").Key("s1").Build())},
		{"ZADD", do(b.Zadd().Key("z").ScoreMember().ScoreMember(1, "m").Build())},
		{"ZUNIONSTORE", do(b.Zunionstore().Destination("z2").Numkeys(1).Key("z").Build())},
		{"BZPOPMIN", do(b.Bzpopmin().Key("z2").Timeout(0.1).Build())},
		{"XADD", do(b.Xadd().Key("st").Id("*").FieldValue().FieldValue("f", "v").Build())},
		{"XGROUP CREATE", do(b.XgroupCreate().Key("st").Group("g").Id("0").Build())},
		{"XREADGROUP", do(b.Xreadgroup().Group("g", "c").Count(1).Streams().Key("st").Id(">").Build())},
		{"XREAD", do(b.Xread().Count(1).Streams().Key("st").Id("0").Build())},
		{"XINFO STREAM", do(b.XinfoStream().Key("st").Build())},
		{"GEOADD", do(b.Geoadd().Key("geo").LongitudeLatitudeMember().LongitudeLatitudeMember(13.4, 52.5, "berlin").Build())},
		{"GEOSEARCHSTORE", do(b.Geosearchstore().Destination("geo2").Source("geo").Fromlonlat(13, 52).Byradius(500).Km().Build())},
		{"PFADD", do(b.Pfadd().Key("hll").Element("a").Build())},
		{"PFMERGE", do(b.Pfmerge().Destkey("hll2").Sourcekey("hll").Build())},
		{"SETBIT", do(b.Setbit().Key("bits").Offset(7).Value(1).Build())},
		{"BITOP", do(b.Bitop().And().Destkey("bits2").Key("bits").Build())},
		{"EXISTS", do(b.Exists().Key("str", "h").Build())},
		{"EXPIRE", do(b.Expire().Key("str").Seconds(100).Build())},
		{"TTL", do(b.Ttl().Key("str").Build())},
		{"OBJECT ENCODING", do(b.ObjectEncoding().Key("str").Build())},
		{"COPY", do(b.Copy().Source("str").Destination("str2").Build())},
		{"RENAME", do(b.Rename().Key("str2").Newkey("str3").Build())},
		{"SORT STORE", do(b.Sort().Key("l2").Alpha().Store("sorted").Build())},
		{"DUMP", do(b.Dump().Key("str").Build())},
		{"EVAL", do(b.Eval().Script("return redis.call('GET', KEYS[1])").Numkeys(1).Key("str").Build())},
		{"MULTI/EXEC", multi(b.Multi().Build(), b.Incr().Key("n").Build(), b.Exec().Build())},
		{"WATCH via Dedicated", func() error {
			return c.Dedicated(func(d rueidis.DedicatedClient) error {
				return noNil(d.Do(ctx, d.B().Watch().Key("n").Build()).Error())
			})
		}},
		{"DoCache GET", func() error { return noNil(c.DoCache(ctx, b.Get().Key("str").Cache(), time.Minute).Error()) }},
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
		{"UNLINK", do(b.Unlink().Key("str3", "sorted").Build())},
		{"DEL", do(b.Del().Key("a", "b").Build())},
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
	base, err := provider.LoadFrom([]string{"REDIS_URL=" + srv.URL(), "REDIS_USERNAME=app", "REDIS_PASSWORD=app-password"})
	if err != nil {
		t.Fatal(err)
	}
	reg, closeAll := registry.New(nil)
	defer closeAll()
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

	for _, st := range scenario(ctx, session.Client) {
		if err := st.run(); err != nil {
			t.Errorf("session %s: %v", st.name, err)
		}
	}
	denied := 0
	steps := scenario(ctx, cache.Client)
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
