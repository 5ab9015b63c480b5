package feature_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/internal/testsupport"
	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/redistest"
	"github.com/wireredis/wireredis/registry"
)

// parts loads the settings environ gives, and a registry for the parts,
// closed when the test ends.
func parts(t testing.TB, environ ...string) (*registry.Registry, provider.Options) {
	t.Helper()
	base, err := provider.LoadFrom(environ)
	if err != nil {
		t.Fatal(err)
	}
	reg, closeAll := registry.New(nil)
	t.Cleanup(closeAll)
	return reg, base
}

// rawPartSession returns three clients of one redis-server, for measuring
// side by side: raw rueidis, a part over that same client, and
// SessionRedis as the registry gives it (over a counted, batching
// connection of its own).
func rawPartSession(tb testing.TB) (rueidis.Client, *feature.Client, feature.SessionRedis) {
	tb.Helper()
	return rawPartSessionOf(tb, redistest.Start(tb))
}

// rawPartSessionOf is rawPartSession over srv.
func rawPartSessionOf(tb testing.TB, srv *redistest.Server) (rueidis.Client, *feature.Client, feature.SessionRedis) {
	tb.Helper()
	raw := srv.NewClient(tb, nil)
	reg, base := parts(tb, "REDIS_URL="+srv.URL())
	session, release, err := feature.ProvideSessionRedis(context.Background(), reg, base)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(release)
	return raw, feature.New(raw, "session"), session
}

func TestOpenAppliesOverridesAndShares(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	reg, base := parts(t, "REDIS_URL="+srv.URL(), "REDIS_ANALYTICS_DB=1")

	session, releaseSession, err := feature.ProvideSessionRedis(ctx, reg, base)
	if err != nil {
		t.Fatal(err)
	}
	cache, releaseCache, err := feature.ProvideCacheRedis(ctx, reg, base)
	if err != nil {
		t.Fatal(err)
	}
	analytics, releaseAnalytics, err := feature.Open(ctx, reg, base, "analytics")
	if err != nil {
		t.Fatal(err)
	}
	reports, releaseReports, err := feature.Open(ctx, reg, base, "reports", func(o *provider.Options) { o.DB = 2 })
	if err != nil {
		t.Fatal(err)
	}
	if session.Namespace() != "session" || cache.Namespace() != "cache" {
		t.Errorf("namespaces %q, %q", session.Namespace(), cache.Namespace())
	}
	for _, w := range []struct {
		c   *feature.Client
		key string
	}{{session.Client, "s"}, {cache.Client, "c"}, {analytics, "a"}, {reports, "r"}} {
		must(t, w.c.Do(ctx, w.c.B().Set().Key(w.key).Value("1").Build()))
	}
	// session and cache in DB 0, analytics in DB 1 (env), reports in DB 2 (code).
	for db, want := range map[int]string{0: "[cache:c session:s]", 1: "[analytics:a]", 2: "[reports:r]"} {
		c := srv.NewClient(t, func(o *rueidisOption) { o.SelectDB = db })
		keys, _ := c.Do(ctx, c.B().Keys().Pattern("*").Build()).AsStrSlice()
		if got := sortedString(keys); got != want {
			t.Errorf("DB %d keys = %s, want %s", db, got, want)
		}
	}
	stats := reg.Stats()
	if len(stats) != 3 {
		t.Fatalf("Stats = %+v, want 3 connections (DB 0 shared, DB 1, DB 2)", stats)
	}
	releaseSession()
	releaseCache()
	releaseAnalytics()
	releaseReports()
	if s := reg.Stats(); len(s) != 0 {
		t.Errorf("Stats after releasing every part = %+v", s)
	}
}

