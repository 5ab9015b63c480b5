package feature_test

// Attacks on the deadline promise of feature/deadline.go: a caller's
// deadline or cancellation ends only the caller's own call, never the
// shared connection nor another caller's call, and the error names it.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/internal/testsupport"
	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/redistest"
	"github.com/wireredis/wireredis/registry"
)

// adlOpen opens the part ns, released when the test ends.
func adlOpen(t *testing.T, reg *registry.Registry, base provider.Options, ns string) *feature.Client {
	t.Helper()
	c, release, err := feature.Part{Namespace: ns}.Open(context.Background(), reg, base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	return c
}

// adlInFlight waits until the registry's one connection has n calls in
// flight.
func adlInFlight(t *testing.T, reg *registry.Registry, n int64) {
	t.Helper()
	testsupport.WaitFor(t, 5*time.Second, fmt.Sprintf("%d calls in flight", n), func() bool {
		st := reg.Stats()
		return len(st) == 1 && st[0].InFlight >= n
	})
}

// adlPaused pauses srv and resumes it when the test ends, unless resumed
// before through the returned func.
func adlPaused(t *testing.T, srv *redistest.Server) (resume func()) {
	t.Helper()
	srv.Pause()
	done := false
	resume = func() {
		if !done {
			done = true
			srv.Resume()
		}
	}
	t.Cleanup(resume)
	return resume
}

// adlSendMix sends the call of the promise's four that choice picks,
// reading keys k1 and k2 with ctx, and hands each result to check.
func adlSendMix(ctx context.Context, p *feature.Client, choice, k1, k2 int, check func(k int, r rueidis.RedisResult, call string)) {
	switch choice % 4 {
	case 0:
		check(k1, p.Do(ctx, p.B().Get().Key(fmt.Sprint("k", k1)).Build()), "Do")
	case 1:
		rs := p.DoMulti(ctx, p.B().Get().Key(fmt.Sprint("k", k1)).Build(), p.B().Get().Key(fmt.Sprint("k", k2)).Build())
		check(k1, rs[0], "DoMulti[0]")
		check(k2, rs[1], "DoMulti[1]")
	case 2:
		check(k1, p.DoCache(ctx, p.B().Get().Key(fmt.Sprint("k", k1)).Cache(), time.Minute), "DoCache")
	case 3:
		rs := p.DoMultiCache(ctx, rueidis.CT(p.B().Get().Key(fmt.Sprint("k", k1)).Cache(), time.Minute),
			rueidis.CT(p.B().Get().Key(fmt.Sprint("k", k2)).Cache(), time.Minute))
		check(k1, rs[0], "DoMultiCache[0]")
		check(k2, rs[1], "DoMultiCache[1]")
	}
}

// adlSeed sets key k<k> of each part to "<part>:k<k>#0", for k below keys.
func adlSeed(t *testing.T, srv *redistest.Server, names []string, keys int) {
	t.Helper()
	for _, ns := range names {
		for k := range keys {
			key := fmt.Sprintf("%s:k%d", ns, k)
			if err := srv.Client.Do(context.Background(), srv.Client.B().Set().Key(key).Value(key+"#0").Build()).Error(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// adlWriter bumps the versions of adlSeed's values until stop returns:
// invalidations race the reads.
func adlWriter(srv *redistest.Server, names []string, keys int) (stop func()) {
	stopWriter := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for v := 1; ; v++ {
			select {
			case <-stopWriter:
				return
			default:
			}
			key := fmt.Sprintf("%s:k%d", names[v%len(names)], v%keys)
			srv.Client.Do(context.Background(), srv.Client.B().Set().Key(key).Value(fmt.Sprintf("%s#%d", key, v)).Build())
		}
	}()
	return func() { close(stopWriter); <-writerDone }
}

// adlFindings are what a load test's goroutines found: the first
// problems, and a count of each kind of result.
type adlFindings struct {
	mu       sync.Mutex
	problems []string
	counts   map[string]int
}

func (f *adlFindings) report(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.problems) < 20 {
		f.problems = append(f.problems, fmt.Sprintf(format, args...))
	}
}

func (f *adlFindings) count(what string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.counts == nil {
		f.counts = map[string]int{}
	}
	f.counts[what]++
}

// flush fails t with each problem, and logs the counts.
func (f *adlFindings) flush(t *testing.T) {
	t.Helper()
	for _, p := range f.problems {
		t.Error(p)
	}
	t.Logf("results: %v", f.counts)
}

// adlStallThrice stops the server three times under a load, each time
// until inFlight calls pile up (or limit passes): deadlines pass, and the
// replies of abandoned calls come after.
func adlStallThrice(srv *redistest.Server, reg *registry.Registry, inFlight int64, limit time.Duration) {
	for range 3 {
		srv.Pause()
		testsupport.Eventually(limit, func() bool { st := reg.Stats(); return len(st) == 1 && st[0].InFlight >= inFlight })
		srv.Resume()
	}
}

// adlStillOwn checks, after a load, that the shared connection is the one
// of before and that every part still reads its own key k1. A part with a
// timeout of a few milliseconds may time out while the connection drains
// the load's abandoned replies: its read must succeed once they are read,
// and never read another's value.
func adlStillOwn(t *testing.T, srv *redistest.Server, before []string, ps []*feature.Client, names []string) {
	t.Helper()
	if after := partConns(t, srv); !slices.Equal(before, after) {
		t.Errorf("the connection was replaced: ids %v before, %v after", before, after)
	}
	for i, p := range ps {
		testsupport.WaitFor(t, 5*time.Second, names[i]+" GET k1 after the load", func() bool {
			v, err := p.Do(context.Background(), p.B().Get().Key("k1").Build()).ToString()
			if err == nil && !strings.HasPrefix(v, names[i]+":k1#") {
				t.Errorf("%s GET k1 after the load: %q", names[i], v)
				return true
			}
			return err == nil
		})
	}
}

// adlWantCallerDeadline fails t unless err is the caller's DeadlineError.
func adlWantCallerDeadline(t *testing.T, what string, err error) {
	t.Helper()
	var de *feature.DeadlineError
	if !errors.As(err, &de) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no reply before the caller's context deadline") {
		t.Errorf("%s: %v (%T); want a *DeadlineError naming the caller's context deadline", what, err, err)
	}
}

// TestAttackDeadlineCacheFlightSharesTheError: caller A misses key k in
// the client-side cache with a deadline (or a cancellation); caller B,
// whose context has neither, asks k while A's fetch is in flight and
// waits on it. A's deadline must end A's call only: B must get k's value
// when the server answers, not A's error. (rueidis hands B A's error, and
// retries B because B's context lives; see
// TestAttackDeadlineCacheFlightLeaksTheDeadline for when it does not.)
func TestAttackDeadlineCacheFlightSharesTheError(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  []string
		// a returns A's context, and what ends it (nil: its deadline)
		a func() (context.Context, context.CancelFunc, bool)
	}{
		{"caller deadline, no part timeout", nil, func() (context.Context, context.CancelFunc, bool) {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			return ctx, cancel, false
		}},
		{"caller cancel, no part timeout", nil, func() (context.Context, context.CancelFunc, bool) {
			ctx, cancel := context.WithCancel(context.Background())
			return ctx, cancel, true
		}},
		// B is on the same part, so its timeout is B's too: 2s, and A's
		// earlier caller deadline ends A. (With A ended by the part's
		// timeout, B's own would end B about as soon, and nothing could
		// tell the two apart.)
		{"part timeout, caller deadline", []string{"REDIS_P_COMMAND_TIMEOUT=2s"}, func() (context.Context, context.CancelFunc, bool) {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			return ctx, cancel, false
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.Start(t)
			reg, base := parts(t, append([]string{"REDIS_URL=" + srv.URL(), "REDIS_PIPELINE_MULTIPLEX=-1"}, tc.env...)...)
			p := openWithK(t, reg, base)
			resume := adlPaused(t, srv)
			actx, acancel, manual := tc.a()
			defer acancel()
			aDone := make(chan error, 1)
			go func() { aDone <- p.DoCache(actx, p.B().Get().Key("k").Cache(), time.Minute).Error() }()
			adlInFlight(t, reg, 1)
			bDone := make(chan rueidis.RedisResult, 1)
			bctx, bcancel := context.WithTimeout(context.Background(), 20*time.Second) // B's own deadline: far away
			defer bcancel()
			go func() { bDone <- p.DoCache(bctx, p.B().Get().Key("k").Cache(), time.Minute) }()
			adlInFlight(t, reg, 2)
			if manual {
				acancel()
			}
			aErr := <-aDone
			if manual {
				if !errors.Is(aErr, context.Canceled) {
					t.Errorf("A: %v; want context.Canceled", aErr)
				}
			} else if !errors.Is(aErr, context.DeadlineExceeded) {
				t.Errorf("A: %v; want a deadline error", aErr)
			}
			resume()
			b := <-bDone
			if v, err := b.ToString(); err != nil || v != "v" {
				t.Errorf("B (no deadline of its own passed) got %q, %v; want v: A's deadline ended B's call", v, err)
			}
		})
	}
}

// TestAttackDeadlineMultiCacheFlightSharesTheError: as above, B asks k
// with DoMultiCache while A's DoCache miss of k is in flight.
func TestAttackDeadlineMultiCacheFlightSharesTheError(t *testing.T) {
	srv := redistest.Start(t)
	reg, base := parts(t, "REDIS_URL="+srv.URL(), "REDIS_PIPELINE_MULTIPLEX=-1")
	p := openWithK(t, reg, base)
	resume := adlPaused(t, srv)
	actx, acancel := context.WithCancel(context.Background())
	defer acancel()
	aDone := make(chan error, 1)
	go func() {
		aDone <- p.DoMultiCache(actx, rueidis.CT(p.B().Get().Key("k").Cache(), time.Minute))[0].Error()
	}()
	adlInFlight(t, reg, 1)
	bDone := make(chan rueidis.RedisResult, 1)
	go func() {
		bDone <- p.DoMultiCache(context.Background(), rueidis.CT(p.B().Get().Key("k").Cache(), time.Minute))[0]
	}()
	adlInFlight(t, reg, 2)
	acancel()
	if err := <-aDone; !errors.Is(err, context.Canceled) {
		t.Errorf("A: %v; want context.Canceled", err)
	}
	resume()
	if v, err := (<-bDone).ToString(); err != nil || v != "v" {
		t.Errorf("B (context.Background) got %q, %v; want v: A's cancellation ended B's call", v, err)
	}
}

// TestAttackDeadlineLargeMultiCacheWithoutCache: a DoMultiCache of 2000
// commands or more is not pooled: rueidis sends a DoMultiCache on the
// shared pipe, and without a client-side cache (RESP2, DISABLE_CACHE) as
// a plain DoMulti of that pipe. The part took it for pooled and gave
// rueidis the caller's deadline, which rueidis put on the idle shared
// socket, closing the connection when it passed and failing the
// neighbour's call. It must end only the caller's call.
func TestAttackDeadlineLargeMultiCacheWithoutCache(t *testing.T) {
	for _, tc := range []struct{ name, env, timeout string }{
		{"RESP2", "REDIS_PROTOCOL=2", ""},
		// The big call is q's first: a part with a timeout queues its
		// calls, and a queued call keeps the connection pipelined.
		{"RESP2, part timeout", "REDIS_PROTOCOL=2", "REDIS_Q_COMMAND_TIMEOUT=200ms"},
		{"RESP3, DISABLE_CACHE", "REDIS_DISABLE_CACHE=true", ""},
		{"RESP3, cache", "REDIS_PROTOCOL=3", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.Start(t)
			reg, base := parts(t, "REDIS_URL="+srv.URL(), "REDIS_PIPELINE_MULTIPLEX=-1", tc.env, tc.timeout)
			p := openWithK(t, reg, base)
			n := adlOpen(t, reg, base, "n")
			big := p
			if tc.timeout != "" {
				big = adlOpen(t, reg, base, "q")
			}
			before := partConns(t, srv)
			multi := make([]rueidis.CacheableTTL, 2000)
			for i := range multi {
				multi[i] = rueidis.CT(big.B().Get().Key(fmt.Sprint("m", i)).Cache(), time.Minute)
			}
			resume := adlPaused(t, srv)
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			if tc.timeout != "" {
				ctx, cancel = context.Background(), func() {}
			}
			done := make(chan error, 1)
			go func() { done <- big.DoMultiCache(ctx, multi...)[0].Error() }()
			adlInFlight(t, reg, 1)
			// A neighbour's INCR, with no deadline, queued behind it.
			neighbour := make(chan error, 1)
			go func() { neighbour <- n.Do(context.Background(), n.B().Incr().Key("c").Build()).Error() }()
			adlInFlight(t, reg, 2)
			err := <-done
			cancel()
			resume()
			if tc.timeout == "" {
				adlWantCallerDeadline(t, "DoMultiCache of 2000", err)
			} else if want := "no reply within 200ms (REDIS_Q_COMMAND_TIMEOUT)"; err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("DoMultiCache of 2000: %v; want %q", err, want)
			}
			if err := <-neighbour; err != nil {
				v, _ := srv.Client.Do(context.Background(), srv.Client.B().Get().Key("n:c").Build()).ToString()
				t.Errorf("the neighbour's INCR (no deadline): %v (n:c on the server: %q)", err, v)
			}
			if v, err := p.Do(context.Background(), p.B().Get().Key("k").Build()).ToString(); err != nil || v != "v" {
				t.Errorf("GET k after: %q, %v", v, err)
			}
			if after := partConns(t, srv); !slices.Equal(before, after) {
				t.Errorf("the shared connection was replaced: ids %v before, %v after", before, after)
			}
		})
	}
}

