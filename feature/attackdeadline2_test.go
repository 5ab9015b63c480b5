package feature_test

// Second round of attacks on the deadline promise (feature/deadline.go):
// custom contexts that break the context contract in ways the first
// round did not try, an errgroup's cause, Dedicated transactions under a
// deadline, and a load of custom contexts with both REDIS_BATCH settings.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"golang.org/x/sync/errgroup"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/redistest"
)

// adl2Child runs the test (or subtest) t again in a child process (its
// body, when ADL2_CHILD names it), so that a panic or a hang ends the
// child, not the run; it reports true in the parent, which then has
// nothing more to do.
func adl2Child(t *testing.T) bool {
	t.Helper()
	if os.Getenv("ADL2_CHILD") == t.Name() {
		return false
	}
	var run []string
	for _, part := range strings.Split(t.Name(), "/") {
		run = append(run, "^"+regexp.QuoteMeta(part)+"$")
	}
	cmd := exec.Command(os.Args[0], "-test.run="+strings.Join(run, "/"), "-test.count=1", "-test.v", "-test.timeout=60s")
	cmd.Env = append(os.Environ(), "ADL2_CHILD="+t.Name())
	out, err := cmd.CombinedOutput()
	var lines []string
	for line := range strings.Lines(string(out)) {
		if strings.Contains(line, " INFO ") || strings.HasPrefix(line, "=== ") || strings.HasPrefix(line, "\t/") {
			continue
		}
		lines = append(lines, strings.TrimRight(line, "\n"))
	}
	if err != nil {
		if len(lines) > 30 {
			lines = lines[:30]
		}
		t.Errorf("the child process failed (%v):\n%s", err, strings.Join(lines, "\n"))
	}
	return true
}

// adl2DoneNoErr is a context without a deadline whose Done closes (when
// done is closed) while its Err stays nil, against the contract.
type adl2DoneNoErr struct {
	context.Context
	done chan struct{}
}

func (c adl2DoneNoErr) Done() <-chan struct{} { return c.done }
func (c adl2DoneNoErr) Err() error            { return nil }