// TestPartCommandsAreCounted: what a part sends is in the registry's
// Stats, whether the part came connected (fail-fast) or dialled on its
// first command (lazy); refused commands were not sent and are not
// counted; after the last release, commands fail with rueidis.ErrClosing.
func TestPartCommandsAreCounted(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	reg, base := parts(t, "REDIS_URL="+srv.URL(), "REDIS_LAZY_STARTUP=lazy", "REDIS_LAZY_DB=1")
	session, releaseSession, err := feature.ProvideSessionRedis(ctx, reg, base)
	if err != nil {
		t.Fatal(err)
	}
	lazy, releaseLazy, err := feature.Open(ctx, reg, base, "lazy")
	if err != nil {
		t.Fatal(err)
	}
	statsOf := func(db int) registry.ConnStats {
		t.Helper()
		for _, s := range reg.Stats() {
			if s.DB == db {
				return s
			}
		}
		t.Fatalf("no connection to DB %d in %+v", db, reg.Stats())
		return registry.ConnStats{}
	}
	for db, c := range map[int]*feature.Client{0: session.Client, 1: lazy} {
		c.Do(ctx, c.B().Set().Key("s").Value("x").Build())
		c.Do(ctx, c.B().Incr().Key("s").Build()) // an error: not an integer
		c.Do(ctx, c.B().Get().Key("missing").Build())
		c.DoMulti(ctx, c.B().Get().Key("s").Build(), c.B().Exists().Key("s").Build())
		c.DoCache(ctx, c.B().Get().Key("s").Cache(), time.Minute)
		c.DoMultiCache(ctx, rueidis.CT(c.B().Strlen().Key("s").Cache(), time.Minute))
		c.Do(ctx, c.B().Arbitrary("NOT.A.COMMAND").Args("k").Build()) // refused: never sent
		s := statsOf(db)
		if !s.Connected || s.Commands != 7 || s.Errors != 1 || s.InFlight != 0 {
			t.Errorf("DB %d: Connected %v, Commands %d, Errors %d, InFlight %d; want true, 7, 1, 0", db, s.Connected, s.Commands, s.Errors, s.InFlight)
		}
	}
	releaseSession()
	releaseLazy()
	for _, c := range []*feature.Client{session.Client, lazy} {
		if err := c.Do(ctx, c.B().Get().Key("s").Build()).Error(); !errors.Is(err, rueidis.ErrClosing) {
			t.Errorf("%s after its release: %v, want rueidis.ErrClosing", c.Namespace(), err)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	// Every part's variables are checked when the base loads.
	if _, err := provider.LoadFrom([]string{"REDIS_BILLING_PORT=http"}); !errors.Is(err, provider.ErrInvalidConfig) {
		t.Errorf("LoadFrom with REDIS_BILLING_PORT=http: %v", err)
	}
	reg, base := parts(t)
	if _, _, err := feature.Open(ctx, reg, base, "sentinel"); !errors.Is(err, provider.ErrInvalidConfig) {
		t.Errorf("Open of a part named sentinel: %v", err)
	}
	if _, _, err := feature.Open(ctx, reg, base, ""); err == nil {
		t.Error("Open with an empty namespace succeeded")
	}
	if _, _, err := feature.Open(ctx, reg, base, "x", func(o *provider.Options) { o.DB = -1 }); err == nil || !errors.Is(err, provider.ErrInvalidConfig) {
		t.Errorf("Open with DB -1 from code: %v", err)
	}
}

func TestPartOptions(t *testing.T) {
	ctx := context.Background()
	main, other := redistest.Start(t), redistest.Start(t)
	reg, base := parts(t, "REDIS_URL="+main.URL(), "BILLING_REDIS_URL="+other.URL()+"/3", "BROKEN_URL=redis://h:x")

	limits, release, err := feature.Part{Namespace: "ratelimit", HashTag: true}.Open(ctx, reg, base)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	must(t, limits.Do(ctx, limits.B().Mset().KeyValue().KeyValue("a", "1").KeyValue("b", "2").Build()))
	if got := limits.Key("a"); got != "{ratelimit}:a" {
		t.Errorf("Key(a) = %q", got)
	}
	if k, ok := limits.StripKey("{ratelimit}:a"); !ok || k != "a" {
		t.Errorf("StripKey = %q, %v", k, ok)
	}
	var keys []string
	for k, err := range limits.Scan(ctx, feature.ScanOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if got := sortedString(keys); got != "[a b]" {
		t.Errorf("Scan = %s", got)
	}
	if got := sortedString(serverKeys(t, main)); got != "[{ratelimit}:a {ratelimit}:b]" {
		t.Errorf("server keys = %s", got)
	}

	billing, releaseBilling, err := feature.Part{Namespace: "billing", URLVar: "BILLING_REDIS_URL"}.Open(ctx, reg, base)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseBilling()
	must(t, billing.Do(ctx, billing.B().Set().Key("invoice:1").Value("x").Build()))
	db3 := other.NewClient(t, func(o *rueidisOption) { o.SelectDB = 3 })
	if n, _ := db3.Do(ctx, db3.B().Exists().Key("billing:invoice:1").Build()).AsInt64(); n != 1 {
		t.Error("the billing part did not write to the server and DB of BILLING_REDIS_URL")
	}

	_, _, err = feature.Part{Namespace: "x", URLVar: "BROKEN_URL"}.Open(ctx, reg, base)
	var ce *provider.ConfigError
	if !errors.As(err, &ce) || ce.Var != "BROKEN_URL" {
		t.Errorf("a bad URL in BROKEN_URL: %v, want an error naming it", err)
	}
}

func TestBackgroundPart(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	srv.Kill()
	reg, base := parts(t, "REDIS_URL="+srv.URL(), "REDIS_SESSION_STARTUP=background", "REDIS_PING_TIMEOUT=300ms")
	session, release, err := feature.ProvideSessionRedis(ctx, reg, base)
	if err != nil {
		t.Fatalf("a background part with Redis down: %v", err)
	}
	defer release()
	if err := session.Do(ctx, session.B().Set().Key("k").Value("v").Build()).Error(); !errors.Is(err, registry.ErrNotReady) {
		t.Errorf("before the connection: %v, want registry.ErrNotReady", err)
	}
	// The cache part is fail-fast: with Redis down, it fails.
	if _, _, err := feature.ProvideCacheRedis(ctx, reg, base); err == nil {
		t.Error("a fail-fast part started with Redis down")
	}
	srv.Restart()
	testsupport.WaitFor(t, 5*time.Second, "a write through the part after the restart", func() bool {
		return session.Do(ctx, session.B().Set().Key("k").Value("v").Build()).Error() == nil
	})
	if got := str(t, srv.Client.Do(ctx, srv.Client.B().Get().Key("session:k").Build())); got != "v" {
		t.Errorf("session:k = %q", got)
	}
}

// TestOpenRefusesAnUncheckedReplyLayout: when the rueidis linked in is not
// laid out as the reply mirror expects, replies would keep the prefix (a
// KEYS result passed to DEL would be prefixed twice). The part does not
// open, says why, and takes no connection; New panics with the same error.
func TestOpenRefusesAnUncheckedReplyLayout(t *testing.T) {
	srv := redistest.Start(t)
	reg, base := parts(t, "REDIS_URL="+srv.URL())
	mismatch := fmt.Errorf("%w (reply mirror; rueidis v9.9.9 linked, v1.0.79 checked)", feature.ErrRueidisLayout)
	feature.SetReplyMirror(t, func() error { return mismatch })

	_, _, err := feature.ProvideSessionRedis(context.Background(), reg, base)
	if !errors.Is(err, feature.ErrRueidisLayout) || !strings.Contains(err.Error(), `part "session"`) {
		t.Fatalf("Open: %v, want ErrRueidisLayout naming the part", err)
	}
	if stats := reg.Stats(); len(stats) != 0 {
		t.Errorf("the refused part left connections: %+v", stats)
	}
	defer func() {
		if r := recover(); r == nil || !errors.Is(r.(error), feature.ErrRueidisLayout) {
			t.Errorf("New panicked with %v, want ErrRueidisLayout", r)
		}
	}()
	feature.New(nil, "session")
}
