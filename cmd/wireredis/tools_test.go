package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/redistest"
)

type rueidisOption = rueidis.ClientOption

// TestHelpListsEveryFlagWithItsDefault: -h lists each flag of the
// command, each with its default.
func TestHelpListsEveryFlagWithItsDefault(t *testing.T) {
	for name, flags := range map[string][]string{
		"gen":     {"o", "package", "part", "set", "suffix"},
		"config":  {"json", "parts", "pkg", "strict"},
		"ping":    {"parts", "pkg", "timeout"},
		"keys":    {"count", "match", "part", "pkg"},
		"version": nil,
	} {
		code, out, errOut := runCmd(t, name, "-h")
		if code != 0 || errOut != "" {
			t.Errorf("%s -h: exit %d, stderr %q", name, code, errOut)
		}
		_, list, ok := strings.Cut(out, "\nFlags:\n")
		if !ok {
			t.Errorf("%s -h has no Flags section:\n%s", name, out)
			continue
		}
		var got []string
		lines := strings.Split(strings.TrimRight(list, "\n"), "\n")
		for i, line := range lines {
			if !strings.HasPrefix(line, "  -") {
				continue
			}
			got = append(got, strings.Fields(line)[0][1:])
			if i+1 == len(lines) || !strings.Contains(lines[i+1], "(default") {
				t.Errorf("%s -h: %s shows no default", name, line)
			}
		}
		if !slices.Equal(got, flags) {
			t.Errorf("%s -h lists the flags %q, want %q:\n%s", name, got, flags, out)
		}
	}
}

func TestVersion(t *testing.T) {
	code, out, errOut := runCmd(t, "version")
	if code != 0 || !strings.HasPrefix(out, "wireredis ") || !strings.HasSuffix(out, " "+runtime.Version()+"\n") {
		t.Errorf("version: exit %d, %q %q", code, out, errOut)
	}
	if _, usage, _ := runCmd(t, "-h"); !strings.Contains(usage, "  version ") {
		t.Errorf("the usage does not list version:\n%s", usage)
	}
}

