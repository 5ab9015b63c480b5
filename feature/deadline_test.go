package feature_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/internal/testsupport"
	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/redistest"
	"github.com/wireredis/wireredis/registry"
)

// partConns lists the ids of the server's connections other than the
// harness's: a connection closed and redialled shows as a new id.
func partConns(t *testing.T, srv *redistest.Server) []string {
	t.Helper()
	list, err := srv.Client.Do(context.Background(), srv.Client.B().ClientList().Build()).ToString()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for line := range strings.Lines(list) {
		if !strings.Contains(line, " name=redistest ") {
			ids = append(ids, strings.Fields(line)[0])
		}
	}
	slices.Sort(ids)
	return ids
}

// TestCommandTimeoutSparesTheNeighbours: two parts with other command
// timeouts share one connection (the timeout is not identity). With the
// server stalled (SIGSTOP), the part with 100ms fails in about that time,
// with an error that says which deadline ended it, while its neighbour's
// command, sent after it on the same connection, waits and succeeds when
// the server resumes: the part's deadline did not close the connection
// (rueidis closes it when the deadline of a command it sent synchronously
// passes, and the neighbour's command would have failed with it).
func TestCommandTimeoutSparesTheNeighbours(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	reg, base := parts(t, "REDIS_URL="+srv.URL(), "REDIS_PIPELINE_MULTIPLEX=-1", // one connection: the neighbours meet on it
		"REDIS_COMMAND_TIMEOUT=2s", "REDIS_FAST_COMMAND_TIMEOUT=100ms")
	fast, releaseFast, err := feature.Part{Namespace: "fast"}.Open(ctx, reg, base)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseFast()
	slow, releaseSlow, err := feature.Part{Namespace: "slow"}.Open(ctx, reg, base)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseSlow()
	if st := reg.Stats(); len(st) != 1 {
		t.Fatalf("parts with other command timeouts should share one connection: %+v", st)
	}
	if err := slow.Do(ctx, slow.B().Set().Key("k").Value("v").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	before := partConns(t, srv)

	inFlight := func(n int64) func() bool {
		return func() bool { st := reg.Stats(); return len(st) == 1 && st[0].InFlight == n }
	}
	srv.Pause()
	resumed := false
	defer func() {
		if !resumed {
			srv.Resume()
		}
	}()
	type result struct {
		r       rueidis.RedisResult
		elapsed time.Duration
	}
	send := func(c *feature.Client, cmd rueidis.Completed) chan result {
		out := make(chan result, 1)
		go func() {
			start := time.Now()
			r := c.Do(ctx, cmd)
			out <- result{r, time.Since(start)}
		}()
		return out
	}
	fastDone := send(fast, fast.B().Get().Key("k").Build())
	testsupport.WaitFor(t, 5*time.Second, "the fast part's GET in flight", inFlight(1))
	slowDone := send(slow, slow.B().Get().Key("k").Build())
	testsupport.WaitFor(t, 5*time.Second, "both GETs in flight", inFlight(2))

	f := <-fastDone
	err = f.r.Error()
	var de *feature.DeadlineError
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &de) || !strings.Contains(err.Error(), `part "fast": no reply within 100ms (REDIS_FAST_COMMAND_TIMEOUT)`) {
		t.Errorf("the fast part's error: %v; want a DeadlineError naming REDIS_FAST_COMMAND_TIMEOUT", err)
	}
	if f.elapsed < 100*time.Millisecond || f.elapsed > time.Second {
		t.Errorf("the fast part failed after %s; want about 100ms", f.elapsed)
	}
	srv.Resume()
	resumed = true
	s := <-slowDone
	if v, err := s.r.ToString(); err != nil || v != "v" {
		t.Errorf("the neighbour's GET: %q, %v after %s; want v: the fast part's deadline disturbed it", v, err, s.elapsed)
	}
	if after := partConns(t, srv); !slices.Equal(before, after) {
		t.Errorf("the connection was replaced: ids %v before, %v after", before, after)
	}
	// The part goes on working on the same connection.
	if v, err := fast.Do(ctx, fast.B().Get().Key("k").Build()).ToString(); !rueidis.IsRedisNil(err) {
		t.Errorf("fast GET k after the stall: %q, %v; want nil (its own namespace)", v, err)
	}
}