// TestAttackDeadline2DoneNoErrDial: a context whose Done is closed and
// Err nil reaching a dial: a lazy part's first command (its builder
// taken from elsewhere, so the part dials for the command), and, with a
// deadline, the command after the shared connection was lost. The dial
// derives a context from the caller's (the registry's ping); the context
// package panicked when a parent's Done closed with Err nil, ending the
// process. The call must fail, the process live.
func TestAttackDeadline2DoneNoErrDial(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  []string
		ctx  func() context.Context
		lost bool
	}{
		{"lazy, first command", []string{"REDIS_STARTUP=lazy"}, func() context.Context {
			c := adl2DoneNoErr{context.Background(), make(chan struct{})}
			close(c.done)
			return c
		}, false},
		{"lazy, first command, part timeout", []string{"REDIS_STARTUP=lazy", "REDIS_P_COMMAND_TIMEOUT=20s"}, func() context.Context {
			c := adl2DoneNoErr{context.Background(), make(chan struct{})}
			close(c.done)
			return c
		}, false},
		{"lazy, first command, caller deadline", []string{"REDIS_STARTUP=lazy"}, func() context.Context {
			c := doneNoErr{context.Background(), make(chan struct{})}
			close(c.done)
			return c
		}, false},
		// Without a deadline the part hands rueidis such a context as it
		// is, and rueidis's redial panics on it (not defended: see
		// docs/configuration.md). With one, the part's view is honest.
		{"connection lost, caller deadline", nil, func() context.Context {
			c := doneNoErr{context.Background(), make(chan struct{})}
			close(c.done)
			return c
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if adl2Child(t) {
				return
			}
			srv := redistest.Start(t)
			reg, base := parts(t, append([]string{"REDIS_URL=" + srv.URL(), "REDIS_PIPELINE_MULTIPLEX=-1"}, tc.env...)...)
			p, release, err := feature.Part{Namespace: "p"}.Open(context.Background(), reg, base)
			if err != nil {
				t.Fatal(err)
			}
			defer release()
			if tc.lost {
				if err := p.Do(context.Background(), p.B().Set().Key("k").Value("v").Build()).Error(); err != nil {
					t.Fatal(err)
				}
				ids := partConns(t, srv)
				for _, id := range ids {
					srv.Client.Do(context.Background(), srv.Client.B().ClientKill().Id(mustInt(t, strings.TrimPrefix(id, "id="))).Build())
				}
				// A write notices the loss (and is not retried).
				if err := p.Do(context.Background(), p.B().Set().Key("k").Value("w").Build()).Error(); err == nil {
					t.Skip("the write after CLIENT KILL succeeded: the connection was redialled already")
				}
			}
			cmd := srv.Client.B().Get().Key("k").Build() // not p.B(): a lazy part's B() dials
			r := p.Do(tc.ctx(), cmd)
			if err := r.Error(); err == nil {
				s, serr := r.ToString()
				t.Errorf("GET under a done context: Error() nil, ToString %q, %v; want an error", s, serr)
			}
		})
	}
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAttackDeadline2ErrgroupCause: errgroup.WithContext cancels the
// group's context with the first error as its cause. Part "fast" (100ms
// timeout) fails first with its *DeadlineError; the group's context ends,
// and the call of part "slow" in the same group, on the same connection,
// ended by that cancellation, must say so (context.Canceled, or a
// deadline of its own), not fast's DeadlineError.
func TestAttackDeadline2ErrgroupCause(t *testing.T) {
	for _, env := range []string{"", "REDIS_SLOW_COMMAND_TIMEOUT=10s"} {
		for _, tc := range []int{0, 2} { // Do, DoCache
			call := adlCalls[tc]
			t.Run(call.name+" "+env, func(t *testing.T) {
				srv := redistest.Start(t)
				reg, base := parts(t, "REDIS_URL="+srv.URL(), "REDIS_PIPELINE_MULTIPLEX=-1", "REDIS_FAST_COMMAND_TIMEOUT=100ms", env)
				fast := adlOpen(t, reg, base, "fast")
				slow := adlOpen(t, reg, base, "slow")
				resume := adlPaused(t, srv)
				request, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				g, gctx := errgroup.WithContext(request)
				slowErr := make(chan error, 1)
				g.Go(func() error {
					err := call.call(gctx, slow).Error()
					slowErr <- err
					return err
				})
				adlInFlight(t, reg, 1)
				g.Go(func() error { return fast.Do(gctx, fast.B().Get().Key("k").Build()).Error() })
				first := g.Wait()
				resume()
				err := <-slowErr
				var de *feature.DeadlineError
				if !errors.As(first, &de) || de.Namespace != "fast" {
					t.Fatalf("the group's first error: %v; want fast's DeadlineError", first)
				}
				if errors.As(err, &de) && de.Namespace != "slow" {
					t.Errorf("slow's call, ended by the group's cancellation: %q (errors.Is Canceled %v, DeadlineExceeded %v): it got part fast's error", err, errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded))
				} else if !errors.Is(err, context.Canceled) {
					t.Errorf("slow's call: %v; want context.Canceled", err)
				}
			})
		}
	}
}

// adl2OddErr is a context whose Done is inner's and whose Err, once
// inner is done, is an error of its own, neither Canceled nor
// DeadlineExceeded.
type adl2OddErr struct{ context.Context }

var errAdl2Odd = errors.New("adl2: odd context error")

func (c adl2OddErr) Err() error {
	if c.Context.Err() != nil {
		return errAdl2Odd
	}
	return nil
}

// TestAttackDeadline2OddErrReachesWaiters: caller A misses key k with a
// context whose Err is an odd error; callers B, with well-behaved
// contexts cancelled when A's ends (context.AfterFunc), wait on A's
// fetch. rueidis hands the waiters A's error, and does not retry those
// whose context has ended; the part converted only context errors, so
// those B got A's odd error. Each B's call ended by its own
// cancellation; none may get A's error.
func TestAttackDeadline2OddErrReachesWaiters(t *testing.T) {
	for _, env := range []string{"", "REDIS_P_COMMAND_TIMEOUT=10s"} {
		t.Run(env, func(t *testing.T) {
			srv := redistest.Start(t)
			reg, base := parts(t, "REDIS_URL="+srv.URL(), "REDIS_PIPELINE_MULTIPLEX=-1", env)
			p := openWithK(t, reg, base)
			resume := adlPaused(t, srv)
			const rounds, waiters = 10, 100
			leaked := map[string]int{}
			for i := range rounds {
				key := fmt.Sprint("f", i)
				inner, acancel := context.WithCancel(context.Background())
				actx := adl2OddErr{inner}
				aDone := make(chan error, 1)
				go func() { aDone <- p.DoCache(actx, p.B().Get().Key(key).Cache(), time.Minute).Error() }()
				adlInFlight(t, reg, 1)
				bDone := make(chan error, waiters)
				for range waiters {
					bctx, bcancel := context.WithCancel(context.Background())
					context.AfterFunc(inner, bcancel)
					go func() { bDone <- p.DoCache(bctx, p.B().Get().Key(key).Cache(), time.Minute).Error() }()
				}
				adlInFlight(t, reg, 1+waiters)
				acancel()
				if err := <-aDone; err == nil {
					t.Errorf("A: no error")
				}
				for range waiters {
					if err := <-bDone; !errors.Is(err, context.Canceled) {
						leaked[fmt.Sprintf("%v (%T)", err, err)]++
					}
				}
			}
			resume()
			if len(leaked) > 0 {
				t.Errorf("of %d callers B cancelled by their own context, these got another error (A's): %v", rounds*waiters, leaked)
			}
		})
	}
}