// TestUnknownPartsAreUsageErrors: a part the tools do not know is exit
// status 2, with the nearest known name.
func TestUnknownPartsAreUsageErrors(t *testing.T) {
	clearRedisEnv(t)
	for _, args := range [][]string{
		{"keys", "-part", "nosuch"},
		{"keys", "-part", "sesion"},
		{"config", "-parts", "session,nosuch"},
		{"ping", "-parts", "nosuch", "-timeout", "100ms"},
		{"keys", "-pkg", t.TempDir(), "-part", "session"},
	} {
		code, out, errOut := runCmd(t, args...)
		if code != 2 || out != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	if _, _, errOut := runCmd(t, "keys", "-part", "sesion"); !strings.Contains(errOut, "did you mean session?") {
		t.Errorf("no suggestion: %s", errOut)
	}
}

func TestGenRefuses(t *testing.T) {
	out := filepath.Join(t.TempDir(), "gen.go")
	for args, want := range map[string]string{
		"-part A=rate-limit -part B=rate_limit":     "REDIS_RATE_LIMIT_*",
		"-part S=sentinel":                          "REDIS_SENTINEL_PASSWORD",
		"-part B=billing,url_env=1BILLING":          "url_env",
		"-part B=billing,url_env=BILLING-URL":       "not a variable name",
		"-part B=billing,url_env=REDIS_BILLING_URL": "reads anyway",
		"-part B=billing,url_env=REDIS_URL":         "reads anyway",
	} {
		code, _, errOut := runCmd(t, append([]string{"gen", "-package", "p", "-o", out}, strings.Fields(args)...)...)
		if code != 2 || !strings.Contains(errOut, want) {
			t.Errorf("gen %s: exit %d, %q; want 2 and %q", args, code, errOut, want)
		}
	}
}

func TestConfigStrict(t *testing.T) {
	clearRedisEnv(t)
	t.Setenv("REDIS_PROT", "6380")
	t.Setenv("REDIS_SESION_DB", "2")
	code, out, errOut := runCmd(t, "config")
	if code != 0 || !strings.Contains(errOut, "warning: REDIS_PROT: is not a wireredis variable; did you mean REDIS_PORT?") ||
		!strings.Contains(errOut, "REDIS_SESION_DB: names no part of this service (session, cache); did you mean REDIS_SESSION_DB?") || !strings.Contains(out, "PART") {
		t.Errorf("config: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = runCmd(t, "config", "-strict")
	if code != 2 || out != "" || !strings.Contains(errOut, "did you mean REDIS_PORT?") || !strings.Contains(errOut, "did you mean REDIS_SESSION_DB?") {
		t.Errorf("config -strict: exit %d\n%s\n%s", code, out, errOut)
	}
}

// writeParts runs gen into a directory of its own and returns it.
func writeParts(t *testing.T, parts ...string) string {
	t.Helper()
	dir := t.TempDir()
	args := []string{"gen", "-package", "svc", "-o", filepath.Join(dir, "wireredis_gen.go")}
	for _, p := range parts {
		args = append(args, "-part", p)
	}
	if code, _, errOut := runCmd(t, args...); code != 0 {
		t.Fatalf("gen: %s", errOut)
	}
	return dir
}

// TestToolsResolvePartsAsGenerated: config, ping and keys with -pkg see
// what wireredis gen put in code: the hash tag, db=N and url_env.
func TestToolsResolvePartsAsGenerated(t *testing.T) {
	main, billing := redistest.Start(t), redistest.Start(t)
	ctx := context.Background()
	seed := map[int][]string{0: {"cart:c1", "{rl}:ip:1", "{rl}:ip:2"}, 3: {"reports:day:1"}}
	for db, keys := range seed {
		c := main.NewClient(t, func(o *rueidisOption) { o.SelectDB = db })
		for _, k := range keys {
			if err := c.Do(ctx, c.B().Set().Key(k).Value("1").Build()).Error(); err != nil {
				t.Fatal(err)
			}
		}
	}
	b5 := billing.NewClient(t, func(o *rueidisOption) { o.SelectDB = 5 })
	if err := b5.Do(ctx, b5.B().Set().Key("billing:inv:1").Value("1").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	dir := writeParts(t, "Cart=cart", "RL=rl,hashtag", "Reports=reports,db=3", "Billing=billing,url_env=BILLING_REDIS_URL")
	clearRedisEnv(t)
	t.Setenv("REDIS_URL", main.URL())
	t.Setenv("BILLING_REDIS_URL", billing.URL()+"/5")
	t.Setenv("REDIS_STARTUP", "background") // the tools dial fail-fast anyway

	code, out, errOut := runCmd(t, "config", "-pkg", dir, "-json")
	if code != 0 {
		t.Fatalf("config: exit %d: %s", code, errOut)
	}
	var parts []partJSON
	if err := json.Unmarshal([]byte(out), &parts); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	fps := map[string]bool{}
	for _, p := range parts {
		got[p.Part] = p.Prefix + " " + p.Addr + " " + strings.Join(p.SharesWith, ",")
		fps[p.Fingerprint] = true
		if p.Part == "reports" && (p.DB != 3 || p.Sources["DB"] != "Options.DB") || p.Part == "billing" && p.DB != 5 {
			t.Errorf("%s: db %d, sources %v", p.Part, p.DB, p.Sources)
		}
	}
	want := map[string]string{
		"cart": "cart: " + main.Addr + " rl", "rl": "{rl}: " + main.Addr + " cart",
		"reports": "reports: " + main.Addr + " ", "billing": "billing: " + billing.Addr + " ",
	}
	if !mapsEqual(got, want) || len(fps) != 3 {
		t.Errorf("config -json:\n%v\nwant\n%v (3 connections)", got, want)
	}

	code, out, errOut = runCmd(t, "ping", "-pkg", dir, "-timeout", "2s")
	if code != 0 || strings.Count(out, "ok    ") != 3 || !strings.Contains(out, billing.Addr+" db=5 (billing)") || !strings.Contains(out, main.Addr+" db=3 (reports)") {
		t.Errorf("ping: exit %d\n%s%s", code, out, errOut)
	}
	for part, want := range map[string]string{"cart": "c1", "rl": "ip:1 ip:2", "reports": "day:1", "billing": "inv:1"} {
		code, out, errOut := runCmd(t, "keys", "-pkg", dir, "-part", part)
		keys := strings.Fields(out)
		slices.Sort(keys)
		if code != 0 || strings.Join(keys, " ") != want {
			t.Errorf("keys -part %s: exit %d, %q %s; want %s", part, code, out, errOut, want)
		}
	}
}

// TestToolsReportEveryContradiction: the tools fail as the application
// would, naming both variables.
func TestToolsReportEveryContradiction(t *testing.T) {
	dir := writeParts(t, "Reports=reports,db=3,url_env=REPORTS_REDIS_URL")
	for _, tc := range []struct {
		env  []string
		want []string
	}{
		{[]string{"REPORTS_REDIS_URL=redis://h/4", "REDIS_REPORTS_DB=5"}, []string{"REPORTS_REDIS_URL", "REDIS_REPORTS_DB"}},
		{[]string{"REDIS_REPORTS_DB=5"}, []string{"REDIS_REPORTS_DB", "Options.DB to 3"}},
	} {
		clearRedisEnv(t)
		for _, kv := range tc.env {
			k, v, _ := strings.Cut(kv, "=")
			t.Setenv(k, v)
		}
		code, _, errOut := runCmd(t, "config", "-pkg", dir)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2", tc.env, code)
		}
		for _, w := range tc.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("%v: %q does not name %s", tc.env, errOut, w)
			}
		}
	}
}

// TestPingFailsFastOnBadTLSFiles: a CA file that is a device is a
// configuration error naming it, within -timeout.
func TestPingFailsFastOnBadTLSFiles(t *testing.T) {
	clearRedisEnv(t)
	t.Setenv("REDIS_TLS", "true")
	t.Setenv("REDIS_TLS_CA_FILE", "/dev/zero")
	done := make(chan struct{})
	var code int
	var errOut string
	go func() {
		defer close(done)
		code, _, errOut = runCmd(t, "ping", "-timeout", "1s")
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("ping -timeout 1s did not return within 5s")
	}
	if code != 2 || !strings.Contains(errOut, "REDIS_TLS_CA_FILE") || !strings.Contains(errOut, "not a regular file") {
		t.Errorf("exit %d: %s", code, errOut)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestDocsListEveryCommand keeps doc.go and README's command table in
// step with the command table.
func TestDocsListEveryCommand(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range commands {
		names = append(names, c.name)
		if !strings.Contains(string(readme), "| `"+c.name) {
			t.Errorf("README's command table has no row for %s", c.name)
		}
		if !strings.Contains(string(doc), "\n// "+c.name+" ") {
			t.Errorf("doc.go does not describe %s", c.name)
		}
	}
	_, table, _ := strings.Cut(string(readme), "| command | what it does |")
	for _, line := range strings.Split(table, "\n")[2:] {
		if !strings.HasPrefix(line, "| `") {
			break
		}
		name := strings.Fields(strings.TrimPrefix(line, "| `"))[0]
		if !slices.Contains(names, strings.TrimSuffix(name, "`")) {
			t.Errorf("README lists %q, which is not a command", name)
		}
	}
}

// TestConfigShowsRESP2TurnsCachingOff: config agrees with the
// application: RESP2 alone is accepted and shown without client-side
// caching; caching asked for over RESP2 is refused naming both.
func TestConfigShowsRESP2TurnsCachingOff(t *testing.T) {
	clearRedisEnv(t)
	t.Setenv("REDIS_PROTOCOL", "2")
	code, out, errOut := runCmd(t, "config", "-parts", "session")
	if code != 0 || !strings.Contains(out, "resp=2 client_cache=off(resp2)") {
		t.Errorf("config: exit %d\n%s\n%s", code, out, errOut)
	}
	t.Setenv("REDIS_SESSION_DISABLE_CACHE", "false")
	code, out, errOut = runCmd(t, "config", "-parts", "session")
	if code == 0 || !strings.Contains(errOut, "REDIS_SESSION_DISABLE_CACHE") || !strings.Contains(errOut, "REDIS_PROTOCOL is 2") {
		t.Errorf("config with caching over RESP2: exit %d\n%s\n%s", code, out, errOut)
	}
}
