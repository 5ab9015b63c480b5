package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/wireredis/wireredis/internal/testsupport"
	"github.com/wireredis/wireredis/redistest"
)

func TestMain(m *testing.M) { testsupport.VerifyTestMain(m) }

// clearRedisEnv makes the demo's own os.Setenv calls undone after the test.
func clearRedisEnv(t *testing.T) {
	for _, k := range []string{"REDIS_URL", "REDIS_URL_FILE", "REDIS_HOST", "REDIS_DISABLE_CACHE", "REDIS_FORCE_SINGLE_CLIENT", "REDIS_PROTOCOL", "REDIS_ANALYTICS_DB", "REDIS_ANALYTICS_URL", "REDIS_CACHE_URL", "REDIS_STARTUP"} {
		t.Setenv(k, "")
	}
}

func TestDemo(t *testing.T) {
	srv := redistest.Start(t)
	for _, tc := range []struct {
		name string
		url  string
		path string // PATH, to hide redis-server
		want []string
	}{
		{"embedded redis-server", "", os.Getenv("PATH"), []string{"Redis: embedded redis-server"}},
		{"embedded miniredis", "", t.TempDir(), []string{"Redis: embedded miniredis", "without client-side caching", ", 0 served by the client-side cache"}},
		{"REDIS_URL", srv.URL(), os.Getenv("PATH"), []string{srv.Addr + " db=1 refs=1 parts=analytics"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearRedisEnv(t)
			t.Setenv("REDIS_URL", tc.url)
			t.Setenv("PATH", tc.path)
			var out, errOut bytes.Buffer
			if code := run(context.Background(), nil, &out, &errOut); code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, &out, &errOut)
			}
			// One load; the other three lookups are answered by Redis or,
			// with client tracking, by the client-side cache (how many by
			// which depends on when the SET's invalidation arrives).
			m := regexp.MustCompile(`4 lookups of product:42: 1 loaded from the source, (\d) read from Redis, (\d) served by the client-side cache`).FindStringSubmatch(out.String())
			if m == nil || atoi(m[1])+atoi(m[2]) != 3 {
				t.Errorf("cache lookups: %v in\n%s", m, &out)
			}
			for _, want := range append(tc.want,
				"REDIS_ANALYTICS_DB=1 (set by the demo)",
				"analytics  prefix analytics:",
				"the registry opened 2 for 3 parts",
				"db=0 refs=2 parts=cache,session",
				"login ann → token",
				"logout → read again: no such session",
				"db 0  cache:product:42         ttl 5m0s",
				"db 0  session:tok:",
				"db 1  analytics:events:login   no TTL",
				`msg="wireredis: reference released"`,
				"connections open: 0",
				"== telemetry: the trace of the script",
				"  SET        part=session ",
				"  INCR       part=analytics ",
				"db.namespace=1",
				"db.client.operation.duration: analytics INCR 2×",
				"wireredis.connection.parts: ",
			) {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, &out)
				}
			}
		})
	}
}

func TestDemoFailsOnBadSettings(t *testing.T) {
	clearRedisEnv(t)
	t.Setenv("REDIS_URL", "redis://u:topsecret@localhost:99999")
	var out, errOut bytes.Buffer
	if code := run(context.Background(), nil, &out, &errOut); code != 2 {
		t.Errorf("exit %d, want 2 (a configuration error)", code)
	}
	if msg := errOut.String(); !strings.Contains(msg, "REDIS_URL") || strings.Contains(msg, "topsecret") {
		t.Errorf("stderr %q: should name REDIS_URL and not the password", msg)
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"-h"}, 0}, {[]string{"extra"}, 2}, {[]string{"-nope"}, 2},
	} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), tc.args, &out, &errOut); code != tc.code {
			t.Errorf("run(%q) = %d, want %d", tc.args, code, tc.code)
		}
		if all := out.String() + errOut.String(); !strings.Contains(all, "usage: wireredis-demo") || !strings.Contains(all, "-serve") {
			t.Errorf("run(%q) printed no usage with its flags:\n%s", tc.args, all)
		}
	}
}
