package registry_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"go.uber.org/goleak"

	"github.com/wireredis/wireredis/internal/testsupport"
	"github.com/wireredis/wireredis/redistest"
	"github.com/wireredis/wireredis/registry"
)

// noGoroutinesWithin waits up to limit for every goroutine not in ign to
// end, and fails naming those left.
func noGoroutinesWithin(t *testing.T, ign goleak.Option, limit time.Duration) {
	t.Helper()
	var err error
	testsupport.WaitFor(t, limit, "every goroutine of the closed registry to end", func() bool {
		err = goleak.Find(ign)
		return err == nil
	})
}

// waitInFlight waits until the registry's one connection has n commands
// in flight.
func waitInFlight(t *testing.T, reg *registry.Registry, n int64) {
	t.Helper()
	testsupport.WaitFor(t, 5*time.Second, fmt.Sprintf("%d commands in flight", n), func() bool { return reg.Stats()[0].InFlight >= n })
}

// clientsNamed counts the server's connections named name.
func clientsNamed(t *testing.T, c rueidis.Client, name string) int {
	t.Helper()
	list, err := c.Do(context.Background(), c.B().ClientList().Build()).ToString()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(list, " name="+name+" ")
}

// TestCloseDuringStall: the server stops answering (SIGSTOP) with
// commands in flight; Close ends every connection and goroutine by
// REDIS_SHUTDOWN_TIMEOUT. rueidis alone kept a reconnected socket and its
// PINGs alive for ten seconds and more.
func TestCloseDuringStall(t *testing.T) {
	srv := redistest.Start(t)
	srv.Client.Close() // its own PINGs to the stalled server would count
	ign := goleak.IgnoreCurrent()
	reg, _ := registry.New(nil)
	opts := load(t, "session", "REDIS_URL="+srv.URL(), "REDIS_SHUTDOWN_TIMEOUT=400ms",
		"REDIS_FORCE_SINGLE_CLIENT=true", "REDIS_CLIENT_NAME=stalled")
	c, _, err := reg.Acquire(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	ping(t, c)
	srv.Pause()
	var inFlight sync.WaitGroup
	for _, cmd := range []func(){
		func() { c.Do(context.Background(), c.B().Get().Key("k").Build()) },
		func() { c.Do(context.Background(), c.B().Blpop().Key("q").Timeout(0).Build()) },
		func() {
			c.DoMulti(context.Background(), c.B().Set().Key("a").Value("1").Build(), c.B().Get().Key("a").Build())
		},
	} {
		inFlight.Add(1)
		go func() {
			defer inFlight.Done()
			cmd()
		}()
	}
	waitInFlight(t, reg, 3)
	start := time.Now()
	_ = reg.Close()
	if took := time.Since(start); took > 1200*time.Millisecond {
		t.Errorf("Close took %s with REDIS_SHUTDOWN_TIMEOUT=400ms", took)
	}
	inFlight.Wait()
	noGoroutinesWithin(t, ign, time.Second)
	srv.Resume()
	check := srv.NewClient(t, nil)
	testsupport.WaitFor(t, 5*time.Second, "the closed registry's connections to leave the server", func() bool {
		return clientsNamed(t, check, "stalled") == 0
	})
}

// TestConcurrentCloseWaits: a second Close returns only once the first
// one's work is done, not at once.
func TestConcurrentCloseWaits(t *testing.T) {
	srv := redistest.Start(t)
	reg, _ := registry.New(nil)
	opts := load(t, "session", "REDIS_URL="+srv.URL(), "REDIS_SHUTDOWN_TIMEOUT=2s", "REDIS_FORCE_SINGLE_CLIENT=true")
	c, _, err := reg.Acquire(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	blocked := make(chan struct{})
	go func() {
		defer close(blocked)
		c.Do(context.Background(), c.B().Blpop().Key("never").Timeout(0).Build())
	}()
	waitInFlight(t, reg, 1)
	first := make(chan struct{})
	go func() {
		defer close(first)
		_ = reg.Close()
	}()
	testsupport.WaitFor(t, 5*time.Second, "the first Close to begin", func() bool {
		_, _, err := reg.Acquire(context.Background(), opts)
		return errors.Is(err, registry.ErrClosed)
	})
	_ = reg.Close()
	// The first Close cuts the BLPOP off only when its 2s are over. A
	// second Close that waits for it returns after the cut, and the BLPOP's
	// caller wakes at once; one that returned early leaves it blocked for
	// most of the 2s. A second is room for a loaded machine's scheduling.
	select {
	case <-blocked:
	case <-time.After(time.Second):
		t.Error("the second Close returned while the first was still waiting for a command in flight")
	}
	<-first
}

// blackHole listens on a loopback port, accepts connections and never
// answers; it returns the address. The test's cleanup closes it all.
func blackHole(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			_ = c.Close()
		}
	})
	return l.Addr().String()
}

