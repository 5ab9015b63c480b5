package feature_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/redis/rueidis/mock"
	"go.uber.org/mock/gomock"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/internal/testsupport"
	"github.com/wireredis/wireredis/redistest"
)

// TestViewsAreNotUsedAfterTheirCall: a cached read under its caller's
// deadline lends rueidis a recycled view of the caller's context
// (views.go), which is safe only while nothing uses a view once its call
// has returned. Here each view is kept apart after its call, holding an
// ended context that counts each use, and two parts (one over raw
// rueidis, one the registry's) read every way rueidis answers a cached
// read: hits, misses, many callers on one fetch, callers whose deadline
// passes while the server is stopped (rueidis abandons those calls and
// reads their replies later), and a server killed and restarted under
// load. Once the connections are closed, no view may have been used.
func TestViewsAreNotUsedAfterTheirCall(t *testing.T) {
	srv := redistest.Start(t)
	raw := srv.NewClient(t, nil)
	reg, base := parts(t, "REDIS_URL="+srv.URL())
	session, release, err := feature.ProvideSessionRedis(context.Background(), reg, base)
	if err != nil {
		t.Fatal(err)
	}
	clients := []*feature.Client{feature.New(raw, "views"), session.Client}
	for _, c := range clients {
		if !feature.LendsViews(c) {
			t.Fatalf("part %s over %T does not recycle its views", c.Namespace(), c)
		}
		feature.KeepViews(c)
	}
	before := feature.LateViewUses()

	// read runs n goroutines per part, each making reads DoCache calls of
	// key(goroutine, read), each under a deadline of within.
	read := func(n, reads int, within time.Duration, key func(g, i int) string) (failed int) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, c := range clients {
			for g := range n {
				wg.Go(func() {
					for i := range reads {
						ctx, cancel := context.WithTimeout(context.Background(), within)
						err := c.DoCache(ctx, c.B().Get().Key(key(g, i)).Cache(), time.Minute).Error()
						cancel()
						if err != nil && !rueidis.IsRedisNil(err) {
							mu.Lock()
							failed++
							mu.Unlock()
						}
					}
				})
			}
		}
		wg.Wait()
		return failed
	}
	hot := func(int, int) string { return "hot" }
	if failed := read(8, 200, time.Minute, hot); failed != 0 {
		t.Fatalf("hits: %d reads failed", failed)
	}
	if failed := read(8, 100, time.Minute, func(g, i int) string { return fmt.Sprintf("miss:%d:%d", g, i) }); failed != 0 {
		t.Fatalf("misses: %d reads failed", failed)
	}
	if failed := read(16, 20, time.Minute, func(_, i int) string { return fmt.Sprintf("flight:%d", i) }); failed != 0 {
		t.Fatalf("one fetch, many callers: %d reads failed", failed)
	}

	// Stopped: every read's deadline passes with its command sent.
	srv.Pause()
	stopped := func(g, i int) string { return fmt.Sprintf("stopped:%d:%d", g, i) }
	if failed := read(8, 2, 50*time.Millisecond, stopped); failed != 16*2 {
		srv.Resume()
		t.Fatalf("with the server stopped %d of %d reads failed", failed, 16*2)
	}
	srv.Resume()
	for _, c := range clients { // the abandoned replies have been read
		testsupport.WaitFor(t, 20*time.Second, "the abandoned reads' replies", func() bool {
			r := c.DoCache(context.Background(), c.B().Get().Key(stopped(7, 1)).Cache(), time.Minute)
			return r.IsCacheHit()
		})
	}

	// Killed under load, then restarted.
	var wg sync.WaitGroup
	wg.Go(func() {
		read(8, 5, 200*time.Millisecond, func(g, i int) string { return fmt.Sprintf("killed:%d:%d", g, i) })
	})
	srv.Kill()
	wg.Wait()
	srv.Restart()
	for _, c := range clients {
		testsupport.WaitFor(t, 20*time.Second, "reads after the restart", func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			err := c.DoCache(ctx, c.B().Get().Key("again").Cache(), time.Minute).Error()
			return rueidis.IsRedisNil(err)
		})
	}

	release()
	raw.Close()
	if n := feature.LateViewUses() - before; n != 0 {
		t.Errorf("views were used %d times after their calls returned", n)
	}
}

// keeper is a client of the caller's own that keeps each cached read's
// context, as a wrapper logging later might.
type keeper struct {
	rueidis.Client
	mu   sync.Mutex
	kept []context.Context
}

func (k *keeper) DoCache(ctx context.Context, cmd rueidis.Cacheable, ttl time.Duration) rueidis.RedisResult {
	k.mu.Lock()
	k.kept = append(k.kept, ctx)
	k.mu.Unlock()
	return k.Client.DoCache(ctx, cmd, ttl)
}

func (k *keeper) last() context.Context {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.kept[len(k.kept)-1]
}

// TestViewsOfAClientOfYourOwn: a client the part does not know may keep
// a call's context, so it gets a view of its own, which goes on showing
// its caller's context after the call. The test also shows that a view
// recycled there would be seen ending, and counted.
func TestViewsOfAClientOfYourOwn(t *testing.T) {
	srv := redistest.Start(t)
	own := &keeper{Client: srv.NewClient(t, nil)}
	part := feature.New(own, "own")
	if feature.LendsViews(part) {
		t.Fatal("a part over a client of the caller's own recycles its views")
	}
	mocked := mock.NewClient(gomock.NewController(t))
	mocked.EXPECT().Mode().Return(rueidis.ClientModeStandalone).AnyTimes()
	if feature.LendsViews(feature.New(mocked, "mocked")) {
		t.Error("a part over rueidis's mock client recycles its views")
	}
	caller, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := part.DoCache(caller, part.B().Get().Key("k").Cache(), time.Minute).Error(); !rueidis.IsRedisNil(err) {
		t.Fatal(err)
	}
	if kept := own.last(); kept.Err() != nil || kept.Done() != caller.Done() {
		t.Errorf("after the call the client's context has Err %v and Done %v; want the caller's (nil, %v)", kept.Err(), kept.Done(), caller.Done())
	}

	feature.LendViews(part)
	feature.KeepViews(part)
	before := feature.LateViewUses()
	if err := part.DoCache(caller, part.B().Get().Key("k").Cache(), time.Minute).Error(); !rueidis.IsRedisNil(err) {
		t.Fatal(err)
	}
	if err := own.last().Err(); err == nil {
		t.Error("a recycled view, used after its call, reads as live")
	}
	if n := feature.LateViewUses() - before; n != 1 {
		t.Errorf("a late use of a recycled view counted %d times; want 1", n)
	}
}