// deadlineOnly is a context with a deadline and no Done channel: it can
// never be cancelled, but says when work on its behalf should stop (and
// its Err says so once that time is past).
type deadlineOnly struct {
	context.Context
	at time.Time
}

func (c deadlineOnly) Deadline() (time.Time, bool) { return c.at, true }
func (c deadlineOnly) Done() <-chan struct{}       { return nil }
func (c deadlineOnly) Err() error {
	if !time.Now().Before(c.at) {
		return context.DeadlineExceeded
	}
	return nil
}

// adlCalls are the four calls of the promise, each on key k of part p.
var adlCalls = []struct {
	name string
	call func(ctx context.Context, p *feature.Client) rueidis.RedisResult
}{
	{"Do", func(ctx context.Context, p *feature.Client) rueidis.RedisResult {
		return p.Do(ctx, p.B().Get().Key("k").Build())
	}},
	{"DoMulti", func(ctx context.Context, p *feature.Client) rueidis.RedisResult {
		return p.DoMulti(ctx, p.B().Get().Key("k").Build(), p.B().Get().Key("cold").Build())[0]
	}},
	{"DoCache", func(ctx context.Context, p *feature.Client) rueidis.RedisResult {
		return p.DoCache(ctx, p.B().Get().Key("k").Cache(), time.Minute)
	}},
	{"DoMultiCache", func(ctx context.Context, p *feature.Client) rueidis.RedisResult {
		return p.DoMultiCache(ctx, rueidis.CT(p.B().Get().Key("k").Cache(), time.Minute))[0]
	}},
}

