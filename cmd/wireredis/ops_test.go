package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/wireredis/wireredis/redistest"
)

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestConfigCommand(t *testing.T) {
	clearRedisEnv(t)
	t.Setenv("REDIS_URL", "redis://app:hunter2%20s3cret%2Fx@cache.internal:6380/0")
	t.Setenv("REDIS_ANALYTICS_DB", "1")
	demo := filepath.Join(repoRoot(t), "cmd", "wireredis-demo", "internal", "demo") // analytics is generated there
	code, out, errOut := runCmd(t, "config", "-pkg", demo, "-parts", "session,cache,analytics")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"session", "addr=cache.internal:6380 db=1", "password=[redacted]", "2 connection(s) for 3 part(s):", ": session, cache\n", ": analytics\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("config output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runCmd(t, "config", "-pkg", demo, "-parts", "session,cache,analytics", "-json")
	if code != 0 {
		t.Fatal(code)
	}
	var parts []partJSON
	if err := json.Unmarshal([]byte(out), &parts); err != nil {
		t.Fatalf("-json output is not JSON: %v\n%s", err, out)
	}
	if len(parts) != 3 || parts[0].Part != "session" || strings.Join(parts[0].SharesWith, ",") != "cache" || len(parts[2].SharesWith) != 0 || parts[2].DB != 1 || !parts[0].PasswordSet {
		t.Errorf("-json = %+v", parts)
	}
	for _, o := range []string{out, errOut} {
		if strings.Contains(o, "hunter2") || strings.Contains(o, "s3cret") {
			t.Errorf("the password leaked: %s", o)
		}
	}
}

func TestConfigCommandInvalid(t *testing.T) {
	clearRedisEnv(t)
	t.Setenv("REDIS_CACHE_PORT", "http")
	code, _, errOut := runCmd(t, "config", "-parts", "session,cache")
	if code != 2 || !strings.Contains(errOut, "REDIS_CACHE_PORT") {
		t.Errorf("exit %d, stderr %q: want 2 naming REDIS_CACHE_PORT", code, errOut)
	}
	if strings.Contains(errOut, "goroutine") || strings.Contains(errOut, "panic") {
		t.Errorf("stderr holds a stack trace: %s", errOut)
	}
}

func TestPingCommand(t *testing.T) {
	srv := redistest.Start(t)
	dead := redistest.Start(t)
	deadPort := dead.Port()
	dead.Kill()
	clearRedisEnv(t)
	t.Setenv("REDIS_URL", srv.URL())
	code, out, errOut := runCmd(t, "ping", "-parts", "session,cache", "-timeout", "1s")
	if code != 0 || !strings.Contains(out, "ok    "+srv.Addr+" db=0 (session,cache): PING") || !strings.Contains(out, ", "+srv.Version(t)+"\n") {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
	t.Setenv("REDIS_CACHE_URL", "redis://127.0.0.1:"+strconv.Itoa(deadPort))
	code, out, errOut = runCmd(t, "ping", "-timeout", "1s")
	if code != 1 || !strings.Contains(out, "FAIL  127.0.0.1:"+strconv.Itoa(deadPort)) || !strings.Contains(errOut, "1 of 2 connection(s) failed") {
		t.Errorf("with the cache server down: exit %d\n%s%s", code, out, errOut)
	}
}

func TestKeysCommand(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	for _, k := range []string{"session:user:1", "session:user:2", "session:cart:1", "cache:user:1"} {
		if err := srv.Client.Do(ctx, srv.Client.B().Set().Key(k).Value("v").Build()).Error(); err != nil {
			t.Fatal(err)
		}
	}
	clearRedisEnv(t)
	t.Setenv("REDIS_URL", srv.URL())
	code, out, errOut := runCmd(t, "keys", "-part", "session", "-match", "user:*")
	lines := strings.Fields(out)
	if code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], "user:") || !strings.HasPrefix(lines[1], "user:") {
		t.Errorf("keys -match user:* = exit %d %q %s", code, out, errOut)
	}
	if code, out, _ = runCmd(t, "keys", "-part", "session", "-count", "1"); code != 0 || len(strings.Fields(out)) != 1 {
		t.Errorf("keys -count 1 = exit %d %q", code, out)
	}
	if code, _, errOut = runCmd(t, "keys"); code != 2 || !strings.Contains(errOut, "-part names one part, and is required") {
		t.Errorf("keys without -part = exit %d %q", code, errOut)
	}
}

func TestHelpOfEveryCommand(t *testing.T) {
	for _, c := range commands {
		name := c.name
		code, out, errOut := runCmd(t, name, "-h")
		if code != 0 || !strings.Contains(out, "Example") || errOut != "" || strings.Count(out, "usage: wireredis") != 1 {
			t.Errorf("%s -h: exit %d\nstdout %s\nstderr %s", name, code, out, errOut)
		}
	}
	if code, _, errOut := runCmd(t, "config", "-nosuchflag"); code != 2 || !strings.Contains(errOut, "nosuchflag") {
		t.Errorf("an unknown flag: exit %d %q", code, errOut)
	}
}
