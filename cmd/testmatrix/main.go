package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// ServersDirEnv names the setting for the directory of server builds.
const ServersDirEnv = "REDIS_SERVERS_DIR"

// skipPrefix is redistest.SkipPrefix: a skip for a feature the server
// lacks. (Not imported: this command must not pull the harness in.)
const skipPrefix = "redistest: needs"

// Subset is what CI runs on every server: isolation, reply transparency,
// client-side caching, notifications, ACL generation, and the core
// (sharing, reference counts, learning, the key table).
const Subset = `^(TestPartsDoNotSeeEachOther|TestRefusedAndUnknownCommands|TestOracle|TestEffectOracle|TestFamilies|TestHashFieldExpiry|` +
	`TestRepliesAsIfNoPrefixExisted|TestReplyRewriting|TestStreams|TestScan|TestKeysCommand|` +
	`TestDoCache.*|TestKeyspaceNotifications|TestPubSub|TestPatternSubscribe|TestShardedPubSub|` +
	`TestACLCommand|TestACLEnforcedIsolation|TestAttackACLRules.*|TestAttackScriptThatNeverEnds|` +
	`TestEqualSettingsShareOneClient|TestReleaseClosesAtZero|TestConcurrentAcquireRelease|TestOpenAppliesOverridesAndShares|` +
	`TestLearn.*|TestFindAgreesWithTheServer|TestTableIsCurrent|TestStartCluster|TestCluster)$`

// features are the columns of the compatibility matrix: the tests that
// show each (top-level test names).
var features = []struct {
	name string
	re   *regexp.Regexp
}{
	{"isolation", regexp.MustCompile(`^(TestPartsDoNotSeeEachOther|TestRefusedAndUnknownCommands|TestOracle|TestEffectOracle|TestFamilies|TestHashFieldExpiry)$`)},
	{"transparency", regexp.MustCompile(`^(TestRepliesAsIfNoPrefixExisted|TestReplyRewriting|TestStreams|TestScan|TestKeysCommand)$`)},
	{"client-side caching", regexp.MustCompile(`^TestDoCache`)},
	{"keyspace notifications", regexp.MustCompile(`^(TestKeyspaceNotifications|TestPubSub|TestPatternSubscribe|TestShardedPubSub)$`)},
	{"ACL generation", regexp.MustCompile(`^(TestACLCommand|TestACLEnforcedIsolation|TestAttackACLRules.*|TestAttackScriptThatNeverEnds)$`)},
	{"cluster", regexp.MustCompile(`^(TestStartCluster|TestCluster|TestClusterFailover|TestEffectOracleCluster|TestAttackCluster.*|TestPubSubCluster.*|TestBatchOnACluster)$`)},
}

func main() {
	run := flag.String("run", "", "go test -run regexp (default: every test); 'subset' for CI's subset")
	doc := flag.String("doc", "", "write the tables into this file, between <!-- matrix:begin --> and <!-- matrix:end -->")
	dir := flag.String("servers", "", "directory of server builds (default: $"+ServersDirEnv+", or ../shared/servers)")
	race := flag.Bool("race", false, "run with the race detector")
	timeout := flag.Duration("timeout", 30*time.Minute, "go test -timeout per server")
	flag.StringVar(&jsonDir, "json", "", "keep each server's go test -json output in this directory")
	only := flag.String("only", "", "run only the servers whose name (\"redis 7.4.1\", \"valkey 8.0.1\") matches this regexp")
	flag.Parse()
	if *run == "subset" {
		*run = Subset
	}
	if err := matrix(*run, *doc, *dir, *only, *race, *timeout, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "testmatrix:", err)
		os.Exit(1)
	}
}

var jsonDir string

type server struct {
	name, bin string // "redis 7.0.15", path
}

type result struct {
	server
	pass, fail, skipFeature, skipOther int
	failed                             []string
	missing                            map[string]bool    // skip messages: what the server lacks
	tests                              map[string]outcome // by top-level test
	elapsed                            time.Duration
}