// TestAttackDeadlineWithoutDoneChannel: a context whose Deadline is set
// but whose Done is nil. The part takes its deadline away from rueidis
// (withoutDeadline), and nothing ended the call: with the server
// stalled, it waited until the server answered, long past the deadline
// (and a part timeout later than the deadline was lost too). The part
// now ends it at the deadline itself.
func TestAttackDeadlineWithoutDoneChannel(t *testing.T) {
	// With a part timeout of 500ms, later than the caller's deadline, the
	// part starts no timer of its own: its timeout is lost too.
	for _, env := range []string{"", "REDIS_P_COMMAND_TIMEOUT=500ms"} {
		for _, tc := range []int{0, 2} { // Do, DoCache (DoMulti and DoMultiCache fail alike)
			tc := adlCalls[tc]
			t.Run(tc.name+" "+env, func(t *testing.T) {
				srv := redistest.Start(t)
				reg, base := parts(t, "REDIS_URL="+srv.URL(), "REDIS_PIPELINE_MULTIPLEX=-1", env)
				p := openWithK(t, reg, base)
				// One queued call first: the connection is pipelined, so
				// that a real deadline would not close it either.
				qctx, qcancel := context.WithCancel(context.Background())
				if err := p.Do(qctx, p.B().Get().Key("k").Build()).Error(); err != nil {
					t.Fatal(err)
				}
				qcancel()
				resume := adlPaused(t, srv)
				ctx := deadlineOnly{context.Background(), time.Now().Add(200 * time.Millisecond)}
				done := make(chan rueidis.RedisResult, 1)
				start := time.Now()
				go func() { done <- tc.call(ctx, p) }()
				var r rueidis.RedisResult
				select {
				case r = <-done:
				case <-time.After(time.Second):
					resume()
					r = <-done
					t.Errorf("still waiting 1s after a 200ms deadline (until the server was resumed; then %v)", r.Error())
					return
				}
				adlWantCallerDeadline(t, fmt.Sprintf("after %s", time.Since(start)), r.Error())
			})
		}
	}
}

