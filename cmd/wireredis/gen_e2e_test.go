package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/wireredis/wireredis/redistest"
)

// repoRoot is this checkout, for the consumer module's replace directive.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

const consumerParts = `package main

//go:generate go run github.com/wireredis/wireredis/cmd/wireredis gen -part Session=session -part RateLimit=ratelimit,hashtag
//go:generate go tool wire
`

const consumerWire = `//go:build wireinject

package main

import (
	"context"

	"github.com/google/wire"

	"github.com/wireredis/wireredis"
)

func InitializeService(ctx context.Context) (*Service, func(), error) {
	wire.Build(wireredis.ProviderSet, RedisParts, NewService)
	return nil, nil, nil
}
`

const consumerMain = `package main

import (
	"context"
	"fmt"
	"os"

	"github.com/wireredis/wireredis/registry"
)

type Service struct {
	Sessions SessionRedis
	Limits   RateLimitRedis
	Registry *registry.Registry
}

func NewService(s SessionRedis, l RateLimitRedis, reg *registry.Registry) *Service {
	return &Service{Sessions: s, Limits: l, Registry: reg}
}

func main() {
	ctx := context.Background()
	svc, cleanup, err := InitializeService(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s, l := svc.Sessions, svc.Limits
	if err := s.Do(ctx, s.B().Set().Key("user:1").Value("ann").Build()).Error(); err != nil {
		panic(err)
	}
	// MSET across two keys: the hash tag puts them in one slot.
	if err := l.Do(ctx, l.B().Mset().KeyValue().KeyValue("ip:1", "3").KeyValue("ip:2", "5").Build()).Error(); err != nil {
		panic(err)
	}
	fmt.Printf("connections=%d\n", len(svc.Registry.Stats()))
	cleanup()
	fmt.Printf("after cleanup=%d\n", len(svc.Registry.Stats()))
}
`

// TestGenerateInAConsumerModule plays a new user: a module of its own with
// a go:generate line, wire.go, go generate, go build, and a run against a
// real server.
func TestGenerateInAConsumerModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module: not in -short")
	}
	srv := redistest.Start(t)
	dir := t.TempDir()
	root := repoRoot(t)
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"go.mod": "module example.com/svc\n\ngo 1.26\n\n" +
			"require github.com/wireredis/wireredis v0.0.0\n\n" +
			"replace github.com/wireredis/wireredis => " + root + "\n\n" +
			"tool (\n\tgithub.com/google/wire/cmd/wire\n\tgithub.com/wireredis/wireredis/cmd/wireredis\n)\n",
		"go.sum":   string(sum),
		"parts.go": consumerParts,
		"wire.go":  consumerWire,
		"main.go":  consumerMain,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	goCmd := func(args ...string) {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	goCmd("mod", "tidy")
	goCmd("generate", "./...")
	for _, f := range []string{"wireredis_gen.go", "wire_gen.go"} {
		src, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatalf("go generate did not write %s: %v", f, err)
		}
		if !strings.HasPrefix(string(src), "// Code generated ") {
			t.Errorf("%s lacks the generated-code header", f)
		}
	}
	goCmd("vet", "./...")
	goCmd("build", "-o", "svc", ".")

	run := exec.Command(filepath.Join(dir, "svc"))
	run.Env = append(os.Environ(), "REDIS_URL="+srv.URL())
	out, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("the consumer failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "connections=1\n") || !strings.Contains(string(out), "after cleanup=0\n") {
		t.Errorf("consumer output:\n%s\nwant one shared connection, none after cleanup", out)
	}
	keys, err := srv.Client.Do(context.Background(), srv.Client.B().Keys().Pattern("*").Build()).AsStrSlice()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	if got := strings.Join(keys, " "); got != "session:user:1 {ratelimit}:ip:1 {ratelimit}:ip:2" {
		t.Errorf("server keys = %s", got)
	}
}