// TestCallerDeadlineWinsAndSparesTheNeighbours: a caller's deadline
// earlier than the part's timeout ends the call first, and it too ends
// only the call: the error names the caller's context.
func TestCallerDeadlineWinsAndSparesTheNeighbours(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	reg, base := parts(t, "REDIS_URL="+srv.URL(), "REDIS_PIPELINE_MULTIPLEX=-1", "REDIS_COMMAND_TIMEOUT=5s")
	p := openWithK(t, reg, base)
	before := partConns(t, srv)
	srv.Pause()
	other := make(chan rueidis.RedisResult, 1)
	go func() { other <- p.Do(ctx, p.B().Get().Key("k").Build()) }()
	testsupport.WaitFor(t, 5*time.Second, "a GET in flight", func() bool { return reg.Stats()[0].InFlight == 1 })
	callCtx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	start := time.Now()
	err := p.Do(callCtx, p.B().Get().Key("k").Build()).Error()
	elapsed := time.Since(start)
	cancel()
	srv.Resume()
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), `part "p": no reply before the caller's context deadline`) || elapsed > time.Second {
		t.Errorf("after %s: %v; want the caller's deadline named", elapsed, err)
	}
	if v, err := (<-other).ToString(); err != nil || v != "v" {
		t.Errorf("the other GET: %q, %v", v, err)
	}
	if after := partConns(t, srv); !slices.Equal(before, after) {
		t.Errorf("the connection was replaced: ids %v before, %v after", before, after)
	}
}

// TestBlockingCommandGetsItsOwnTimeToo: BLPOP 1 on a part with 100ms
// waits its second, and fails within about 1.2s only when nothing comes:
// the part's timeout and a server tick are added to the command's own.
func TestBlockingCommandGetsItsOwnTimeToo(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	reg, base := parts(t, "REDIS_URL="+srv.URL(), "REDIS_Q_COMMAND_TIMEOUT=100ms")
	q, release, err := feature.Part{Namespace: "q"}.Open(ctx, reg, base)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	// Nothing to pop: the server answers nil after 1s, within 1s+100ms+100ms.
	start := time.Now()
	err = q.Do(ctx, q.B().Blpop().Key("list").Timeout(1).Build()).Error()
	if !rueidis.IsRedisNil(err) || time.Since(start) < 900*time.Millisecond {
		t.Errorf("BLPOP list 1: %v after %s; want nil after its second", err, time.Since(start))
	}
	// Stalled: the deadline is 1s+100ms, and a server tick (100ms).
	srv.Pause()
	start = time.Now()
	err = q.Do(ctx, q.B().Blpop().Key("list").Timeout(1).Build()).Error()
	elapsed := time.Since(start)
	srv.Resume()
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no reply within 1.2s (REDIS_Q_COMMAND_TIMEOUT)") || elapsed < time.Second || elapsed > 3*time.Second {
		t.Errorf("stalled BLPOP list 1: %v after %s; want the part's deadline after 1.2s", err, elapsed)
	}
	if err := q.Do(ctx, q.B().Set().Key("k").Value("v").Build()).Error(); err != nil {
		t.Errorf("SET after the stall: %v", err)
	}
}

// TestBaseCommandTimeoutNamesThePartsVariable: a timeout from
// REDIS_COMMAND_TIMEOUT says so, and names the part's own variable too.
func TestBaseCommandTimeoutNamesThePartsVariable(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	reg, base := parts(t, "REDIS_URL="+srv.URL(), "REDIS_COMMAND_TIMEOUT=50ms")
	p, release, err := feature.Part{Namespace: "p"}.Open(ctx, reg, base)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	srv.Pause()
	err = p.Do(ctx, p.B().Get().Key("k").Build()).Error()
	srv.Resume()
	if want := `wireredis: part "p": no reply within 50ms (REDIS_COMMAND_TIMEOUT; REDIS_P_COMMAND_TIMEOUT for this part)`; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
}

