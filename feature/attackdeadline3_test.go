package feature_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/internal/testsupport"
	"github.com/wireredis/wireredis/redistest"
)

// Attacks on cached reads under a caller's context, found against an
// attempt to recycle the view of that context DoCache hands rueidis (a
// pool of withoutDeadline): a redial inside the call hands the view to
// net.Dialer and rueidis's handshake, which derive contexts from it, and
// the context package then watches it from a goroutine nobody waits for.
// A recycled view raced with that goroutine (the two OwnDoneContext
// tests, under -race) and showed it other callers' contexts. Each call
// now has a view of its own again; the tests stay, judged by what callers
// see and by the race detector.

// ownDone is a caller's context with a Done channel of its own, as a
// context that merges two others (Done closes when either ends) or a
// framework's request context has: its deadline and values are those of
// the context it holds, its Done is closed by the func newOwnDone returns.
type ownDone struct {
	context.Context
	done chan struct{}
}

func newOwnDone(parent context.Context) (*ownDone, func()) {
	c := &ownDone{Context: parent, done: make(chan struct{})}
	var once sync.Once
	return c, func() { once.Do(func() { close(c.done) }) }
}

func (c *ownDone) Done() <-chan struct{} { return c.done }

func (c *ownDone) Err() error {
	select {
	case <-c.done:
		return context.Canceled
	default:
		return nil
	}
}

// brokenDone is a context that breaks the contract: its Done is closed
// and its Err stays nil.
type brokenDone struct{ context.Context }

func (brokenDone) Done() <-chan struct{} { return closedChan }
func (brokenDone) Err() error            { return nil }

var closedChan = func() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}()

// killConns closes every connection of the server but admin's own, so
// that the next command of every other client dials again.
func killConns(t testing.TB, admin rueidis.Client) {
	t.Helper()
	cmd := admin.B().Arbitrary("CLIENT", "KILL").Args("SKIPME", "yes").Build()
	if err := admin.Do(context.Background(), cmd).Error(); err != nil {
		t.Fatal(err)
	}
}

// viewParts returns a part over raw rueidis and the registry's
// SessionRedis, both of srv.
func viewParts(t *testing.T, srv *redistest.Server) []*feature.Client {
	t.Helper()
	raw, _, session := rawPartSessionOf(t, srv)
	return []*feature.Client{feature.New(raw, "views"), session.Client}
}

// TestAttackViewsRedialUnderOwnDoneContext: a cached read that finds its
// connection closed dials again inside the call, with the context it was
// given: the recycled view. net.Dialer derives a context from it
// (context.WithDeadline in dialCtx; rueidis's _newPipe does the same for
// the handshake). When the caller's Done is its own (not a context
// package cancelCtx's), the context package watches the parent from a
// goroutine it does not wait for (propagateCancel), which reads the
// view's Done when it is first scheduled, unordered with giveBack's and
// the next lendView's writes of the view: a data race under -race.
// Before views were recycled, that goroutine held a copy of its own.
func TestAttackViewsRedialUnderOwnDoneContext(t *testing.T) {
	srv := redistest.Start(t)
	admin := srv.NewClient(t, nil)
	clients := viewParts(t, srv)
	base, cancelBase := context.WithTimeout(context.Background(), time.Minute)
	defer cancelBase()
	for range 10 {
		killConns(t, admin)
		for _, c := range clients {
			testsupport.WaitFor(t, 10*time.Second, "a read on a connection dialled again", func() bool {
				ctx, cancel := newOwnDone(base)
				defer cancel()
				err := c.DoCache(ctx, c.B().Get().Key("k").Cache(), time.Minute).Error()
				return rueidis.IsRedisNil(err)
			})
		}
	}
}

// TestAttackViewsFirstReadsUnderOwnDoneContext: the same race as
// TestAttackViewsRedialUnderOwnDoneContext with no outage at all: the
// registry's connection (and rueidis's, by default) has several
// pipelines, each dialled on its first command, so the first cached reads
// of a fresh part under a caller's context with a Done of its own dial
// with the recycled view.
func TestAttackViewsFirstReadsUnderOwnDoneContext(t *testing.T) {
	srv := redistest.Start(t)
	for _, c := range viewParts(t, srv) {
		base, cancelBase := context.WithTimeout(context.Background(), time.Minute)
		for i := range 64 {
			ctx, cancel := newOwnDone(base)
			err := c.DoCache(ctx, c.B().Get().Key(fmt.Sprintf("first:%d", i)).Cache(), time.Minute).Error()
			cancel()
			if !rueidis.IsRedisNil(err) {
				t.Errorf("%s: %v", c.Namespace(), err)
			}
		}
		cancelBase()
	}
}

// ctxKey is the key of a caller's identity among its context's values.
type ctxKey struct{}

// readOutcome counts the outcomes of reads.
type readOutcome struct {
	ok, canceled, deadline, other int
	wrong                         []string
}

