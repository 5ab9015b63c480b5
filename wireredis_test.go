package wireredis_test

import (
	"context"
	"errors"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wireredis/wireredis"
	"github.com/wireredis/wireredis/internal/leakcheck"
	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/redistest"
	"github.com/wireredis/wireredis/registry"
)

func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }

func TestInitializeParts(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	t.Setenv("REDIS_URL", srv.URL())

	parts, cleanup, err := wireredis.InitializeParts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s, c := parts.Session, parts.Cache
	if err := s.Do(ctx, s.B().Set().Key("user:1").Value("ann").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, c.B().Set().Key("page:/").Value("<html>").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	keys, _ := srv.Client.Do(ctx, srv.Client.B().Keys().Pattern("*").Build()).AsStrSlice()
	slices.Sort(keys)
	if got := strings.Join(keys, " "); got != "cache:page:/ session:user:1" {
		t.Errorf("server keys = %s", got)
	}
	stats := parts.Registry.Stats()
	if len(stats) != 1 || stats[0].Refs != 2 {
		t.Errorf("Stats = %+v, want one connection shared by 2 parts", stats)
	}
	cleanup()
	if s := parts.Registry.Stats(); len(s) != 0 {
		t.Errorf("Stats after cleanup = %+v", s)
	}
	if _, _, err := parts.Registry.Acquire(ctx, mustOptions(t)); !errors.Is(err, registry.ErrClosed) {
		t.Errorf("the registry is still open after cleanup: %v", err)
	}
	waitNoClients(t, srv)
}

// TestInitializePartsFailure: when the second part cannot connect, the
// injector fails naming its address and releases the first part.
func TestInitializePartsFailure(t *testing.T) {
	srv := redistest.Start(t)
	dead := redistest.Start(t)
	deadPort := dead.Port()
	dead.Kill()
	t.Setenv("REDIS_URL", srv.URL())
	t.Setenv("REDIS_CACHE_URL", "redis://127.0.0.1:"+strconv.Itoa(deadPort))
	t.Setenv("REDIS_PING_TIMEOUT", "1s")
	parts, cleanup, err := wireredis.InitializeParts(context.Background())
	if err == nil {
		cleanup()
		t.Fatal("InitializeParts succeeded with an unreachable cache server")
	}
	if parts != nil || cleanup != nil {
		t.Error("a failed injector returned parts or a cleanup")
	}
	if !strings.Contains(err.Error(), "127.0.0.1:"+strconv.Itoa(deadPort)) || !strings.Contains(err.Error(), "cache") {
		t.Errorf("error %q should name the cache part's address", err)
	}
	waitNoClients(t, srv)
}

func TestBadEnvironmentFailsFast(t *testing.T) {
	t.Setenv("REDIS_PORT", "sixty")
	_, _, err := wireredis.InitializeParts(context.Background())
	if err == nil || !strings.Contains(err.Error(), "REDIS_PORT") {
		t.Errorf("InitializeParts with REDIS_PORT=sixty: %v", err)
	}
}

// TestWireGenIsCurrent fails when wire_gen.go is not what wire would write
// from wire.go now.
func TestWireGenIsCurrent(t *testing.T) {
	out, err := exec.Command("go", "tool", "wire", "diff", ".").CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("wire_gen.go is stale; run 'make generate':\n%s(%v)", out, err)
	}
}

func mustOptions(t *testing.T) provider.Options {
	t.Helper()
	o, err := provider.Load()
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func waitNoClients(t *testing.T, srv *redistest.Server) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for srv.ConnectedClients(t) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d client connections left on the server", srv.ConnectedClients(t))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