func matrix(run, doc, dir, only string, race bool, timeout time.Duration, pkgs []string) error {
	servers, err := listServers(dir)
	if err != nil {
		return err
	}
	if only != "" {
		re, err := regexp.Compile(only)
		if err != nil {
			return fmt.Errorf("-only: %w", err)
		}
		servers = slices.DeleteFunc(servers, func(s server) bool { return !re.MatchString(s.name) })
		if len(servers) == 0 {
			return fmt.Errorf("-only %s matches no server", only)
		}
	}
	if len(pkgs) == 0 {
		pkgs = []string{"./..."}
	}
	var results []result
	for _, s := range servers {
		fmt.Fprintf(os.Stderr, "testmatrix: %s (%s)\n", s.name, s.bin)
		r, err := runSuite(s, run, race, timeout, pkgs)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "testmatrix: %s: %d passed, %d failed, %d skipped for a feature, in %s\n", s.name, r.pass, r.fail, r.skipFeature, r.elapsed.Round(time.Second))
		results = append(results, r)
	}
	table := render(results, run)
	fmt.Print(table)
	if doc != "" {
		if err := writeDoc(doc, table); err != nil {
			return err
		}
	}
	var failed []string
	for _, r := range results {
		if r.fail > 0 {
			failed = append(failed, fmt.Sprintf("%s: %s", r.name, strings.Join(r.failed, ", ")))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("failures:\n  %s", strings.Join(failed, "\n  "))
	}
	return nil
}

// listServers is redis-server from PATH, then every server build of dir.
func listServers(dir string) ([]server, error) {
	if dir == "" {
		dir = os.Getenv(ServersDirEnv)
	}
	if dir == "" {
		root, err := moduleRoot()
		if err != nil {
			return nil, err
		}
		dir = filepath.Join(root, "..", "shared", "servers")
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("the matrix runs every server build in %s, which is missing (%w): set %s to a directory holding <name>/redis-server or <name>/valkey-server builds", dir, err, ServersDirEnv)
	}
	var bins []string
	if p, err := exec.LookPath("redis-server"); err == nil {
		bins = append(bins, p)
	} else {
		return nil, errors.New("redis-server is not on PATH (Debian: apt-get install redis-server)")
	}
	for _, name := range []string{"redis-server", "valkey-server"} {
		found, _ := filepath.Glob(filepath.Join(dir, "*", name))
		slices.Sort(found)
		bins = append(bins, found...)
	}
	if len(bins) == 1 {
		return nil, fmt.Errorf("%s holds no */redis-server or */valkey-server (set %s)", dir, ServersDirEnv)
	}
	var out []server
	for _, b := range bins {
		v, err := exec.Command(b, "--version").Output()
		if err != nil {
			return nil, fmt.Errorf("%s --version: %w", b, err)
		}
		f := strings.Fields(string(v)) // "Redis server v=7.0.15 ..."
		if len(f) < 3 {
			return nil, fmt.Errorf("%s --version: %q", b, v)
		}
		out = append(out, server{name: strings.ToLower(f[0]) + " " + strings.TrimPrefix(f[2], "v="), bin: b})
	}
	return out, nil
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" || strings.TrimSpace(string(out)) == os.DevNull {
		return "", fmt.Errorf("not inside a Go module: set %s", ServersDirEnv)
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}

type event struct {
	Action, Test, Output, Package string
}