// TestAttackDeadline2DoneNoErrWaiterGetsAnothersDeadline: caller A
// misses key k with a 100ms deadline; callers B, whose contexts have a
// deadline an hour away and a Done that closes when A's deadline passes
// while their Err stays nil, wait on A's fetch. rueidis hands them A's
// context.DeadlineExceeded and, their context being done, does not
// retry; the part, asking only Err, could not tell it from theirs and
// passed A's error on: a bare context.DeadlineExceeded (no
// *DeadlineError) for a deadline an hour away. Each B must get its own
// ending (context.Canceled, as the part says of a Done without Err).
func TestAttackDeadline2DoneNoErrWaiterGetsAnothersDeadline(t *testing.T) {
	for _, env := range []string{"", "REDIS_P_COMMAND_TIMEOUT=10s"} {
		t.Run(env, func(t *testing.T) {
			srv := redistest.Start(t)
			reg, base := parts(t, "REDIS_URL="+srv.URL(), "REDIS_PIPELINE_MULTIPLEX=-1", env)
			p := openWithK(t, reg, base)
			resume := adlPaused(t, srv)
			const rounds, waiters = 5, 60
			leaked := map[string]int{}
			for i := range rounds {
				key := fmt.Sprint("f", i)
				actx, acancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
				aDone := make(chan error, 1)
				go func() { aDone <- p.DoCache(actx, p.B().Get().Key(key).Cache(), time.Minute).Error() }()
				adlInFlight(t, reg, 1)
				bDone := make(chan error, waiters)
				for range waiters {
					bctx := adl2DoneNoErrDeadline{context.Background(), make(chan struct{})}
					context.AfterFunc(actx, func() { close(bctx.done) })
					go func() { bDone <- p.DoCache(bctx, p.B().Get().Key(key).Cache(), time.Minute).Error() }()
				}
				adlInFlight(t, reg, 1+waiters)
				adlWantCallerDeadline(t, "A", <-aDone)
				for range waiters {
					if err := <-bDone; !errors.Is(err, context.Canceled) {
						leaked[fmt.Sprintf("%v (%T)", err, err)]++
					}
				}
				acancel()
			}
			resume()
			if len(leaked) > 0 {
				t.Errorf("of %d callers B (deadline an hour away, Done closed, Err nil), these got another ending than their own: %v", rounds*waiters, leaked)
			}
		})
	}
}

