package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// The consumer has one part of each kind: plain, hash tag, db=N in code,
// and url_env.
const consumerParts = `package main

//go:generate go run github.com/wireredis/wireredis/cmd/wireredis gen -part Session=session -part RateLimit=rl,hashtag -part Reports=reports,db=3 -part Billing=billing,url_env=BILLING_REDIS_URL
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

// consumerMain writes through every part, then prints the connections
// its registry opened: what the tools must agree with.
const consumerMain = `package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/wireredis/wireredis/registry"
)

type Service struct {
	Sessions SessionRedis
	Limits   RateLimitRedis
	Reports  ReportsRedis
	Billing  BillingRedis
	Registry *registry.Registry
}

func NewService(s SessionRedis, l RateLimitRedis, r ReportsRedis, b BillingRedis, reg *registry.Registry) *Service {
	return &Service{Sessions: s, Limits: l, Reports: r, Billing: b, Registry: reg}
}

func main() {
	ctx := context.Background()
	svc, cleanup, err := InitializeService(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s, l, r, b := svc.Sessions, svc.Limits, svc.Reports, svc.Billing
	if err := s.Do(ctx, s.B().Set().Key("user:1").Value("ann").Build()).Error(); err != nil {
		panic(err)
	}
	// MSET across two keys: the hash tag puts them in one slot.
	if err := l.Do(ctx, l.B().Mset().KeyValue().KeyValue("ip:1", "3").KeyValue("ip:2", "5").Build()).Error(); err != nil {
		panic(err)
	}
	if err := r.Do(ctx, r.B().Set().Key("day:1").Value("9").Build()).Error(); err != nil {
		panic(err)
	}
	if err := b.Do(ctx, b.B().Set().Key("inv:1").Value("7").Build()).Error(); err != nil {
		panic(err)
	}
	for _, st := range svc.Registry.Stats() {
		fmt.Printf("conn %s %s db=%d parts=%s\n", st.Fingerprint, st.Addr, st.DB, strings.Join(st.Parts, ","))
	}
	cleanup()
	fmt.Printf("after cleanup=%d\n", len(svc.Registry.Stats()))
}
`

// TestGenerateInAConsumerModule plays a new user and an operator: a
// module of its own with a go:generate line, wire.go, go generate, go
// build, a run against real servers; then the operator's tools, built in
// that module, must see what the application saw, part by part.
func TestGenerateInAConsumerModule(t *testing.T) {
	t.Parallel() // a module and build cache of its own: overlaps the tests that wait on servers
	if testing.Short() {
		t.Skip("builds a module: not in -short")
	}
	srv, other := redistest.Start(t), redistest.Start(t)
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
	goCmd("build", "-o", "wireredis", "github.com/wireredis/wireredis/cmd/wireredis") // the tool at the module's version

	// Both programs get the same environment, as a container would: a
	// typo among it, and a start-up policy that the probes must ignore.
	// The part RateLimit's variables follow its namespace (REDIS_RL_*):
	// three named after its Go name instead, one of them a secret.
	environ := append(os.Environ(), "REDIS_URL="+srv.URL(), "BILLING_REDIS_URL="+other.URL()+"/5",
		"REDIS_PROT=6380", "REDIS_STARTUP=background", "REDIS_PING_TIMEOUT=2s",
		"REDIS_RATELIMIT_DB=3", "REDIS_RATELIMIT_DBB=3", "REDIS_RATELIMIT_PASSWORD=hunter2-misnamed")
	misnamed := []string{
		"REDIS_RATELIMIT_DB: names no part of this service (billing, cache, reports, rl, session); did you mean REDIS_RL_DB? (the part RateLimit has the namespace rl: its variables are REDIS_RL_*, not REDIS_RATELIMIT_*)",
		"REDIS_RATELIMIT_DBB: is not a wireredis variable; did you mean REDIS_RL_DB? (the part RateLimit",
		"REDIS_RATELIMIT_PASSWORD: names no part of this service (billing, cache, reports, rl, session); did you mean REDIS_RL_PASSWORD?",
	}
	exe := func(env []string, name string, args ...string) (code int, stdout, stderr string) {
		t.Helper()
		cmd := exec.Command(filepath.Join(dir, name), args...)
		cmd.Dir = dir
		cmd.Env = env
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			code = ee.ExitCode()
		case err != nil:
			t.Fatal(err)
		}
		return code, out.String(), errOut.String()
	}

	// The application, fail-fast: its first commands need the connections.
	code, appOut, appLog := exe(append(environ, "REDIS_STARTUP=fail-fast"), "svc")
	if code != 0 {
		t.Fatalf("the consumer failed: exit %d\n%s\n%s", code, appOut, appLog)
	}
	if !strings.Contains(appLog, "REDIS_PROT: is not a wireredis variable; did you mean REDIS_PORT?") {
		t.Errorf("the application's log does not warn about REDIS_PROT:\n%s", appLog)
	}
	// The application knows its parts (the generated file declares them)
	// and warns once about each misnamed variable, without its value.
	for _, w := range misnamed {
		if n := strings.Count(appLog, w); n != 1 {
			t.Errorf("the application's log has %q %d times, want once:\n%s", w, n, appLog)
		}
	}
	if strings.Contains(appLog, "hunter2-misnamed") {
		t.Errorf("the application's log shows a secret:\n%s", appLog)
	}
	appConn := map[string]string{} // part → "fingerprint addr db"
	conns := 0
	for _, line := range strings.Split(appOut, "\n") {
		f := strings.Fields(line)
		if len(f) != 5 || f[0] != "conn" {
			continue
		}
		conns++
		for _, part := range strings.Split(strings.TrimPrefix(f[4], "parts="), ",") {
			appConn[part] = f[1] + " " + f[2] + " " + f[3]
		}
	}
	want := map[string]string{"session": srv.Addr + " db=0", "rl": srv.Addr + " db=0", "reports": srv.Addr + " db=3", "billing": other.Addr + " db=5"}
	for part, w := range want {
		if !strings.HasSuffix(appConn[part], w) {
			t.Errorf("the application's %s connection is %q, want %s", part, appConn[part], w)
		}
	}
	if conns != 3 || !strings.Contains(appOut, "after cleanup=0\n") {
		t.Errorf("consumer output:\n%s\nwant 3 connections (session and rl shared), none after cleanup", appOut)
	}

	// config: the same fingerprints, addresses and databases.
	code, out, errOut := exe(environ, "wireredis", "config", "-pkg", ".", "-json")
	if code != 0 || !strings.Contains(errOut, "REDIS_PROT: is not a wireredis variable; did you mean REDIS_PORT?") {
		t.Fatalf("config: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, w := range misnamed {
		if w = strings.Replace(w, "billing, cache, reports, rl, session", "session, rl, reports, billing, cache", 1); !strings.Contains(errOut, w) {
			t.Errorf("config does not warn %q:\n%s", w, errOut)
		}
	}
	if strings.Contains(errOut+out, "hunter2-misnamed") {
		t.Errorf("config shows a secret:\n%s%s", out, errOut)
	}
	var parts []partJSON
	if err := json.Unmarshal([]byte(out), &parts); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(parts) != 4 {
		t.Errorf("config shows %d parts, want 4", len(parts))
	}
	for _, p := range parts {
		if got := fmt.Sprintf("%s %s db=%d", p.Fingerprint, p.Addr, p.DB); got != appConn[p.Part] {
			t.Errorf("config says part %s is on %s; the application used %s", p.Part, got, appConn[p.Part])
		}
	}
	if code, out, errOut := exe(environ, "wireredis", "config", "-pkg", "."); code != 0 || !strings.Contains(out, "3 connection(s) for 4 part(s)") || !strings.Contains(out, "{rl}:") {
		t.Errorf("config: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := exe(environ, "wireredis", "config", "-pkg", ".", "-strict"); code != 2 || !strings.Contains(errOut, "did you mean REDIS_PORT?") {
		t.Errorf("config -strict: exit %d, %s", code, errOut)
	}

	// ping: fail-fast although REDIS_STARTUP=background, every connection
	// the application has, the url_env one included.
	code, out, errOut = exe(environ, "wireredis", "ping", "-pkg", ".", "-timeout", "2s")
	if code != 0 || strings.Count(out, "ok    ") != 3 || !strings.Contains(out, other.Addr+" db=5 (billing)") || !strings.Contains(out, srv.Addr+" db=3 (reports)") {
		t.Errorf("ping: exit %d\n%s%s", code, out, errOut)
	}

	// keys: what the application wrote, part by part.
	for part, want := range map[string]string{"session": "user:1", "rl": "ip:1 ip:2", "reports": "day:1", "billing": "inv:1"} {
		code, out, errOut := exe(environ, "wireredis", "keys", "-pkg", ".", "-part", part)
		keys := strings.Fields(out)
		slices.Sort(keys)
		if code != 0 || strings.Join(keys, " ") != want {
			t.Errorf("keys -part %s: exit %d, %q %s; want %s", part, code, out, errOut, want)
		}
	}

	// The conventions: exit 2 for an unknown part, flags with defaults,
	// a version.
	if code, _, errOut := exe(environ, "wireredis", "keys", "-pkg", ".", "-part", "nosuch"); code != 2 || !strings.Contains(errOut, "unknown part") {
		t.Errorf("keys -part nosuch: exit %d, %s", code, errOut)
	}
	if code, out, _ := exe(environ, "wireredis", "config", "-h"); code != 0 || !strings.Contains(out, "-pkg string\n    \tdirectory of the package whose wireredis gen file describes the parts (default: .)") {
		t.Errorf("config -h: exit %d\n%s", code, out)
	}
	if code, out, _ := exe(environ, "wireredis", "version"); code != 0 || !strings.HasPrefix(out, "wireredis ") {
		t.Errorf("version: exit %d %q", code, out)
	}

	// One precedence rule, and the same error from both programs, naming
	// both variables.
	clash := append(slices.Clone(environ), "REDIS_BILLING_DB=6")
	code, _, appErr := exe(append(clash, "REDIS_STARTUP=fail-fast"), "svc")
	if code == 0 || !strings.Contains(appErr, "BILLING_REDIS_URL") || !strings.Contains(appErr, "REDIS_BILLING_DB") {
		t.Errorf("the application with BILLING_REDIS_URL/5 and REDIS_BILLING_DB=6: exit %d, %s", code, appErr)
	}
	if code, _, errOut := exe(clash, "wireredis", "config", "-pkg", "."); code != 2 || !strings.Contains(errOut, "BILLING_REDIS_URL") || !strings.Contains(errOut, "REDIS_BILLING_DB") {
		t.Errorf("config with the same: exit %d, %s", code, errOut)
	}
	if code, _, errOut := exe(environ, "wireredis", "gen", "-package", "main", "-o", "x.go", "-part", "A=rate-limit", "-part", "B=rate_limit"); code != 2 || !strings.Contains(errOut, "REDIS_RATE_LIMIT_*") {
		t.Errorf("gen with colliding parts: exit %d, %s", code, errOut)
	}

	keys, err := srv.Client.Do(context.Background(), srv.Client.B().Keys().Pattern("*").Build()).AsStrSlice()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	if got := strings.Join(keys, " "); got != "session:user:1 {rl}:ip:1 {rl}:ip:2" {
		t.Errorf("server keys = %s", got)
	}
}
