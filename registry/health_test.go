package registry_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wireredis/wireredis/redistest"
	"github.com/wireredis/wireredis/registry"
)

// pingCalls reads how many PINGs the server has answered.
func pingCalls(t *testing.T, srv *redistest.Server) int {
	t.Helper()
	info, err := srv.Client.Do(context.Background(), srv.Client.B().Info().Section("commandstats").Build()).ToString()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if rest, ok := strings.CutPrefix(line, "cmdstat_ping:calls="); ok {
			n, _ := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
			return n
		}
	}
	return 0
}

// TestHealthHandlerProbeRules: GET and HEAD only; one check answers the
// probes of a second; the body shows part names and up/down, and the
// addresses and errors only when asked.
func TestHealthHandlerProbeRules(t *testing.T) {
	ctx := context.Background()
	up, down := redistest.Start(t), redistest.Start(t)
	reg, _ := newRegistry(t)
	for _, p := range []struct{ part, url string }{{"session", up.URL()}, {"analytics", down.URL()}} {
		_, release, err := reg.Acquire(ctx, load(t, p.part, "REDIS_URL="+p.url, "REDIS_PING_TIMEOUT=500ms"))
		if err != nil {
			t.Fatal(err)
		}
		defer release()
	}
	down.Kill()
	serve := func(h http.Handler, method string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, "/healthz", nil))
		return rec
	}
	h := reg.HealthHandler(registry.HealthConfig{Timeout: time.Second})
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS"} {
		if rec := serve(h, m); rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: %d, Allow %q", m, rec.Code, rec.Header().Get("Allow"))
		}
	}
	before := pingCalls(t, up)
	var body map[string]any
	for range 20 {
		rec := serve(h, "GET")
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("GET: %d", rec.Code)
		}
		body = nil
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
	}
	if n := pingCalls(t, up) - before; n > 3 {
		t.Errorf("20 probes in a row sent %d PINGs to the server; one check should answer them", n)
	}
	if rec := serve(h, "HEAD"); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("HEAD: %d", rec.Code)
	}
	raw, _ := json.Marshal(body)
	if got := string(raw); got != `{"failing":["analytics"],"parts":{"analytics":"down","session":"up"},"status":"unavailable"}` {
		t.Errorf("body %s", got)
	}
	for _, secret := range []string{up.Addr, down.Addr, "127.0.0.1", "refused", "connect"} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("the default body shows %q: %s", secret, raw)
		}
	}
	detailed := serve(reg.HealthHandler(registry.HealthConfig{Timeout: time.Second, Details: true}), "GET")
	if !strings.Contains(detailed.Body.String(), down.Addr) || !strings.Contains(detailed.Body.String(), `"error"`) {
		t.Errorf("with Details: %s", detailed.Body)
	}
	// A cached result ages out.
	fresh := reg.HealthHandler(registry.HealthConfig{Timeout: time.Second, CacheFor: -1})
	before = pingCalls(t, up)
	for range 3 {
		serve(fresh, "GET")
	}
	if n := pingCalls(t, up) - before; n < 3 {
		t.Errorf("with CacheFor < 0, 3 probes sent %d PINGs", n)
	}
}
