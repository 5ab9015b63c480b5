package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/wireredis/wireredis/internal/testsupport"
)

func TestMain(m *testing.M) { testsupport.VerifyTestMain(m) }

// clearRedisEnv keeps the caller's REDIS_* variables out of a test.
func clearRedisEnv(t *testing.T) {
	for _, k := range []string{"REDIS_URL", "REDIS_URL_FILE", "REDIS_HOST", "REDIS_DISABLE_CACHE", "REDIS_FORCE_SINGLE_CLIENT", "REDIS_PROTOCOL", "REDIS_ANALYTICS_DB", "REDIS_ANALYTICS_URL", "REDIS_CACHE_URL", "REDIS_STARTUP", "REDIS_TLS", "REDIS_TLS_CA_FILE", "BILLING_REDIS_URL", "REPORTS_REDIS_URL", "REDIS_REPORTS_DB"} {
		t.Setenv(k, "")
	}
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{nil, 2}, {[]string{"nope"}, 2}, {[]string{"version", "extra"}, 2}, {[]string{"-h"}, 0}, {[]string{"gen", "-h"}, 0},
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