// doneNoErr is a context whose Done closes (when close is called) while
// its Err stays nil: against the contract, but a reply must not be made
// up from it.
type doneNoErr struct {
	context.Context
	done chan struct{}
}

func (c doneNoErr) Deadline() (time.Time, bool) { return time.Now().Add(time.Hour), true }
func (c doneNoErr) Done() <-chan struct{}       { return c.done }
func (c doneNoErr) Err() error                  { return nil }

// TestAttackDeadlineDoneWithoutErr: the call's Done closes with Err nil,
// the server stalled: the caller must get an error, not a result with no
// error and no reply (a SET that "succeeded" before the server saw it).
// On a part with a command timeout the same context crashed the process
// (the part derived a context from it; the context package panicked):
// that case runs in a child process, whose exit is checked.
func TestAttackDeadlineDoneWithoutErr(t *testing.T) {
	env := os.Getenv("ADL_CHILD")
	if env == "" {
		t.Run("no part timeout", func(t *testing.T) { adlDoneWithoutErr(t, "") })
		t.Run("part timeout, child process", func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestAttackDeadlineDoneWithoutErr$", "-test.count=1")
			cmd.Env = append(os.Environ(), "ADL_CHILD=REDIS_P_COMMAND_TIMEOUT=20s")
			out, err := cmd.CombinedOutput()
			if err != nil {
				var first []string
				for line := range strings.Lines(string(out)) {
					if !strings.Contains(line, " INFO ") && len(first) < 8 {
						first = append(first, strings.TrimRight(line, "\n"))
					}
				}
				t.Errorf("the child process failed (%v):\n%s", err, strings.Join(first, "\n"))
			}
		})
		return
	}
	adlDoneWithoutErr(t, env)
}