// TestAttackDeadline2DedicatedTransaction: MULTI/SET/EXEC on a dedicated
// connection under a 100ms deadline (Dedicated), and under a
// cancellation (Dedicate), the server stalled, a neighbour's INCR queued
// on the shared connection. The neighbour gets its reply, the shared
// connection stays, and the dedicated connections, given back, serve the
// next transaction from a clean state.
func TestAttackDeadline2DedicatedTransaction(t *testing.T) {
	for _, env := range []string{"", "REDIS_P_COMMAND_TIMEOUT=50ms"} {
		t.Run(env, func(t *testing.T) {
			ctx := context.Background()
			srv := redistest.Start(t)
			reg, base := parts(t, "REDIS_URL="+srv.URL(), "REDIS_PIPELINE_MULTIPLEX=-1", env)
			p := openWithK(t, reg, base)
			n := adlOpen(t, reg, base, "n")
			// Dial two dedicated connections before the stall.
			d1, give1 := p.Dedicate()
			d2, give2 := p.Dedicate()
			for _, d := range []rueidis.DedicatedClient{d1, d2} {
				if err := d.Do(ctx, d.B().Ping().Build()).Error(); err != nil {
					t.Fatal(err)
				}
			}
			give1()
			give2()
			shared := partConns(t, srv)
			resume := adlPaused(t, srv)
			neighbour := make(chan error, 1)
			go func() { neighbour <- n.Do(ctx, n.B().Incr().Key("c").Build()).Error() }()
			adlInFlight(t, reg, 1)

			dctx, dcancel := context.WithTimeout(ctx, 100*time.Millisecond)
			txErr := p.Dedicated(func(d rueidis.DedicatedClient) error {
				rs := d.DoMulti(dctx, d.B().Multi().Build(), d.B().Set().Key("t").Value("1").Build(), d.B().Exec().Build())
				return rs[2].Error()
			})
			dcancel()
			if !errors.Is(txErr, context.DeadlineExceeded) {
				t.Errorf("Dedicated MULTI/SET/EXEC under a 100ms deadline: %v; want a deadline error", txErr)
			}
			t.Logf("Dedicated, deadline: %v (%T)", txErr, txErr)

			d, give := p.Dedicate()
			cctx, ccancel := context.WithCancel(ctx)
			got := make(chan error, 1)
			go func() {
				if err := d.Do(cctx, d.B().Multi().Build()).Error(); err != nil {
					got <- err
					return
				}
				got <- d.Do(cctx, d.B().Set().Key("t").Value("2").Build()).Error()
			}()
			ccancel()
			err := <-got
			t.Logf("Dedicate, cancelled: %v", err)
			giveDone := make(chan struct{})
			go func() { give(); close(giveDone) }()
			resume()
			<-giveDone
			if err := <-neighbour; err != nil {
				t.Errorf("the neighbour's INCR: %v", err)
			}
			id, err := n.Do(ctx, n.B().ClientId().Build()).AsInt64()
			if err != nil || !slices.Contains(shared, fmt.Sprint("id=", id)) {
				t.Errorf("the shared connection is id=%d (%v), not one of %v: replaced", id, err, shared)
			}
			// The dedicated connections given back: a transaction of
			// their next user starts clean (SET answers OK, not QUEUED).
			for i := range 3 {
				err := p.Dedicated(func(d rueidis.DedicatedClient) error {
					if v, err := d.Do(ctx, d.B().Set().Key("u").Value(fmt.Sprint(i)).Build()).ToString(); err != nil || v != "OK" {
						return fmt.Errorf("SET u: %q, %w; want OK (a transaction left open?)", v, err)
					}
					rs := d.DoMulti(ctx, d.B().Multi().Build(), d.B().Incr().Key("u").Build(), d.B().Exec().Build())
					if arr, err := rs[2].ToArray(); err != nil || len(arr) != 1 {
						return fmt.Errorf("EXEC: %v, %w", arr, err)
					}
					return nil
				})
				if err != nil {
					t.Errorf("dedicated use %d after the stall: %v", i, err)
				}
			}
		})
	}
}

// Custom contexts for the load.

// adl2Values adds a value and delegates the rest: a Value-only wrapper.
type adl2Values struct{ context.Context }

type adl2Key struct{}

func (c adl2Values) Value(k any) any {
	if k == (adl2Key{}) {
		return "adl2"
	}
	return c.Context.Value(k)
}

// adl2PreCancelled is done before the call, Err Canceled, with a
// deadline an hour away.
type adl2PreCancelled struct{ context.Context }

var adl2Closed = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (adl2PreCancelled) Deadline() (time.Time, bool) { return time.Now().Add(time.Hour), true }
func (adl2PreCancelled) Done() <-chan struct{}       { return adl2Closed }
func (adl2PreCancelled) Err() error                  { return context.Canceled }

// adl2DoneNoErrDeadline is done (when done closes) with Err nil, and a
// deadline an hour away: the part bounds it.
type adl2DoneNoErrDeadline struct {
	context.Context
	done chan struct{}
}

func (adl2DoneNoErrDeadline) Deadline() (time.Time, bool) { return time.Now().Add(time.Hour), true }
func (c adl2DoneNoErrDeadline) Done() <-chan struct{}     { return c.done }
func (adl2DoneNoErrDeadline) Err() error                  { return nil }

// TestAttackDeadline2CustomContextsUnderLoad: hundreds of goroutines on
// four parts sharing one connection (two with 1ms and 2ms timeouts, two
// without), with custom contexts (a Value-only wrapper over a deadline
// equal to the part's timeout, a Done-less deadline of 0-2ms, a context
// cancelled before the call, a deadline racing the reply; a Done that
// closes with Err nil is left to
// TestAttackDeadline2DoneNoErrWaiterGetsAnothersDeadline), the four calls mixed, values
// rewritten under the cache, the server stalled three times; with
// RESP2 and RESP3, REDIS_BATCH adaptive and off. Every reply must be
// the value of the key its caller asked, every error one that the
// caller's context or part explains, nothing must look successful
// without a reply, and the connection must stay.
func TestAttackDeadline2CustomContextsUnderLoad(t *testing.T) {
	if adl2Child(t) {
		return
	}
	for _, proto := range []string{"REDIS_PROTOCOL=2", "REDIS_PROTOCOL=3"} {
		for _, batch := range []string{"REDIS_BATCH=adaptive", "REDIS_BATCH=off"} {
			t.Run(proto+" "+batch, func(t *testing.T) { adl2Load(t, proto, batch) })
		}
	}
}