// TestAttackViewsIsolationUnderLoad: many goroutines with contexts of
// their own (values, some cancelled mid-call, some with short deadlines,
// some with a Done of their own) read hot keys, misses and keys many
// callers wait for at once, through a part over raw rueidis whose dialer
// checks that the context it dials with is a live caller's, and through
// SessionRedis; the server is stopped for a while, and its connections
// closed. Every read must end as its own context says: its value, or its
// own cancellation (context.Canceled), or its own deadline (a
// *feature.DeadlineError of the caller's deadline); a caller whose context
// is alive and long must never fail but while the server is stopped.
func TestAttackViewsIsolationUnderLoad(t *testing.T) {
	srv := redistest.Start(t)
	admin := srv.NewClient(t, nil)
	var active sync.Map // caller id -> its Done
	var dialWrong atomic.Value
	raw := srv.NewClient(t, func(o *rueidis.ClientOption) {
		o.DialCtxFn = func(ctx context.Context, addr string, d *net.Dialer, _ *tls.Config) (net.Conn, error) {
			if id, ok := ctx.Value(ctxKey{}).(string); ok {
				done, live := active.Load(id)
				if !live || done.(<-chan struct{}) != ctx.Done() {
					dialWrong.Store(fmt.Sprintf("dialled with the context of %s, whose call is over (live %v)", id, live))
				}
			}
			return d.DialContext(ctx, "tcp", addr)
		}
	})
	reg, base := parts(t, "REDIS_URL="+srv.URL())
	session, release, err := feature.ProvideSessionRedis(context.Background(), reg, base)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	clients := []*feature.Client{feature.New(raw, "iso"), session.Client}
	for _, c := range clients {
		for i := range 8 {
			k := fmt.Sprintf("hot:%d", i)
			if err := c.Do(context.Background(), c.B().Set().Key(k).Value(k).Build()).Error(); err != nil {
				t.Fatal(err)
			}
		}
	}

	var stopped atomic.Bool
	var mu sync.Mutex
	var out readOutcome
	wrong := func(format string, args ...any) {
		mu.Lock()
		if len(out.wrong) < 10 {
			out.wrong = append(out.wrong, fmt.Sprintf(format, args...))
		}
		mu.Unlock()
	}
	read := func(c *feature.Client, g, i int) {
		id := fmt.Sprintf("%s/%d/%d", c.Namespace(), g, i)
		kind := (g + i) % 5
		within := time.Minute
		if kind == 1 {
			within = time.Duration(1+i%5) * time.Millisecond
		}
		bctx, cancelB := context.WithTimeout(context.WithValue(context.Background(), ctxKey{}, id), within)
		defer cancelB()
		ctx := bctx
		cancel := cancelB
		if kind == 3 {
			o, c := newOwnDone(bctx)
			ctx, cancel = o, c
			defer c()
		}
		var selfCancelled atomic.Bool
		if kind == 2 || kind == 3 {
			tm := time.AfterFunc(time.Duration(i%200)*time.Microsecond, func() { selfCancelled.Store(true); cancel() })
			defer tm.Stop()
		}
		var key string
		switch i % 3 {
		case 0:
			key = fmt.Sprintf("hot:%d", i%8)
		case 1:
			key = fmt.Sprintf("miss:%d:%d", g, i)
		default:
			key = fmt.Sprintf("flight:%d", i/3)
		}
		active.Store(id, ctx.Done())
		r := c.DoCache(ctx, c.B().Get().Key(key).Cache(), time.Minute)
		active.Delete(id)
		v, err := r.ToString()
		var de *feature.DeadlineError
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil:
			out.ok++
			if v != key {
				out.wrong = append(out.wrong, fmt.Sprintf("%s read %q for %q", id, v, key))
			}
		case rueidis.IsRedisNil(err):
			out.ok++
			if strings.HasPrefix(key, "hot:") {
				out.wrong = append(out.wrong, fmt.Sprintf("%s read nil for %q", id, key))
			}
		case errors.As(err, &de):
			out.deadline++
			if kind != 1 || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(de.Error(), "caller") {
				out.wrong = append(out.wrong, fmt.Sprintf("%s (kind %d) got %v", id, kind, err))
			}
		case errors.Is(err, context.Canceled):
			out.canceled++
			if !selfCancelled.Load() {
				out.wrong = append(out.wrong, fmt.Sprintf("%s (kind %d), not cancelled, got %v", id, kind, err))
			}
		default:
			out.other++
			if !stopped.Load() {
				out.wrong = append(out.wrong, fmt.Sprintf("%s (kind %d) got %v", id, kind, err))
			}
		}
	}

	var wg sync.WaitGroup
	load := func(rounds int) {
		for _, c := range clients {
			for g := range 12 {
				wg.Go(func() {
					for i := range rounds {
						read(c, g, i)
					}
				})
			}
		}
	}
	load(150)
	wg.Wait()

	// Stopped for a while, under load: the calls of the short deadlines
	// and the cancelled are abandoned, their replies read later.
	stopped.Store(true)
	srv.Pause()
	load(10)
	// The outage lasts 100 ms (a duration, not a wait for anything).
	<-time.After(100 * time.Millisecond)
	srv.Resume()
	wg.Wait()
	// Their connections closed, under load.
	load(60)
	killConns(t, admin)
	wg.Wait()
	stopped.Store(false)
	load(60)
	wg.Wait()

	if w, _ := dialWrong.Load().(string); w != "" {
		wrong("%s", w)
	}
	t.Logf("ok %d, cancelled %d, deadline %d, other (server stopped or connections closed) %d", out.ok, out.canceled, out.deadline, out.other)
	for _, w := range out.wrong {
		t.Error(w)
	}
}