func adlDoneWithoutErr(t *testing.T, env string) {
	srv := redistest.Start(t)
	reg, base := parts(t, "REDIS_URL="+srv.URL(), "REDIS_PIPELINE_MULTIPLEX=-1", env)
	p := openWithK(t, reg, base)
	resume := adlPaused(t, srv)
	ctx := doneNoErr{context.Background(), make(chan struct{})}
	done := make(chan rueidis.RedisResult, 1)
	go func() { done <- p.Do(ctx, p.B().Set().Key("k").Value("new").Build()) }()
	adlInFlight(t, reg, 1)
	close(ctx.done)
	r := <-done
	resume()
	if err := r.Error(); err == nil {
		s, serr := r.ToString()
		t.Errorf("SET under a context whose Done closed: Error() nil, ToString %q, %v; want an error (the server had not answered)", s, serr)
	}
}

// TestAttackDeadlineBlockingCancelled: BLPOP goes on a pooled connection.
// A caller without a deadline, on a part without a timeout, that cancels
// its context gets context.Canceled promptly, not the command's own 5
// seconds. (With a deadline rueidis waits on the socket there and sees a
// cancellation only at the deadline: docs/configuration.md says so.)
func TestAttackDeadlineBlockingCancelled(t *testing.T) {
	srv := redistest.Start(t)
	reg, base := parts(t, "REDIS_URL="+srv.URL())
	p := openWithK(t, reg, base)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Do(ctx, p.B().Blpop().Key("list").Timeout(5).Build()).Error() }()
	testsupport.WaitFor(t, 5*time.Second, "BLPOP blocked", func() bool {
		info, _ := srv.Client.Do(context.Background(), srv.Client.B().Info().Section("clients").Build()).ToString()
		return strings.Contains(info, "blocked_clients:1")
	})
	cancel()
	start := time.Now()
	var err error
	select {
	case err = <-done:
	case <-time.After(time.Second):
		srv.Client.Do(context.Background(), srv.Client.B().Lpush().Key("p:list").Element("x").Build()) // release the BLPOP
		err = <-done
		t.Errorf("cancelled: still waiting 1s after the cancellation; once released, returned %v after %s", err, time.Since(start))
		return
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v; want context.Canceled", err)
	}
}

// TestAttackDeadlinePooledSparesTheShared: a caller's deadline on a
// pooled command (BLPOP, a DoMulti of 2000) closes that pooled
// connection at most, never the shared one; a neighbour queued on the
// shared connection gets its reply, and the error names the caller's
// deadline, or a deadline in the year 2200 waits out the part's timeout.
func TestAttackDeadlinePooledSparesTheShared(t *testing.T) {
	for _, proto := range []string{"REDIS_PROTOCOL=2", "REDIS_PROTOCOL=3"} {
		t.Run(proto, func(t *testing.T) {
			srv := redistest.Start(t)
			reg, base := parts(t, "REDIS_URL="+srv.URL(), "REDIS_PIPELINE_MULTIPLEX=-1", proto, "REDIS_T_COMMAND_TIMEOUT=150ms")
			p := openWithK(t, reg, base)
			tp := adlOpen(t, reg, base, "t")
			n := adlOpen(t, reg, base, "n")
			multi := func(c *feature.Client) []rueidis.Completed {
				m := make([]rueidis.Completed, 2000)
				for i := range m {
					m[i] = c.B().Get().Key(fmt.Sprint("m", i)).Build()
				}
				return m
			}
			// Dial the pooled connections before the stall.
			for range 2 {
				p.DoMulti(context.Background(), multi(p)...)
			}
			shared := partConns(t, srv)
			resume := adlPaused(t, srv)
			neighbour := make(chan error, 1)
			go func() { neighbour <- n.Do(context.Background(), n.B().Incr().Key("c").Build()).Error() }()
			adlInFlight(t, reg, 1)
			ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
			err := p.Do(ctx, p.B().Blpop().Key("l").Timeout(5).Build()).Error()
			cancel()
			adlWantCallerDeadline(t, "BLPOP", err)
			ctx, cancel = context.WithTimeout(context.Background(), 150*time.Millisecond)
			err = p.DoMulti(ctx, multi(p)...)[0].Error()
			cancel()
			adlWantCallerDeadline(t, "DoMulti of 2000", err)
			far, cancel := context.WithDeadline(context.Background(), time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC))
			err = tp.DoMulti(far, multi(tp)...)[0].Error()
			cancel()
			if want := "no reply within 150ms (REDIS_T_COMMAND_TIMEOUT)"; err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("DoMulti of 2000, deadline in 2200: %v; want %q", err, want)
			}
			resume()
			if err := <-neighbour; err != nil {
				t.Errorf("the neighbour's INCR: %v", err)
			}
			// The pooled connections may be replaced; the shared one,
			// which the neighbour's commands take, must not.
			id, err := n.Do(context.Background(), n.B().ClientId().Build()).AsInt64()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(shared, fmt.Sprint("id=", id)) {
				t.Errorf("the shared connection is id=%d, not one of %v from before: it was replaced", id, shared)
			}
		})
	}
}

