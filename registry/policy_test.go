package registry_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/testsupport"
	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/redistest"
	"github.com/wireredis/wireredis/registry"
)

func TestLazyStartup(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	reg, _ := newRegistry(t)
	opts := load(t, "session", "REDIS_URL="+srv.URL(), "REDIS_STARTUP=lazy", "REDIS_PING_TIMEOUT=500ms")

	c, release, err := reg.Acquire(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if n := srv.ConnectedClients(t); n != 0 {
		t.Errorf("a lazy Acquire opened %d connections before any command", n)
	}
	if s := reg.Stats(); len(s) != 1 || s[0].Connected {
		t.Errorf("Stats = %+v, want one connection, not connected", s)
	}
	ping(t, c)
	if s := reg.Stats(); !s[0].Connected || srv.ConnectedClients(t) == 0 {
		t.Errorf("after the first command: Stats %+v, %d server connections", s, srv.ConnectedClients(t))
	}
}

func TestLazyStartupRedisComesUpLate(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	srv.Kill()
	reg, _ := newRegistry(t)
	opts := load(t, "session", "REDIS_URL="+srv.URL(), "REDIS_STARTUP=lazy", "REDIS_PING_TIMEOUT=500ms")
	start := time.Now()
	c, release, err := reg.Acquire(ctx, opts)
	if err != nil {
		t.Fatalf("a lazy Acquire with Redis down: %v", err)
	}
	defer release()
	if err := c.Do(ctx, c.B().Ping().Build()).Error(); err == nil {
		t.Fatal("PING with Redis down succeeded")
	} else if !strings.Contains(err.Error(), srv.Addr) {
		t.Errorf("error %q does not name the address", err)
	}
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Errorf("the failed first command took %s with REDIS_PING_TIMEOUT=500ms", elapsed)
	}
	srv.Restart()
	ping(t, c) // the same client, no rebuild
}

func TestBackgroundStartup(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	srv.Kill()
	reg, logs := newRegistry(t)
	opts := load(t, "session", "REDIS_URL="+srv.URL(), "REDIS_STARTUP=background", "REDIS_PING_TIMEOUT=300ms")
	c, release, err := reg.Acquire(ctx, opts)
	if err != nil {
		t.Fatalf("a background Acquire with Redis down: %v", err)
	}
	defer release()
	start := time.Now()
	err = c.Do(ctx, c.B().Set().Key("k").Value("v").Build()).Error()
	if !errors.Is(err, registry.ErrNotReady) {
		t.Errorf("a command before the connection: %v, want ErrNotReady", err)
	}
	if elapsed := time.Since(start); elapsed > 100*time.Millisecond {
		t.Errorf("ErrNotReady took %s: it must not wait", elapsed)
	}
	// Wait for a failed attempt before Redis comes back: a server that
	// restarts fast (Valkey) could otherwise be up before the first dial.
	testsupport.WaitFor(t, 10*time.Second, "a failed background dial to be logged", func() bool {
		return strings.Contains(logs.String(), "background connect failed; retrying")
	})
	srv.Restart()
	testsupport.WaitFor(t, 10*time.Second, "the background dial to connect after Redis came up", func() bool {
		return c.Do(ctx, c.B().Set().Key("k").Value("v").Build()).Error() == nil
	})
	if n, _ := srv.Client.Do(ctx, srv.Client.B().Exists().Key("k").Build()).AsInt64(); n != 1 {
		t.Error("the write after the connection did not land")
	}
}

func TestBackgroundStopsOnRelease(t *testing.T) {
	srv := redistest.Start(t)
	srv.Kill()
	reg, logs := newRegistry(t)
	opts := load(t, "session", "REDIS_URL="+srv.URL(), "REDIS_STARTUP=background", "REDIS_PING_TIMEOUT=200ms")
	_, release, err := reg.Acquire(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	testsupport.WaitFor(t, 10*time.Second, "the background dialler to fail once", func() bool {
		return strings.Contains(logs.String(), "background connect failed; retrying")
	})
	release() // the background dialler must stop: TestMain checks for goroutines left
	if s := reg.Stats(); len(s) != 0 {
		t.Errorf("Stats after release = %+v", s)
	}
}

func TestHealth(t *testing.T) {
	ctx := context.Background()
	up, down := redistest.Start(t), redistest.Start(t)
	reg, _ := newRegistry(t)
	for _, p := range []struct{ part, url string }{{"session", up.URL()}, {"cache", up.URL()}, {"analytics", down.URL()}} {
		_, release, err := reg.Acquire(ctx, load(t, p.part, "REDIS_URL="+p.url, "REDIS_PING_TIMEOUT=500ms"))
		if err != nil {
			t.Fatal(err)
		}
		defer release()
	}
	check := func(h http.Handler) (int, map[string]any) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("body %q: %v", rec.Body, err)
		}
		return rec.Code, body
	}
	if code, body := check(reg.HealthHandler(registry.HealthConfig{Timeout: time.Second})); code != 200 || body["status"] != "ok" {
		t.Errorf("all up: %d %v", code, body)
	}
	down.Kill()
	hs := reg.Check(ctx)
	if len(hs) != 2 {
		t.Fatalf("Check = %+v", hs)
	}
	for _, h := range hs {
		healthy := h.Addr == up.Addr
		if h.Healthy() != healthy {
			t.Errorf("%s (%v): healthy %v, error %q", h.Addr, h.Parts, h.Healthy(), h.Error)
		}
	}
	code, body := check(reg.HealthHandler(registry.HealthConfig{Timeout: time.Second}))
	if code != 503 || fmt.Sprint(body["failing"]) != "[analytics]" {
		t.Errorf("analytics down: %d %v", code, body)
	}
	if code, _ := check(reg.HealthHandler(registry.HealthConfig{Timeout: time.Second, Optional: []string{"analytics"}})); code != 200 {
		t.Errorf("analytics down but optional: %d", code)
	}
}

