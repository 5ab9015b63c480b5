package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/wireredis/wireredis/internal/leakcheck"
	"github.com/wireredis/wireredis/redistest"
)

func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }

// clearRedisEnv makes the demo's own os.Setenv calls undone after the test.
func clearRedisEnv(t *testing.T) {
	for _, k := range []string{"REDIS_URL", "REDIS_URL_FILE", "REDIS_HOST", "REDIS_DISABLE_CACHE", "REDIS_FORCE_SINGLE_CLIENT", "REDIS_PROTOCOL"} {
		t.Setenv(k, "")
	}
}

func TestDemo(t *testing.T) {
	srv := redistest.Start(t)
	for _, tc := range []struct {
		name string
		url  string
		want []string
	}{
		{"embedded", "", []string{"Redis: embedded (miniredis)"}},
		{"REDIS_URL", srv.URL(), []string{"addr=" + srv.Addr}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearRedisEnv(t)
			t.Setenv("REDIS_URL", tc.url)
			var out, errOut bytes.Buffer
			if code := run(context.Background(), []string{"demo"}, &out, &errOut); code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, &out, &errOut)
			}
			for _, want := range append(tc.want,
				`session.Do(GET user:42) = "ann"`,
				"the cache part cannot see the session's keys",
				"  cache:page:/home     ttl 1m0s",
				"  session:user:42      ttl 30m0s",
				"Connections: the registry opened 1 for 2 parts",
				"refs=2 parts=cache,session",
				"After wire's cleanup: 0 connections open",
			) {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, &out)
				}
			}
		})
	}
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{nil, 2}, {[]string{"nope"}, 2}, {[]string{"demo", "extra"}, 2}, {[]string{"-h"}, 0}, {[]string{"demo", "-h"}, 0},
	} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), tc.args, &out, &errOut); code != tc.code {
			t.Errorf("run(%q) = %d, want %d", tc.args, code, tc.code)
		}
		if !strings.Contains(out.String()+errOut.String(), "usage: wireredis") {
			t.Errorf("run(%q) printed no usage", tc.args)
		}
	}
}

func TestDemoFailsOnBadSettings(t *testing.T) {
	clearRedisEnv(t)
	t.Setenv("REDIS_URL", "redis://u:topsecret@localhost:99999")
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"demo"}, &out, &errOut); code != 2 {
		t.Errorf("exit %d, want 2 (a configuration error)", code)
	}
	if msg := errOut.String(); !strings.Contains(msg, "REDIS_URL") || strings.Contains(msg, "topsecret") {
		t.Errorf("stderr %q: should name REDIS_URL and not the password", msg)
	}
}