// TestAttackViewsWaitersOfOneFetch: callers with long deadlines wait for
// one fetch that another caller started and cancels while the server is
// stopped; they must not be ended by that cancellation, and must read
// the value once the server answers.
func TestAttackViewsWaitersOfOneFetch(t *testing.T) {
	srv := redistest.Start(t)
	for _, c := range viewParts(t, srv) {
		for round := range 2 {
			key := fmt.Sprintf("one:%d", round)
			if err := c.Do(context.Background(), c.B().Set().Key(key).Value("v").Build()).Error(); err != nil {
				t.Fatal(err)
			}
			srv.Pause()
			first, cancelFirst := context.WithTimeout(context.Background(), time.Minute)
			firstDone := make(chan error, 1)
			go func() { firstDone <- c.DoCache(first, c.B().Get().Key(key).Cache(), time.Minute).Error() }()
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			started := make(chan struct{}, 8)
			for range 8 {
				wg.Go(func() {
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					defer cancel()
					started <- struct{}{}
					v, err := c.DoCache(ctx, c.B().Get().Key(key).Cache(), time.Minute).ToString()
					if err == nil && v != "v" {
						err = fmt.Errorf("read %q", v)
					}
					errs <- err
				})
			}
			for range 8 {
				<-started
			}
			// Waiters that come after the cancellation fetch again, once
			// the server answers: they too must read the value.
			cancelFirst()
			if err := <-firstDone; !errors.Is(err, context.Canceled) {
				t.Errorf("%s: the cancelled fetch got %v; want context.Canceled", c.Namespace(), err)
			}
			srv.Resume()
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Errorf("%s round %d: a waiter with a live context got %v", c.Namespace(), round, err)
				}
			}
		}
	}
}

// TestAttackViewsBrokenAndOwnContexts: contexts that break the contract
// (Done closed, Err nil) and contexts with a Done of their own, under a
// deadline, read as before views were recycled: a broken one fails a miss
// with context.Canceled (and sends nothing) and, as rueidis does for any
// ended context, is served a hit; one of its own reads, and once its Done
// is closed fails a miss with context.Canceled.
func TestAttackViewsBrokenAndOwnContexts(t *testing.T) {
	srv := redistest.Start(t)
	for _, c := range viewParts(t, srv) {
		// Every pipeline of the connection dialled first, under no deadline:
		// the first read on one dials under its caller's context
		// (TestAttackViewsFirstReadsUnderOwnDoneContext).
		for i := range 50 {
			for _, key := range []string{fmt.Sprintf("b:%d", i), fmt.Sprintf("b:%d:miss", i)} {
				if err := c.DoCache(context.Background(), c.B().Get().Key(key).Cache(), time.Millisecond).Error(); !rueidis.IsRedisNil(err) {
					t.Fatal(err)
				}
			}
		}
		base, cancel := context.WithTimeout(context.WithValue(context.Background(), ctxKey{}, "x"), time.Minute)
		for i := range 50 {
			key := fmt.Sprintf("b:%d", i)
			if err := c.Do(context.Background(), c.B().Set().Key(key).Value(key).Build()).Error(); err != nil {
				t.Fatal(err)
			}
			get := func(ctx context.Context, key string) (string, error) {
				return c.DoCache(ctx, c.B().Get().Key(key).Cache(), time.Minute).ToString()
			}
			if _, err := get(brokenDone{base}, key); !errors.Is(err, context.Canceled) {
				t.Errorf("%s: a broken context's miss read %v; want context.Canceled", c.Namespace(), err)
			}
			o, end := newOwnDone(base)
			if v, err := get(o, key); err != nil || v != key {
				t.Errorf("%s: a context of its own read %q, %v", c.Namespace(), v, err)
			}
			end()
			if _, err := get(o, key+":miss"); !errors.Is(err, context.Canceled) {
				t.Errorf("%s: a context of its own, ended, read a miss: %v; want context.Canceled", c.Namespace(), err)
			}
			for _, ctx := range []context.Context{o, brokenDone{base}} {
				if v, err := get(ctx, key); err != nil || v != key {
					t.Errorf("%s: an ended context read a hit: %q, %v", c.Namespace(), v, err)
				}
			}
		}
		cancel()
	}
}

// TestAttackViewsCluster: on a cluster, cached reads of many slots
// through a part over raw rueidis, the registry's part and their nodes,
// under deadlines of every length, with DoMultiCache alongside; no view is
// used after its call.