func TestStatsCountCommands(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	reg, _ := newRegistry(t)
	c, release, err := reg.Acquire(ctx, load(t, "session", "REDIS_URL="+srv.URL()))
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	before := reg.Stats()[0]
	for range 5 {
		ping(t, c)
	}
	c.Do(ctx, c.B().Set().Key("s").Value("x").Build())
	c.Do(ctx, c.B().Incr().Key("s").Build()) // an error: not an integer
	c.Do(ctx, c.B().Get().Key("missing").Build())
	c.DoMulti(ctx, c.B().Ping().Build(), c.B().Ping().Build())
	s := reg.Stats()[0]
	if got := s.Commands - before.Commands; got != 10 {
		t.Errorf("Commands went up by %d, want 10", got)
	}
	if got := s.Errors - before.Errors; got != 1 {
		t.Errorf("Errors went up by %d, want 1 (a nil reply is not an error)", got)
	}
	if s.InFlight != 0 {
		t.Errorf("InFlight = %d", s.InFlight)
	}
}

// TestGracefulShutdown: 64 goroutines write; the last release comes in the
// middle; every write that was acknowledged is on the server.
func TestGracefulShutdown(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	reg, _ := newRegistry(t)
	c, release, err := reg.Acquire(ctx, load(t, "session", "REDIS_URL="+srv.URL()))
	if err != nil {
		t.Fatal(err)
	}
	var acked sync.Map
	var wg sync.WaitGroup
	var started atomic.Int64
	for w := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				key := fmt.Sprintf("w%d:%d", w, i)
				started.Add(1)
				if err := c.Do(ctx, c.B().Set().Key(key).Value("v").Build()).Error(); err != nil {
					return // closed
				}
				acked.Store(key, true)
			}
		}()
	}
	testsupport.WaitFor(t, 10*time.Second, "2000 writes under way", func() bool { return started.Load() >= 2000 })
	if s := reg.Stats(); s[0].Batches == 0 {
		t.Error("64 goroutines sent no batch: the test did not test draining batches")
	}
	release()
	wg.Wait()
	n, lost := unstored(t, srv, &acked)
	if lost > 0 || n == 0 {
		t.Errorf("%d of %d acknowledged writes are not on the server", lost, n)
	}
	t.Logf("%d acknowledged writes, all on the server", n)
}

// TestServerRestartUnderLoad: the server (with an append-only file synced
// on every write) is killed and restarted on the same port while 64
// goroutines write unique keys through the batching connection, half of
// them with a 500ms context and half with none; no command outlives its
// context, every caller gets its result or an error, the same client
// recovers, and every acknowledged write is on the server after the
// restart.
func TestServerRestartUnderLoad(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t, "--appendonly", "yes", "--appendfsync", "always")
	reg, logs := newRegistry(t)
	c, release, err := reg.Acquire(ctx, load(t, "session", "REDIS_URL="+srv.URL()))
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	stop := make(chan struct{})
	var ok, failed, late atomic.Int64
	var acked sync.Map
	var wg sync.WaitGroup
	for w := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				opCtx, cancel := ctx, context.CancelFunc(func() {})
				if w%2 == 0 {
					opCtx, cancel = context.WithTimeout(ctx, 500*time.Millisecond)
				}
				key := fmt.Sprintf("w%d:%d", w, i)
				start := time.Now()
				err := c.Do(opCtx, c.B().Set().Key(key).Value("v").Build()).Error()
				cancel()
				if w%2 == 0 && time.Since(start) > 1500*time.Millisecond {
					late.Add(1)
				}
				if err != nil {
					failed.Add(1)
					time.Sleep(5 * time.Millisecond) // a writer backs off while the server is down, as a service would
				} else {
					ok.Add(1)
					acked.Store(key, true)
				}
			}
		}()
	}
	testsupport.WaitFor(t, 10*time.Second, "2000 acknowledged writes", func() bool { return ok.Load() >= 2000 })
	batchesBefore := reg.Stats()[0].Batches
	srv.Kill()
	failedBefore := failed.Load()
	testsupport.WaitFor(t, 10*time.Second, "writes to fail while the server is down", func() bool { return failed.Load() >= failedBefore+64 })
	srv.Restart()
	okBefore := ok.Load()
	testsupport.WaitFor(t, 15*time.Second, "1000 writes after the restart", func() bool { return ok.Load() >= okBefore+1000 })
	close(stop)
	wg.Wait() // every caller got its result or an error
	if late.Load() > 0 {
		t.Errorf("%d commands outlived their 500ms context by over a second", late.Load())
	}
	if failed.Load() == 0 {
		t.Error("no command failed while the server was down: the test did not test the outage")
	}
	if batchesBefore == 0 || reg.Stats()[0].Batches == batchesBefore {
		t.Errorf("batches before the kill %d, after %d: the test did not test batching", batchesBefore, reg.Stats()[0].Batches)
	}
	n, lost := unstored(t, srv, &acked)
	if lost > 0 {
		t.Errorf("%d of %d acknowledged writes are not on the server after the restart", lost, n)
	}
	t.Logf("ok %d (all on the server after the restart), failed during the outage %d", n, failed.Load())
	if !strings.Contains(logs.String(), "reconnected") {
		t.Error("the reconnection was not logged")
	}
}