func adl2Load(t *testing.T, proto, batch string) {
	ctx := context.Background()
	srv := redistest.Start(t)
	reg, base := parts(t, "REDIS_URL="+srv.URL(), "REDIS_PIPELINE_MULTIPLEX=-1", proto, batch,
		"REDIS_A_COMMAND_TIMEOUT=1ms", "REDIS_B_COMMAND_TIMEOUT=2ms")
	names := []string{"a", "b", "c", "d"}
	timeouts := map[string]time.Duration{"a": time.Millisecond, "b": 2 * time.Millisecond}
	ps := make([]*feature.Client, len(names))
	for i, ns := range names {
		ps[i] = adlOpen(t, reg, base, ns)
	}
	const keys = 30
	adlSeed(t, srv, names, keys)
	for _, p := range ps {
		p.Do(ctx, p.B().Get().Key("k0").Build())
	}
	before := partConns(t, srv)

	type kind int
	const (
		plain kind = iota
		valuesSameDeadline
		doneless
		preCancelled
		racing
		kinds
	)
	makeCtx := func(k kind, ns string, r int) (context.Context, func()) {
		switch k {
		case valuesSameDeadline:
			d := timeouts[ns]
			if d == 0 {
				d = time.Duration(r%2000) * time.Microsecond
			}
			c, cancel := context.WithTimeout(ctx, d)
			return adl2Values{c}, cancel
		case doneless:
			return deadlineOnly{ctx, time.Now().Add(time.Duration(r%2000) * time.Microsecond)}, func() {}
		case preCancelled:
			return adl2PreCancelled{ctx}, func() {}
		case racing:
			c, cancel := context.WithTimeout(ctx, time.Duration(r%500)*time.Microsecond)
			go cancel()
			return c, cancel
		}
		return ctx, func() {}
	}
	stopWriter := adlWriter(srv, names, keys)
	var found adlFindings
	report, count := found.report, found.count
	check := func(ns string, kd kind, k int, r rueidis.RedisResult, call string) {
		want := fmt.Sprintf("%s:k%d#", ns, k)
		var de *feature.DeadlineError
		err := r.Error()
		switch {
		case err == nil:
			v, verr := r.ToString()
			if verr != nil || !strings.HasPrefix(v, want) {
				report("%s %s k%d (ctx kind %d): %q, %v with no error; want the value of %s*", call, ns, k, kd, v, verr, want)
			}
			count("ok")
		case errors.As(err, &de):
			count(fmt.Sprint("deadline ", de.Namespace))
			byPart := strings.Contains(err.Error(), "_COMMAND_TIMEOUT")
			byCaller := strings.Contains(err.Error(), "no reply before the caller's context deadline")
			if de.Namespace != ns || !errors.Is(err, context.DeadlineExceeded) {
				report("%s %s: %v names another part", call, ns, err)
			}
			if byPart && timeouts[ns] == 0 || byCaller && kd != valuesSameDeadline && kd != doneless && kd != racing || !byPart && !byCaller {
				report("%s %s k%d (ctx kind %d): %v: no deadline of this call's", call, ns, k, kd, err)
			}
		case errors.Is(err, context.Canceled):
			count("canceled")
			if kd != preCancelled && kd != racing {
				report("%s %s k%d (ctx kind %d): %v, yet its context was not cancelled", call, ns, k, kd, err)
			}
		default:
			report("%s %s k%d (ctx kind %d): unexpected error %v (%T)", call, ns, k, kd, err, err)
		}
	}

	const workers, rounds = 200, 40
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				r := w*7919 + i*104729
				pi := r % len(ps)
				p, ns := ps[pi], names[pi]
				kd := kind(r / 5 % int(kinds))
				k1, k2 := r%keys, (r/3)%keys
				cctx, cancel := makeCtx(kd, ns, r)
				adlSendMix(cctx, p, r/13, k1, k2, func(k int, res rueidis.RedisResult, call string) { check(ns, kd, k, res, call) })
				cancel()
			}
		}()
	}
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()
	adlStallThrice(srv, reg, 80, time.Second)
	<-allDone
	stopWriter()
	found.flush(t)
	adlStillOwn(t, srv, before, ps, names)
}