// TestEarlierDeadlineWins: a caller's later deadline does not stretch the
// part's timeout, and a caller's earlier one ends the call first, whether
// the command shares the pipeline or goes on a pooled connection (BLPOP).
func TestEarlierDeadlineWins(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	// One pipeline, dialled before the pause: rueidis dials a pipeline on
	// its first command within its own dial timeout, whatever the context.
	reg, base := parts(t, "REDIS_URL="+srv.URL(), "REDIS_PIPELINE_MULTIPLEX=-1", "REDIS_P_COMMAND_TIMEOUT=100ms")
	p := openWithK(t, reg, base)
	srv.Pause()
	defer srv.Resume()
	for _, tc := range []struct {
		name   string
		cmd    func() rueidis.Completed
		caller time.Duration
		want   string
	}{
		{"GET, caller 10s", func() rueidis.Completed { return p.B().Get().Key("k").Build() }, 10 * time.Second, "no reply within 100ms (REDIS_P_COMMAND_TIMEOUT)"},
		{"BLPOP 1, caller 10s", func() rueidis.Completed { return p.B().Blpop().Key("l").Timeout(1).Build() }, 10 * time.Second, "no reply within 1.2s (REDIS_P_COMMAND_TIMEOUT)"},
		{"GET, caller 50ms", func() rueidis.Completed { return p.B().Get().Key("k").Build() }, 50 * time.Millisecond, "no reply before the caller's context deadline"},
	} {
		callCtx, cancel := context.WithTimeout(ctx, tc.caller)
		start := time.Now()
		err := p.Do(callCtx, tc.cmd()).Error()
		elapsed := time.Since(start)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(fmt.Sprint(err), tc.want) || elapsed > 5*time.Second {
			t.Errorf("%s: %v after %s; want %q", tc.name, err, elapsed, tc.want)
		}
	}
}

// openWithK opens the part "p", released when the test ends, and sets
// its key k to v: the part's pipeline is dialled before a test pauses the
// server.
func openWithK(t *testing.T, reg *registry.Registry, base provider.Options) *feature.Client {
	t.Helper()
	ctx := context.Background()
	p, release, err := feature.Part{Namespace: "p"}.Open(ctx, reg, base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	if err := p.Do(ctx, p.B().Set().Key("k").Value("v").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCallerDeadlineAloneSparesTheConnection: a part without a timeout of
// its own, called with a deadline (a request handler's context) while its
// connection is idle, the server stalled. rueidis sends a command alone
// on an idle connection synchronously, with the context's deadline on the
// socket, and closes the connection when it passes; the part hands it the
// context without its deadline, so the call fails naming the caller's
// deadline and the connection stays. Each case on a connection of its
// own: the first call that goes through rueidis's queue keeps the
// connection pipelined, and it is the idle one that is at stake. (Given
// the deadline, rueidis v1.0.79 closed the connection in the Do and
// DoMulti cases; its cached calls queued theirs.)
func TestCallerDeadlineAloneSparesTheConnection(t *testing.T) {
	for _, tc := range []struct {
		name string
		call func(ctx context.Context, p *feature.Client) error
	}{
		{"Do", func(ctx context.Context, p *feature.Client) error {
			return p.Do(ctx, p.B().Get().Key("k").Build()).Error()
		}},
		{"DoCache, a miss", func(ctx context.Context, p *feature.Client) error {
			return p.DoCache(ctx, p.B().Get().Key("cold").Cache(), time.Minute).Error()
		}},
		{"DoMulti", func(ctx context.Context, p *feature.Client) error {
			return p.DoMulti(ctx, p.B().Get().Key("k").Build(), p.B().Get().Key("cold").Build())[0].Error()
		}},
		{"DoMultiCache, a miss", func(ctx context.Context, p *feature.Client) error {
			return p.DoMultiCache(ctx, rueidis.CT(p.B().Get().Key("cold").Cache(), time.Minute))[0].Error()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.Start(t)
			reg, base := parts(t, "REDIS_URL="+srv.URL(), "REDIS_PIPELINE_MULTIPLEX=-1")
			p := openWithK(t, reg, base)
			before := partConns(t, srv)
			srv.Pause()
			callCtx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			start := time.Now()
			err := tc.call(callCtx, p)
			elapsed := time.Since(start)
			cancel()
			srv.Resume()
			var de *feature.DeadlineError
			if !errors.As(err, &de) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), `part "p": no reply before the caller's context deadline`) || elapsed > 2*time.Second {
				t.Errorf("after %s: %v; want a DeadlineError naming the caller's deadline", elapsed, err)
			}
			if v, err := p.Do(context.Background(), p.B().Get().Key("k").Build()).ToString(); err != nil || v != "v" {
				t.Errorf("GET k after the stall: %q, %v; want v", v, err)
			}
			if after := partConns(t, srv); !slices.Equal(before, after) {
				t.Errorf("the connection was replaced: ids %v before, %v after", before, after)
			}
		})
	}
}