// unstored counts the keys of acked (a set of strings) and those of them
// that are not on srv.
func unstored(t *testing.T, srv *redistest.Server, acked *sync.Map) (total, missing int) {
	t.Helper()
	stored, err := srv.Client.Do(context.Background(), srv.Client.B().Keys().Pattern("*").Build()).AsStrSlice()
	if err != nil {
		t.Fatal(err)
	}
	onServer := make(map[string]bool, len(stored))
	for _, k := range stored {
		onServer[k] = true
	}
	acked.Range(func(k, _ any) bool {
		total++
		if !onServer[k.(string)] {
			missing++
		}
		return true
	})
	return total, missing
}

// TestRefcountStress: 10,000 acquire/release cycles over 8 identities. No
// identity is dialled while it is open; all end closed.
func TestRefcountStress(t *testing.T) {
	t.Parallel() // a server and registry of its own
	ctx := context.Background()
	srv := redistest.Start(t)
	reg, logs := newRegistry(t)
	ids := make([]provider.Options, 8)
	for i := range ids {
		ids[i] = load(t, "part", "REDIS_URL="+srv.URL(), fmt.Sprintf("REDIS_DB=%d", i), "REDIS_FORCE_SINGLE_CLIENT=true")
	}
	const workers, cycles = 40, 250
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range cycles {
				c, release, err := reg.Acquire(ctx, ids[(w+i)%len(ids)])
				if err != nil {
					t.Error(err)
					return
				}
				if i%10 == 0 {
					_ = c.Do(ctx, c.B().Ping().Build()).Error()
				}
				release()
			}
		}()
	}
	wg.Wait()
	if s := reg.Stats(); len(s) != 0 {
		t.Errorf("Stats at the end = %+v", s)
	}
	srv.WaitNoClients(t)
	// Each connection (an identity's 0→1 reference transition) is dialled
	// once and closed once.
	events := map[string][2]int{}
	perIdentity := map[string]int{}
	re := regexp.MustCompile(`msg="wireredis: connection (opened|closed)".*fingerprint=(\w+) conn=(\d+)`)
	for _, line := range strings.Split(logs.String(), "\n") {
		m := re.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		e := events[m[3]]
		if m[1] == "opened" {
			e[0]++
			perIdentity[m[2]]++
		} else {
			e[1]++
		}
		events[m[3]] = e
	}
	for id, e := range events {
		if e != [2]int{1, 1} {
			t.Errorf("connection %s: opened %d times, closed %d times", id, e[0], e[1])
		}
	}
	if len(perIdentity) != len(ids) {
		t.Errorf("%d identities were dialled, want %d", len(perIdentity), len(ids))
	}
	t.Logf("%d cycles, %d connections dialled over %d identities", workers*cycles, len(events), len(perIdentity))
}

func TestDedicateOnAPartNotConnected(t *testing.T) {
	srv := redistest.Start(t)
	srv.Kill()
	reg, _ := newRegistry(t)
	c, release, err := reg.Acquire(context.Background(), load(t, "session", "REDIS_URL="+srv.URL(), "REDIS_STARTUP=background"))
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	d, cancel := c.Dedicate() // must not panic
	defer cancel()
	if err := d.Do(context.Background(), d.B().Ping().Build()).Error(); !errors.Is(err, registry.ErrNotReady) {
		t.Errorf("Do on the dedicated client: %v, want ErrNotReady", err)
	}
	if err := c.Dedicated(func(rueidis.DedicatedClient) error { return nil }); !errors.Is(err, registry.ErrNotReady) {
		t.Errorf("Dedicated: %v, want ErrNotReady", err)
	}
}
