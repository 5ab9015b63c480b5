package conformance

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wireredis/wireredis/redistest"
)

// skips are the specs the runner does not run: they need a server this
// machine does not have. They are skipped in every pass alike, and
// counted apart.
var skips = []struct{ Pattern, Why string }{
	{`RediSearch commands Resp [23]`, "need the search module (Redis Stack)"},
	{`Redis 8\.6\+ commands`, "need Redis 8.6"},
}

func skipPattern() string {
	var p []string
	for _, s := range skips {
		p = append(p, s.Pattern)
	}
	return strings.Join(p, "|")
}

// attempts is how many times a failing spec runs, in every pass alike:
// some of the suite's specs pass or fail by which cluster node a command
// reaches (ACL SETUSER on one node, ACL LIST on another).
const attempts = 3

// outDir receives each pass's Ginkgo JSON report and output, and
// summary.md.
const outDir = "out"

// TestConformance copies rueidiscompat's suite, runs it raw and through
// parts (plain and hash tag), on one server and on a 3-master cluster,
// and fails on every PASS→FAIL that expected.txt does not list, on every
// entry of expected.txt that no longer holds, and on specs that ran in
// one pass and not the other.
func TestConformance(t *testing.T) {
	// A server shared through REDIS_TEST_ADDR would carry one pass's
	// state into the next: every pass gets servers of its own.
	t.Setenv("REDIS_TEST_ADDR", "")
	expected, err := ReadExpected("expected.txt")
	if err != nil {
		t.Fatal(err)
	}
	src, err := CheckVersions(".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CopySuite(src, "suite"); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "suite.test")
	build := exec.Command("go", "test", "-c", "-o", bin, "./suite")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go test -c ./suite: %v\n%s", err, out)
	}

	start := time.Now()
	var comparisons []Comparison
	for _, topology := range []string{"standalone", "cluster"} {
		raw := runPass(t, bin, topology, "raw")
		for _, prefix := range []string{"plain", "hashtag"} {
			part := runPass(t, bin, topology, prefix)
			comparisons = append(comparisons, Compare(topology+"/"+prefix, raw, part, expected))
		}
	}
	summary := Summary(comparisons, SummaryInfo{
		Server:   serverVersion(t),
		Skips:    skipNotes(),
		Duration: time.Since(start),
	})
	if err := os.WriteFile(filepath.Join(outDir, "summary.md"), []byte(summary), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + summary)
	for _, c := range comparisons {
		for _, f := range c.Unexpected() {
			t.Errorf("%s: PASS→FAIL not in expected.txt: %s\n\t%s: %s", c.Config, f.Spec, f.Outcome.State, f.Outcome.Failure)
		}
		for _, e := range c.Stale {
			t.Errorf("%s: no longer a PASS→FAIL (remove it, or narrow its configurations): %s", c.Config, e)
		}
		for _, s := range c.Missing {
			t.Errorf("%s: ran in one pass only: %s", c.Config, s)
		}
	}
}

func skipNotes() []string {
	var out []string
	for _, s := range skips {
		out = append(out, strings.ReplaceAll(s.Pattern, `\`, "")+": "+s.Why)
	}
	return out
}

// runPass runs the suite once, on servers of its own: two 3-master
// clusters for the cluster adapters; for the RESP3 and RESP2 adapters, two
// single servers (topology standalone) or the same clusters (topology
// cluster); and two single servers that only the skipped specs' BeforeEach
// uses (it flushes them before every spec).
// client is raw, plain (a part "t") or hashtag (a part "{t}").
func runPass(t *testing.T, bin, topology, client string) Pass {
	name := topology + "-" + client
	var pass Pass
	t.Run(name, func(t *testing.T) {
		began := time.Now()
		c3 := redistest.StartCluster(t, 3, 0)
		c2 := redistest.StartCluster(t, 3, 0)
		env := map[string]string{
			"CONFORMANCE_CLUSTER3": strings.Join(c3.Addrs, ","),
			"CONFORMANCE_CLUSTER2": strings.Join(c2.Addrs, ","),
			"CONFORMANCE_SEARCH":   redistest.Start(t).Addr,
			"CONFORMANCE_REDIS86":  redistest.Start(t).Addr,
			"CONFORMANCE_CLIENT":   "part",
			"CONFORMANCE_HASHTAG":  "false",
		}
		switch topology {
		case "standalone":
			env["CONFORMANCE_RESP3"] = redistest.Start(t).Addr
			env["CONFORMANCE_RESP2"] = redistest.Start(t).Addr
		case "cluster":
			env["CONFORMANCE_RESP3"] = env["CONFORMANCE_CLUSTER3"]
			env["CONFORMANCE_RESP2"] = env["CONFORMANCE_CLUSTER2"]
		}
		switch client {
		case "raw":
			env["CONFORMANCE_CLIENT"] = "raw"
		case "hashtag":
			env["CONFORMANCE_HASHTAG"] = "true"
		}
		report, _ := filepath.Abs(filepath.Join(outDir, name+".json"))
		log, err := os.Create(filepath.Join(outDir, name+".log"))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = log.Close() }()
		_ = os.Remove(report)

		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "-test.run", "^TestAdapter$", "-test.count", "1", "-test.timeout", "28m",
			"-ginkgo.timeout", "27m", "-ginkgo.no-color", "-ginkgo.skip", skipPattern(), "-ginkgo.json-report", report,
			"-ginkgo.flake-attempts", strconv.Itoa(attempts))
		cmd.Dir = "suite"
		cmd.Env = passEnv(env)
		cmd.Stdout, cmd.Stderr = log, log
		// The suite fails specs in every pass (some need modules): its
		// exit status says nothing; the report says which.
		runErr := cmd.Run()
		if ctx.Err() != nil {
			t.Fatalf("%s did not finish in time: %v (see %s)", name, runErr, log.Name())
		}
		pass, err = ReadPass(report)
		if err != nil {
			t.Fatalf("%s: %v (exit: %v; see %s)", name, err, runErr, log.Name())
		}
		t.Logf("%s: %d specs in %s", name, len(pass.Order), time.Since(began).Round(time.Second))
	})
	if pass.Specs == nil {
		t.FailNow()
	}
	return pass
}

// passEnv is the test's environment without REDIS_* variables (the
// suite reads none, but the parts' settings must come from the harness
// alone) and with env.
func passEnv(env map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REDIS_") && !strings.HasPrefix(kv, "CONFORMANCE_") {
			out = append(out, kv)
		}
	}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

func serverVersion(t *testing.T) string {
	out, err := exec.Command("redis-server", "--version").Output()
	if err != nil {
		t.Fatalf("redis-server --version: %v", err)
	}
	for _, f := range strings.Fields(string(out)) {
		if v, ok := strings.CutPrefix(f, "v="); ok {
			return v
		}
	}
	return strings.TrimSpace(string(out))
}