// TestAttackDeadlinePastAndExpired: a deadline already past (an hour ago,
// the zero time, a custom context with no Done whose Err says so): the
// call ends at once with the caller's *DeadlineError, nothing is written,
// and the connection stays; on a part with and without a timeout.
func TestAttackDeadlinePastAndExpired(t *testing.T) {
	for _, env := range []string{"", "REDIS_P_COMMAND_TIMEOUT=1s"} {
		t.Run(env, func(t *testing.T) {
			srv := redistest.Start(t)
			reg, base := parts(t, "REDIS_URL="+srv.URL(), "REDIS_PIPELINE_MULTIPLEX=-1", env)
			p := openWithK(t, reg, base)
			before := partConns(t, srv)
			hourAgo, c1 := context.WithDeadline(context.Background(), time.Now().Add(-time.Hour))
			defer c1()
			zero, c2 := context.WithDeadline(context.Background(), time.Time{})
			defer c2()
			for _, cc := range []struct {
				name string
				ctx  context.Context
			}{{"an hour ago", hourAgo}, {"the zero time", zero}, {"no Done", deadlineOnly{context.Background(), time.Now().Add(-time.Second)}}} {
				for _, call := range []struct {
					name string
					do   func(ctx context.Context) error
				}{
					{"Do SET", func(ctx context.Context) error { return p.Do(ctx, p.B().Set().Key("k").Value("x").Build()).Error() }},
					{"DoMulti SET", func(ctx context.Context) error {
						return p.DoMulti(ctx, p.B().Set().Key("k").Value("x").Build())[0].Error()
					}},
					{"DoCache miss", func(ctx context.Context) error {
						return p.DoCache(ctx, p.B().Get().Key("cold").Cache(), time.Minute).Error()
					}},
					{"DoMultiCache miss", func(ctx context.Context) error {
						return p.DoMultiCache(ctx, rueidis.CT(p.B().Get().Key("cold").Cache(), time.Minute))[0].Error()
					}},
					{"BLPOP", func(ctx context.Context) error { return p.Do(ctx, p.B().Blpop().Key("l").Timeout(1).Build()).Error() }},
				} {
					start := time.Now()
					err := call.do(cc.ctx)
					adlWantCallerDeadline(t, fmt.Sprintf("%s, %s (after %s)", call.name, cc.name, time.Since(start)), err)
				}
			}
			if v, err := srv.Client.Do(context.Background(), srv.Client.B().Get().Key("p:k").Build()).ToString(); err != nil || v != "v" {
				t.Errorf("p:k on the server: %q, %v; want v (no SET under an expired deadline)", v, err)
			}
			id, err := p.Do(context.Background(), p.B().ClientId().Build()).AsInt64()
			if err != nil || !slices.Contains(before, fmt.Sprint("id=", id)) {
				t.Errorf("the shared connection is id=%d (%v), not one of %v", id, err, before)
			}
		})
	}
}