func runSuite(s server, run string, race bool, timeout time.Duration, pkgs []string) (result, error) {
	args := []string{"test", "-count=1", "-json", "-timeout", timeout.String()}
	if race {
		args = append(args, "-race")
	}
	if run != "" {
		args = append(args, "-run", run)
	}
	args = append(args, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "REDIS_SERVER_BIN="+s.bin, "REDIS_TEST_ADDR=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return result{}, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	r := result{server: s, missing: map[string]bool{}, tests: map[string]outcome{}}
	output := map[string]*strings.Builder{}
	pkgFails := map[string]int{}
	var in io.Reader = stdout
	if jsonDir != "" {
		f, err := os.Create(filepath.Join(jsonDir, strings.ReplaceAll(s.name, " ", "-")+".json"))
		if err != nil {
			return result{}, err
		}
		defer func() { _ = f.Close() }()
		in = io.TeeReader(stdout, f)
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var e event
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		id := e.Package + " " + e.Test
		switch e.Action {
		case "output":
			if e.Test != "" {
				if output[id] == nil {
					output[id] = &strings.Builder{}
				}
				output[id].WriteString(e.Output)
			}
		case "pass", "fail", "skip":
			if e.Test == "" {
				// A package that failed without a failing test: it did
				// not build, or its TestMain (goleak) failed.
				if e.Action == "fail" && pkgFails[e.Package] == 0 {
					r.failed = append(r.failed, e.Package+" (package)")
					r.fail++
				}
				continue
			}
			top, _, sub := strings.Cut(e.Test, "/")
			o := r.tests[top]
			switch {
			case !sub:
				o.own = e.Action
			case e.Action == "fail":
				o.subFailed = true
			case e.Action == "skip":
				o.subSkipped = true
			}
			r.tests[top] = o
			text := ""
			if o := output[id]; o != nil {
				text = o.String()
			}
			switch e.Action {
			case "pass":
				r.pass++
			case "fail":
				r.fail++
				pkgFails[e.Package]++
				r.failed = append(r.failed, e.Test)
				// A CI log must say why, not only which.
				fmt.Fprintf(os.Stderr, "testmatrix: %s: --- FAIL: %s\n%s", s.name, e.Test, text)
			case "skip":
				if i := strings.Index(text, skipPrefix); i >= 0 {
					r.skipFeature++
					what, _, _ := strings.Cut(text[i+len(skipPrefix):], ", which")
					r.missing[strings.TrimSpace(what)] = true
				} else {
					r.skipOther++
				}
			}
		}
	}
	werr := cmd.Wait()
	r.elapsed = time.Since(start)
	if werr != nil && r.fail == 0 {
		_, _ = io.Copy(os.Stderr, &stderr)
		return r, fmt.Errorf("%s: go test: %w", s.name, werr)
	}
	return r, nil
}

// outcome is a top-level test's: its own, and whether a subtest failed or
// was skipped.
type outcome struct {
	own                   string // pass, fail, skip
	subFailed, subSkipped bool
}

func render(results []result, run string) string {
	var b strings.Builder
	what := "the whole suite"
	if run == Subset {
		what = "CI's subset (isolation, transparency, caching, notifications, ACL, core)"
	} else if run != "" {
		what = "tests matching " + run
	}
	fmt.Fprintf(&b, "Results of %s (go test -count=1, one server at a time):\n\n", what)
	b.WriteString("| server | passed | failed | skipped: the server lacks | skipped otherwise | time |\n| --- | --: | --: | --- | --: | --: |\n")
	for _, r := range results {
		var lacks []string
		for m := range r.missing {
			lacks = append(lacks, m)
		}
		slices.Sort(lacks)
		l := fmt.Sprint(r.skipFeature)
		if len(lacks) > 0 {
			l += ": " + strings.Join(lacks, "; ")
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %s | %d | %s |\n", r.name, r.pass, r.fail, l, r.skipOther, r.elapsed.Round(time.Second))
	}
	b.WriteString("\nFeatures (each cell counts the tests that show the feature: \"pass\" when every one passed whole, \"partly\" when some, or some of their subtests, were skipped because the server lacks a command):\n\n| server |")
	for _, f := range features {
		b.WriteString(" " + f.name + " |")
	}
	b.WriteString("\n| --- |" + strings.Repeat(" --- |", len(features)) + "\n")
	for _, r := range results {
		b.WriteString("| " + r.name + " |")
		for _, f := range features {
			var all, failed, whole, skipped int
			for name, o := range r.tests {
				if !f.re.MatchString(name) {
					continue
				}
				all++
				switch {
				case o.own == "fail" || o.subFailed:
					failed++
				case o.own == "skip":
					skipped++
				case !o.subSkipped:
					whole++
				}
			}
			cell := "not run"
			switch {
			case failed > 0:
				cell = fmt.Sprintf("FAIL (%d of %d tests)", failed, all)
			case all > 0 && skipped == all:
				cell = fmt.Sprintf("skipped (%d tests)", all)
			case whole == all && all > 0:
				cell = fmt.Sprintf("pass (%d tests)", all)
			case all > 0:
				cell = fmt.Sprintf("partly: %d of %d tests whole, %d skipped", whole, all, skipped)
			}
			b.WriteString(" " + cell + " |")
		}
		b.WriteString("\n")
	}
	return b.String()
}

const beginMark, endMark = "<!-- matrix:begin -->", "<!-- matrix:end -->"

func writeDoc(path, table string) error {
	text, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	before, rest, ok1 := strings.Cut(string(text), beginMark)
	_, after, ok2 := strings.Cut(rest, endMark)
	if !ok1 || !ok2 {
		return fmt.Errorf("%s lacks the markers %s and %s", path, beginMark, endMark)
	}
	stamp := "Written by `make test-matrix` on " + time.Now().UTC().Format("2006-01-02") + ".\n\n"
	return os.WriteFile(path, []byte(before+beginMark+"\n"+stamp+table+endMark+after), 0o644)
}
