package wireredis

import (
	"context"
	"errors"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/redistest"
	"github.com/wireredis/wireredis/registry"
)

// TestInjector runs the injector of Example: wire's whole graph, from the
// REDIS_* variables to a service with two parts on one shared connection,
// and its cleanup.
func TestInjector(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	t.Setenv("REDIS_URL", srv.URL())

	svc, cleanup, err := initializeExample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	reg, s, c := svc.registry, svc.session, svc.cache
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
	stats := reg.Stats()
	if len(stats) != 1 || stats[0].Refs != 2 {
		t.Errorf("Stats = %+v, want one connection shared by 2 parts", stats)
	}
	cleanup()
	if s := reg.Stats(); len(s) != 0 {
		t.Errorf("Stats after cleanup = %+v", s)
	}
	if _, _, err := reg.Acquire(ctx, mustOptions(t)); !errors.Is(err, registry.ErrClosed) {
		t.Errorf("the registry is still open after cleanup: %v", err)
	}
	srv.WaitNoClients(t)
}

// TestInjectorFailure: when the second part cannot connect, the
// injector fails naming its address and releases the first part.
func TestInjectorFailure(t *testing.T) {
	srv := redistest.Start(t)
	dead := redistest.Start(t)
	deadPort := dead.Port()
	dead.Kill()
	t.Setenv("REDIS_URL", srv.URL())
	t.Setenv("REDIS_CACHE_URL", "redis://127.0.0.1:"+strconv.Itoa(deadPort))
	t.Setenv("REDIS_PING_TIMEOUT", "1s")
	svc, cleanup, err := initializeExample(context.Background())
	if err == nil {
		cleanup()
		t.Fatal("the injector succeeded with an unreachable cache server")
	}
	if svc != nil || cleanup != nil {
		t.Error("a failed injector returned parts or a cleanup")
	}
	if !strings.Contains(err.Error(), "127.0.0.1:"+strconv.Itoa(deadPort)) || !strings.Contains(err.Error(), "cache") {
		t.Errorf("error %q should name the cache part's address", err)
	}
	srv.WaitNoClients(t)
}

func TestBadEnvironmentFailsFast(t *testing.T) {
	t.Setenv("REDIS_PORT", "sixty")
	_, _, err := initializeExample(context.Background())
	if err == nil || !strings.Contains(err.Error(), "REDIS_PORT") {
		t.Errorf("the injector with REDIS_PORT=sixty: %v", err)
	}
}

// TestWireGenIsCurrent fails when a wire_gen.go (this package's, the
// demo's in cmd/wireredis) is not what wire would write from its wire.go
// now. wire diff prints differences on stdout; stderr may hold the go
// command's download lines on a fresh machine.
func TestWireGenIsCurrent(t *testing.T) {
	t.Parallel() // reads files only: overlaps the tests that wait on servers
	cmd := exec.Command("go", "tool", "wire", "diff", "./...")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || len(out) > 0 {
		t.Errorf("wire_gen.go is stale; run 'make generate':\n%s(%v)\n%s", out, err, stderr.String())
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