// TestAttackDeadlineSessionRedis: the typed part, with a caller's
// deadline on an idle connection and under a neighbour's call.
func TestAttackDeadlineSessionRedis(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	reg, base := parts(t, "REDIS_URL="+srv.URL(), "REDIS_PIPELINE_MULTIPLEX=-1")
	session, release, err := feature.ProvideSessionRedis(ctx, reg, base)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if err := session.Do(ctx, session.B().Set().Key("k").Value("v").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	before := partConns(t, srv)
	resume := adlPaused(t, srv)
	for _, call := range adlCalls {
		cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		err := call.call(cctx, session.Client)
		cancel()
		var de *feature.DeadlineError
		if !errors.As(err.Error(), &de) || !strings.Contains(err.Error().Error(), `part "session": no reply before the caller's context deadline`) {
			t.Errorf("%s: %v", call.name, err.Error())
		}
	}
	resume()
	if v, err := session.Do(ctx, session.B().Get().Key("k").Build()).ToString(); err != nil || v != "v" {
		t.Errorf("GET k: %q, %v", v, err)
	}
	if after := partConns(t, srv); !slices.Equal(before, after) {
		t.Errorf("the connection was replaced: ids %v before, %v after", before, after)
	}
}

// TestAttackDeadlineCustomCause: WithCancelCause with a cause of its own,
// and WithDeadlineCause: the cancelled call returns context.Canceled or
// the cause; the deadline's, the caller's *DeadlineError. The connection
// stays, and the neighbour's call queued behind gets its reply.
func TestAttackDeadlineCustomCause(t *testing.T) {
	errMine := errors.New("mine")
	for _, env := range []string{"", "REDIS_P_COMMAND_TIMEOUT=10s"} {
		for _, tc := range adlCalls {
			t.Run(tc.name+" "+env, func(t *testing.T) {
				srv := redistest.Start(t)
				reg, base := parts(t, "REDIS_URL="+srv.URL(), "REDIS_PIPELINE_MULTIPLEX=-1", env)
				p := openWithK(t, reg, base)
				n := adlOpen(t, reg, base, "n")
				before := partConns(t, srv)
				resume := adlPaused(t, srv)
				cctx, ccancel := context.WithCancelCause(context.Background())
				done := make(chan error, 1)
				go func() { done <- tc.call(cctx, p).Error() }()
				adlInFlight(t, reg, 1)
				neighbour := make(chan error, 1)
				go func() { neighbour <- n.Do(context.Background(), n.B().Incr().Key("c").Build()).Error() }()
				adlInFlight(t, reg, 2)
				ccancel(errMine)
				if err := <-done; !errors.Is(err, context.Canceled) && !errors.Is(err, errMine) {
					t.Errorf("cancelled with a cause: %v; want context.Canceled or the cause", err)
				}
				dctx, dcancel := context.WithDeadlineCause(context.Background(), time.Now().Add(100*time.Millisecond), errMine)
				err := tc.call(dctx, p).Error()
				dcancel()
				adlWantCallerDeadline(t, "deadline with a cause", err)
				resume()
				if err := <-neighbour; err != nil {
					t.Errorf("the neighbour's INCR: %v", err)
				}
				if v, err := srv.Client.Do(context.Background(), srv.Client.B().Get().Key("n:c").Build()).ToString(); err != nil || v != "1" {
					t.Errorf("n:c on the server: %q, %v; want 1", v, err)
				}
				if after := partConns(t, srv); !slices.Equal(before, after) {
					t.Errorf("the connection was replaced: ids %v before, %v after", before, after)
				}
			})
		}
	}
}

// TestAttackDeadlineUnderLoad: hundreds of goroutines on many parts
// sharing one connection (REDIS_PIPELINE_MULTIPLEX=-1), one part with a
// 2ms command timeout and the others without, every call with a context
// of its own kind (none, a deadline of 0-3ms, one already past, a
// cancellation racing the reply, a cause, WithoutCancel, AfterFunc), the
// four calls mixed, values rewritten under the cache (invalidations),
// and the server stalled three times under it. Every reply must be the
// value of the key its caller asked (values encode their key), every
// error a deadline or a cancellation that the caller's context or part
// explains, and the connection the one it was.
func TestAttackDeadlineUnderLoad(t *testing.T) {
	for _, proto := range []string{"REDIS_PROTOCOL=2", "REDIS_PROTOCOL=3"} {
		t.Run(proto, func(t *testing.T) { adlLoad(t, proto) })
	}
}

func adlLoad(t *testing.T, proto string) {
	ctx := context.Background()
	srv := redistest.Start(t)
	reg, base := parts(t, "REDIS_URL="+srv.URL(), "REDIS_PIPELINE_MULTIPLEX=-1", proto, "REDIS_T_COMMAND_TIMEOUT=2ms")
	names := []string{"t", "u0", "u1", "u2", "u3", "u4"}
	ps := make([]*feature.Client, len(names))
	for i, ns := range names {
		ps[i] = adlOpen(t, reg, base, ns)
	}
	const keys = 40
	adlSeed(t, srv, names, keys)
	// Every part has called once (the connection is dialled).
	for _, p := range ps {
		if err := p.Do(ctx, p.B().Get().Key("k0").Build()).Error(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatal(err)
		}
	}
	before := partConns(t, srv)

	type kind int
	const (
		background kind = iota
		short
		past
		cancelRace
		cause
		withoutCancel
		afterFunc
		kinds
	)
	errCause := errors.New("adl cause")
	makeCtx := func(k kind, r int) (context.Context, func()) {
		switch k {
		case short:
			return context.WithTimeout(ctx, time.Duration(r%3000)*time.Microsecond)
		case past:
			return context.WithDeadline(ctx, time.Now().Add(-time.Hour))
		case cancelRace:
			c, cancel := context.WithCancel(ctx)
			go cancel()
			return c, cancel
		case cause:
			c, cancel := context.WithCancelCause(ctx)
			go cancel(errCause)
			return c, func() { cancel(nil) }
		case withoutCancel:
			c, cancel := context.WithTimeout(ctx, time.Nanosecond)
			return context.WithoutCancel(c), cancel
		case afterFunc:
			d, dcancel := context.WithTimeout(ctx, time.Duration(r%2000)*time.Microsecond)
			c, cancel := context.WithCancel(ctx)
			stop := context.AfterFunc(d, cancel)
			return c, func() { stop(); dcancel(); cancel() }
		}
		return ctx, func() {}
	}
	stopWriter := adlWriter(srv, names, keys)
	var found adlFindings
	report, count := found.report, found.count
	// check judges one result of part ns for key k under context kind kd.
	check := func(ns string, kd kind, k int, r rueidis.RedisResult, call string) {
		want := fmt.Sprintf("%s:k%d#", ns, k)
		v, err := r.ToString()
		var de *feature.DeadlineError
		switch {
		case err == nil:
			if !strings.HasPrefix(v, want) {
				report("%s %s k%d (ctx kind %d): %q, want the value of %s*: another call's reply", call, ns, k, kd, v, want)
			}
			count("ok")
		case errors.As(err, &de):
			count(err.Error())
			byPart := strings.Contains(err.Error(), "(REDIS_T_COMMAND_TIMEOUT)")
			byCaller := strings.Contains(err.Error(), "no reply before the caller's context deadline")
			if de.Namespace != ns || !errors.Is(err, context.DeadlineExceeded) {
				report("%s %s: %v names another part", call, ns, err)
			}
			if byPart && ns != "t" || byCaller && kd != short && kd != past && kd != afterFunc || !byPart && !byCaller {
				report("%s %s k%d (ctx kind %d): %v: no deadline of this call's", call, ns, k, kd, err)
			}
		case errors.Is(err, context.Canceled) || errors.Is(err, errCause):
			count("canceled")
			if kd != cancelRace && kd != cause && kd != afterFunc {
				report("%s %s k%d (ctx kind %d): %v, yet its context was not cancelled", call, ns, k, kd, err)
			}
		default:
			report("%s %s k%d (ctx kind %d): unexpected error %v (%T)", call, ns, k, kd, err, err)
		}
	}

	const workers, rounds = 300, 60
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				r := w*7919 + i*104729
				pi := r % len(ps)
				p, ns := ps[pi], names[pi]
				kd := kind(r / 7 % int(kinds))
				k1, k2 := r%keys, (r/3)%keys
				cctx, cancel := makeCtx(kd, r)
				adlSendMix(cctx, p, r/11, k1, k2, func(k int, res rueidis.RedisResult, call string) { check(ns, kd, k, res, call) })
				cancel()
			}
		}()
	}
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()
	adlStallThrice(srv, reg, 100, 2*time.Second)
	<-allDone
	stopWriter()
	found.flush(t)
	adlStillOwn(t, srv, before, ps, names)
}

