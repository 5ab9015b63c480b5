package feature_test

import (
	"context"
	"errors"
	"testing"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/redistest"
	"github.com/wireredis/wireredis/registry"
)

func TestOpenAppliesOverridesAndShares(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	base, err := provider.LoadFrom([]string{"REDIS_URL=" + srv.URL(), "REDIS_ANALYTICS_DB=1"})
	if err != nil {
		t.Fatal(err)
	}
	reg, closeAll := registry.New(nil)
	defer closeAll()

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

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	reg, closeAll := registry.New(nil)
	defer closeAll()
	base, err := provider.LoadFrom([]string{"REDIS_BILLING_PORT=http"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := feature.Open(ctx, reg, base, "billing"); !errors.Is(err, provider.ErrInvalidConfig) {
		t.Errorf("Open with REDIS_BILLING_PORT=http: %v", err)
	}
	if _, _, err := feature.Open(ctx, reg, base, ""); err == nil {
		t.Error("Open with an empty namespace succeeded")
	}
	if _, _, err := feature.Open(ctx, reg, base, "x", func(o *provider.Options) { o.DB = -1 }); err == nil || !errors.Is(err, provider.ErrInvalidConfig) {
		t.Errorf("Open with DB -1 from code: %v", err)
	}
}
