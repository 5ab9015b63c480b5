package registry_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/wireredis/wireredis/internal/testsupport"

	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/redistest"
	"github.com/wireredis/wireredis/registry"
)

func TestMain(m *testing.M) { testsupport.VerifyTestMain(m) }

func newRegistry(t *testing.T) (*registry.Registry, *testsupport.Buffer) {
	t.Helper()
	logs := &testsupport.Buffer{}
	reg, closeAll := registry.New(slog.New(slog.NewTextHandler(logs, nil)))
	t.Cleanup(closeAll)
	return reg, logs
}

func load(t *testing.T, part string, environ ...string) provider.Options {
	t.Helper()
	o, err := provider.LoadFrom(environ)
	if err != nil {
		t.Fatal(err)
	}
	if o, err = o.ForPart(part); err != nil {
		t.Fatal(err)
	}
	return o
}

func ping(t *testing.T, c rueidis.Client) {
	t.Helper()
	if err := c.Do(context.Background(), c.B().Ping().Build()).Error(); err != nil {
		t.Fatalf("PING: %v", err)
	}
}

func TestEqualSettingsShareOneClient(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	env := []string{"REDIS_URL=" + srv.URL(), "REDIS_ANALYTICS_DB=1"}

	// What one raw rueidis client with these settings opens.
	co, err := load(t, "session", env...).ClientOption()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := rueidis.NewClient(co)
	if err != nil {
		t.Fatal(err)
	}
	ping(t, raw)
	rawConns := srv.ConnectedClients(t)
	raw.Close()
	srv.WaitNoClients(t)

	reg, logs := newRegistry(t)
	var clients []rueidis.Client
	for _, part := range []string{"session", "cache", "queue"} {
		c, release, err := reg.Acquire(ctx, load(t, part, env...))
		if err != nil {
			t.Fatalf("Acquire(%s): %v", part, err)
		}
		t.Cleanup(release)
		ping(t, c)
		clients = append(clients, c)
	}
	if clients[0] != clients[1] || clients[1] != clients[2] {
		t.Error("parts with equal settings got different clients")
	}
	if got := srv.ConnectedClients(t); got > rawConns {
		t.Errorf("three parts opened %d connections; one raw rueidis client opens %d", got, rawConns)
	}
	stats := reg.Stats()
	if len(stats) != 1 || stats[0].Refs != 3 || fmt.Sprint(stats[0].Parts) != "[cache queue session]" || stats[0].Addr != srv.Addr {
		t.Errorf("Stats = %+v", stats)
	}

	analytics, releaseAnalytics, err := reg.Acquire(ctx, load(t, "analytics", env...))
	if err != nil {
		t.Fatal(err)
	}
	defer releaseAnalytics()
	if analytics == clients[0] {
		t.Error("REDIS_ANALYTICS_DB=1 shared the DB 0 client")
	}
	if n := len(reg.Stats()); n != 2 {
		t.Errorf("Stats has %d connections, want 2", n)
	}
	// The part's DB override reached the server.
	if err := analytics.Do(ctx, analytics.B().Set().Key("where").Value("db1").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	if n, _ := srv.Client.Do(ctx, srv.Client.B().Exists().Key("where").Build()).AsInt64(); n != 0 {
		t.Error("the analytics write landed in DB 0")
	}
	if got := strings.Count(logs.String(), "connection opened"); got != 2 {
		t.Errorf("logged %d opened connections, want 2", got)
	}
}

func TestReleaseClosesAtZero(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	reg, logs := newRegistry(t)
	opts := load(t, "session", "REDIS_URL="+srv.URL())

	c1, release1, err := reg.Acquire(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	_, release2, err := reg.Acquire(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	release1()
	release1() // twice: harmless
	if s := reg.Stats(); len(s) != 1 || s[0].Refs != 1 {
		t.Fatalf("after one release (called twice) Stats = %+v, want 1 reference", s)
	}
	ping(t, c1) // the other reference keeps it open
	release2()
	if s := reg.Stats(); len(s) != 0 {
		t.Errorf("after the last release Stats = %+v", s)
	}
	if err := c1.Do(ctx, c1.B().Ping().Build()).Error(); !errors.Is(err, rueidis.ErrClosing) {
		t.Errorf("PING after the last release: %v, want rueidis.ErrClosing", err)
	}
	srv.WaitNoClients(t)
	if got := strings.Count(logs.String(), "connection closed"); got != 1 {
		t.Errorf("logged %d closes, want 1:\n%s", got, logs)
	}
	// A new Acquire dials again.
	c3, release3, err := reg.Acquire(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer release3()
	ping(t, c3)
}

func TestClose(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	reg, closeAll := registry.New(nil)
	opts := load(t, "session", "REDIS_URL="+srv.URL())
	c, release, err := reg.Acquire(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	closeAll()
	if err := c.Do(ctx, c.B().Ping().Build()).Error(); !errors.Is(err, rueidis.ErrClosing) {
		t.Errorf("PING after Close: %v, want rueidis.ErrClosing", err)
	}
	release() // after Close: harmless
	if err := reg.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, _, err := reg.Acquire(ctx, opts); !errors.Is(err, registry.ErrClosed) {
		t.Errorf("Acquire after Close: %v, want ErrClosed", err)
	}
	srv.WaitNoClients(t)
}

func TestConcurrentAcquireRelease(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	reg, logs := newRegistry(t)
	identities := make([]provider.Options, 4)
	for i := range identities {
		identities[i] = load(t, "part", "REDIS_URL="+srv.URL(), fmt.Sprintf("REDIS_DB=%d", i))
	}
	const workers = 1000
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	start := make(chan struct{})
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			c, release, err := reg.Acquire(ctx, identities[w%len(identities)])
			if err != nil {
				errs <- err
				return
			}
			defer release()
			if err := c.Do(ctx, c.B().Incr().Key("n").Build()).Error(); err != nil {
				errs <- err
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if s := reg.Stats(); len(s) != 0 {
		t.Errorf("Stats after every release = %+v", s)
	}
	srv.WaitNoClients(t)
	opened := strings.Count(logs.String(), "connection opened")
	closed := strings.Count(logs.String(), "connection closed")
	if opened != closed || opened < len(identities) {
		t.Errorf("opened %d, closed %d connections", opened, closed)
	}
	total := int64(0)
	for db := range identities {
		n, err := srv.Client.Do(ctx, srv.Client.B().Arbitrary("SELECT").Args(fmt.Sprint(db)).Build()).ToString()
		if err != nil || n != "OK" {
			t.Fatal(err)
		}
		v, _ := srv.Client.Do(ctx, srv.Client.B().Get().Key("n").Build()).AsInt64()
		total += v
	}
	if total != workers {
		t.Errorf("counted %d INCRs, want %d", total, workers)
	}
}

func TestConcurrentAcquireDialsOnce(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	reg, logs := newRegistry(t)
	opts := load(t, "session", "REDIS_URL="+srv.URL())
	var wg sync.WaitGroup
	releases := make(chan func(), 50)
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, release, err := reg.Acquire(ctx, opts)
			if err != nil {
				t.Error(err)
				return
			}
			releases <- release
		}()
	}
	wg.Wait()
	close(releases)
	if got := strings.Count(logs.String(), "connection opened"); got != 1 {
		t.Errorf("50 concurrent Acquires dialled %d times, want 1", got)
	}
	for release := range releases {
		release()
	}
}

func TestFailedDialIsNotRemembered(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	reg, _ := newRegistry(t)
	opts := load(t, "session", "REDIS_URL="+srv.URL(), "REDIS_PING_TIMEOUT=1s")
	srv.Kill()
	if _, _, err := reg.Acquire(ctx, opts); err == nil {
		t.Fatal("Acquire of a stopped server succeeded")
	}
	srv.Restart()
	c, release, err := reg.Acquire(ctx, opts)
	if err != nil {
		t.Fatalf("Acquire after the server came back: %v", err)
	}
	defer release()
	ping(t, c)
}

func TestUnreachable(t *testing.T) {
	// A port nobody listens on, held so that nobody can.
	closedAddr := refusingAddr(t)

	// A server that accepts and never answers.
	silent := blackHole(t)

	// Not Redis at all.
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("hello")) }))
	defer web.Close()

	// The hint says what is likely wrong, and only where it is: "is a
	// Redis server listening there?" once misled a user whose server was
	// there (REDIS_PROTOCOL=2 with client-side caching).
	const listening = "(is a Redis server listening there?)"
	for _, tc := range []struct{ name, addr, hint string }{
		{"closed port", closedAddr, listening},
		{"black hole", silent, "no answer within 500ms"},
		{"HTTP server", strings.TrimPrefix(web.URL, "http://"), "(the server there does not speak RESP: is it a Redis server?)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, _ := newRegistry(t)
			opts := load(t, "session", "REDIS_URL=redis://app:hunter2secret@"+tc.addr, "REDIS_PING_TIMEOUT=500ms")
			start := time.Now()
			_, _, err := reg.Acquire(context.Background(), opts)
			elapsed := time.Since(start)
			if err == nil {
				t.Fatal("Acquire succeeded")
			}
			var ce *registry.ConnectError
			if !errors.As(err, &ce) || ce.Addr != tc.addr || ce.Part != "session" {
				t.Errorf("error %v: want a ConnectError for %s", err, tc.addr)
			}
			if !strings.Contains(err.Error(), tc.addr) || strings.Contains(err.Error(), "hunter2secret") {
				t.Errorf("error %q: should name the address and not the password", err)
			}
			if !strings.Contains(err.Error(), tc.hint) || tc.hint != listening && strings.Contains(err.Error(), listening) {
				t.Errorf("error %q: want the hint %q and no other", err, tc.hint)
			}
			// Fail fast: the timeout plus scheduling slack, not the 5s dial default.
			if elapsed > 3*time.Second {
				t.Errorf("Acquire took %s with REDIS_PING_TIMEOUT=500ms", elapsed)
			}
			if len(reg.Stats()) != 0 {
				t.Error("a failed dial left a connection")
			}
			t.Logf("%s: %v after %s", tc.name, err, elapsed.Round(time.Millisecond))
		})
	}
}