// TestErrorsQuoteTheLimitThatApplied: a dial bounded by the caller's
// context says so, with the caller's limit, not REDIS_PING_TIMEOUT's.
func TestErrorsQuoteTheLimitThatApplied(t *testing.T) {
	url := "REDIS_URL=redis://" + blackHole(t)
	for _, tc := range []struct {
		name    string
		environ []string
		ctx     time.Duration
		want    []string // regular expressions
		not     string
	}{
		// What is left of the caller's 1.5s when the dial begins.
		{"the caller's deadline first", []string{url, "REDIS_PING_TIMEOUT=5s"}, 1500 * time.Millisecond, []string{`within 1\.(5|49)s`, `\(the caller's context deadline\)`}, "within 5s"},
		{"the ping timeout first", []string{url, "REDIS_PING_TIMEOUT=200ms"}, 5 * time.Second, []string{"within 200ms", `\(REDIS_PING_TIMEOUT\)`}, "within 5s"},
		{"the dial timeout first", []string{url, "REDIS_PING_TIMEOUT=5s", "REDIS_DIAL_TIMEOUT=200ms"}, 0, []string{"within 200ms", `\(REDIS_DIAL_TIMEOUT\)`}, "within 5s"},
		{"the part's ping timeout", []string{url, "REDIS_SESSION_PING_TIMEOUT=200ms"}, 0, []string{"within 200ms", `\(REDIS_SESSION_PING_TIMEOUT\)`}, "within 5s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, _ := newRegistry(t)
			ctx := context.Background()
			if tc.ctx > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.ctx)
				defer cancel()
			}
			_, _, err := reg.Acquire(ctx, load(t, "session", tc.environ...))
			if err == nil {
				t.Fatal("Acquire succeeded")
			}
			for _, w := range tc.want {
				if !regexp.MustCompile(w).MatchString(err.Error()) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), tc.not) {
				t.Errorf("error %q quotes %s, a limit that did not apply", err, tc.not)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error %v is not context.DeadlineExceeded", err)
			}
		})
	}
}

// TestFailFastStartLogsNoRetry: a failed start-up dial is the caller's
// error; nothing says rueidis will retry it (it does not).
func TestFailFastStartLogsNoRetry(t *testing.T) {
	srv := redistest.Start(t)
	srv.Kill()
	reg, logs := newRegistry(t)
	if _, _, err := reg.Acquire(context.Background(), load(t, "session", "REDIS_URL="+srv.URL(), "REDIS_PING_TIMEOUT=500ms")); err == nil {
		t.Fatal("Acquire of a dead server succeeded")
	}
	if strings.Contains(logs.String(), "will retry") {
		t.Errorf("a fail-fast start that failed logged a retry:\n%s", logs)
	}
}

// TestDeferredErrorsNameTheirPart: a lazy or background part's error names
// the part that sent the command, not the part that opened the shared
// connection.
func TestDeferredErrorsNameTheirPart(t *testing.T) {
	srv := redistest.Start(t)
	srv.Kill()
	ctx := context.Background()
	for _, startup := range []string{"lazy", "background"} {
		t.Run(startup, func(t *testing.T) {
			reg, _ := newRegistry(t)
			env := []string{"REDIS_URL=" + srv.URL(), "REDIS_STARTUP=" + startup, "REDIS_PING_TIMEOUT=300ms"}
			_, releaseA, err := reg.Acquire(ctx, load(t, "first", env...))
			if err != nil {
				t.Fatal(err)
			}
			defer releaseA()
			b, releaseB, err := reg.Acquire(ctx, load(t, "second", env...))
			if err != nil {
				t.Fatal(err)
			}
			defer releaseB()
			err = b.Do(ctx, b.B().Get().Key("k").Build()).Error()
			if err == nil || !strings.Contains(err.Error(), "second") || strings.Contains(err.Error(), "first") {
				t.Errorf("error %q: want it to name part second, not first", err)
			}
			var ce *registry.ConnectError
			if errors.As(err, &ce) && ce.Part != "second" {
				t.Errorf("ConnectError.Feature = %q", ce.Part)
			}
		})
	}
}

// TestUnknownVariablesLoggedAtStartUp: the first Acquire warns about each
// REDIS_ variable nothing reads, with the nearest name, once.
func TestUnknownVariablesLoggedAtStartUp(t *testing.T) {
	srv := redistest.Start(t)
	reg, logs := newRegistry(t)
	env := []string{"REDIS_URL=" + srv.URL(), "REDIS_PROT=6380", "REDIS_CART_DBB=2", "REDIS_PASWORD=hunter2-typo"}
	for _, part := range []string{"session", "cart"} {
		_, release, err := reg.Acquire(context.Background(), load(t, part, env...))
		if err != nil {
			t.Fatal(err)
		}
		defer release()
	}
	for _, want := range []string{"REDIS_PROT: is not a wireredis variable; did you mean REDIS_PORT?", "REDIS_CART_DBB: is not a wireredis variable; did you mean REDIS_CART_DB?", "did you mean REDIS_PASSWORD?"} {
		if n := strings.Count(logs.String(), want); n != 1 {
			t.Errorf("the log has %q %d times, want once:\n%s", want, n, logs)
		}
	}
	if strings.Contains(logs.String(), "hunter2") || !strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("log:\n%s", logs)
	}
}