// TestAttackDeadlineCacheFlightLeaksTheDeadline: caller A misses key k in
// the client-side cache with a deadline; callers B (no deadline, a part
// without a timeout) ask k while A's fetch is in flight and wait on it;
// each B's own context is cancelled when A's deadline passes
// (context.AfterFunc on A's). rueidis hands every waiter of the flight
// the error of the call that fetched (cache.Cancel with A's
// context.DeadlineExceeded) and retries a waiter only while its context
// lives. The part passed an unbounded call's result through as it was,
// so a B whose context ended got A's deadline, not its own cancellation;
// each B must get its own.
func TestAttackDeadlineCacheFlightLeaksTheDeadline(t *testing.T) {
	errB := errors.New("B's own cause")
	srv := redistest.Start(t)
	reg, base := parts(t, "REDIS_URL="+srv.URL(), "REDIS_PIPELINE_MULTIPLEX=-1")
	p := openWithK(t, reg, base)
	resume := adlPaused(t, srv)
	const rounds, waiters = 10, 100
	leaked := map[string]int{}
	for i := range rounds {
		key := fmt.Sprint("f", i)
		actx, acancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		aDone := make(chan error, 1)
		go func() { aDone <- p.DoCache(actx, p.B().Get().Key(key).Cache(), time.Minute).Error() }()
		adlInFlight(t, reg, 1)
		bDone := make(chan error, waiters)
		for range waiters {
			bctx, bcancel := context.WithCancelCause(context.Background())
			context.AfterFunc(actx, func() { bcancel(errB) })
			go func() { bDone <- p.DoCache(bctx, p.B().Get().Key(key).Cache(), time.Minute).Error() }()
		}
		adlInFlight(t, reg, 1+waiters)
		adlWantCallerDeadline(t, "A", <-aDone)
		for range waiters {
			if err := <-bDone; !errors.Is(err, context.Canceled) && !errors.Is(err, errB) {
				leaked[fmt.Sprintf("%v (%T)", err, err)]++
			}
		}
		acancel()
	}
	resume()
	if len(leaked) > 0 {
		t.Errorf("of %d cancelled callers B (never given a deadline), these got A's deadline error instead of their own cancellation: %v", rounds*waiters, leaked)
	}
}