func TestWrongPasswordNamesNoSecret(t *testing.T) {
	srv := redistest.Start(t, "--requirepass", "right-password")
	reg, _ := newRegistry(t)
	opts := load(t, "session", "REDIS_URL="+srv.URL(), "REDIS_PASSWORD=wrong-password-x9")
	_, _, err := reg.Acquire(context.Background(), opts)
	if err == nil {
		t.Fatal("Acquire with a wrong password succeeded")
	}
	if strings.Contains(err.Error(), "wrong-password-x9") || !strings.Contains(err.Error(), srv.Addr) {
		t.Errorf("error %q", err)
	}
	good := load(t, "session", "REDIS_URL="+srv.URL(), "REDIS_PASSWORD=right-password")
	c, release, err := reg.Acquire(context.Background(), good)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ping(t, c)
}

func TestInvalidOptionsFromCode(t *testing.T) {
	reg, _ := newRegistry(t)
	opts := provider.Defaults()
	opts.Port = 0
	_, _, err := reg.Acquire(context.Background(), opts)
	var ce *provider.ConfigError
	if !errors.As(err, &ce) || ce.Var != "Options.Port" {
		t.Errorf("Acquire with Port 0: %v, want a ConfigError naming Options.Port", err)
	}
}

// TestRESP2TurnsClientCachingOff: REDIS_PROTOCOL=2 alone connects (rueidis
// refuses client-side caching over RESP2, and once every part failed
// with "ClientOption.DisableCache must be true ... (is a Redis server
// listening there?)"); the log says caching is off, and why. The
// connection is the one REDIS_DISABLE_CACHE=true with RESP2 opens.
func TestRESP2TurnsClientCachingOff(t *testing.T) {
	srv := redistest.Start(t)
	reg, logs := newRegistry(t)
	ctx := context.Background()
	opts := load(t, "session", "REDIS_URL="+srv.URL(), "REDIS_PROTOCOL=2")
	c, release, err := reg.Acquire(ctx, opts)
	if err != nil {
		t.Fatalf("Acquire with REDIS_PROTOCOL=2: %v", err)
	}
	defer release()
	if err := c.Do(ctx, c.B().Set().Key("k").Value("v").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	// DoCache works and is sent as a plain GET: no CLIENT TRACKING.
	if v, err := c.DoCache(ctx, c.B().Get().Key("k").Cache(), time.Minute).ToString(); err != nil || v != "v" {
		t.Fatalf("DoCache: %q, %v", v, err)
	}
	list, err := c.Do(ctx, c.B().ClientList().Build()).ToString()
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(list) {
		// Redis 6.2's CLIENT LIST has no resp field: there, the flags say it.
		if !strings.Contains(line, " name=redistest ") && (strings.Contains(line, "flags=t") || strings.Contains(line, " resp=") && !strings.Contains(line, " resp=2")) {
			t.Errorf("the connection should be RESP2 without tracking:\n%s", list)
		}
	}
	want := `msg="wireredis: client-side caching is off: it needs RESP3"`
	if n := strings.Count(logs.String(), want); n != 1 || !strings.Contains(logs.String(), "set_by=REDIS_PROTOCOL") {
		t.Errorf("the log should say once that RESP2 turned caching off (REDIS_PROTOCOL):\n%s", logs)
	}
	explicit := load(t, "cache", "REDIS_URL="+srv.URL(), "REDIS_PROTOCOL=2", "REDIS_DISABLE_CACHE=true")
	if explicit.ConnectionKey() != opts.ConnectionKey() {
		t.Error("REDIS_PROTOCOL=2 alone and with REDIS_DISABLE_CACHE=true should share a connection")
	}
	c2, release2, err := reg.Acquire(ctx, explicit)
	if err != nil {
		t.Fatal(err)
	}
	defer release2()
	if c2 != c || strings.Count(logs.String(), "client-side caching is off") != 1 {
		t.Errorf("a second part of equal settings should share the connection and log nothing new:\n%s", logs)
	}
}

// refusingAddr returns a loopback address that refuses connections for
// the whole test: a socket bound there and never listening. A port
// merely closed again can be taken by the next listener, and once was,
// by a server that did not speak RESP (CI, Valkey run).
func refusingAddr(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
}
