package counted_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/counted"
	"github.com/wireredis/wireredis/internal/testsupport"
	"github.com/wireredis/wireredis/redistest"
)

// batching returns a batching client over a new connection to srv.
func batching(t *testing.T, srv *redistest.Server) (*counted.Client, *counted.Counters) {
	t.Helper()
	n := new(counted.Counters)
	return counted.New(srv.NewClient(t, nil), n, true), n
}

// load keeps workers goroutines sending GETs through c until the returned
// func is called (which waits for them), so that other commands find
// company and are batched. It reports the GETs done so far.
func load(t *testing.T, c rueidis.Client, workers int) (done func() int64, stop func()) {
	t.Helper()
	quit := make(chan struct{})
	var wg sync.WaitGroup
	var ops atomic.Int64
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := "load" + strconv.Itoa(w)
			for {
				select {
				case <-quit:
					return
				default:
				}
				if err := c.Do(context.Background(), c.B().Get().Key(key).Build()).Error(); err != nil && !rueidis.IsRedisNil(err) {
					t.Errorf("a GET of the load: %v", err)
					return
				}
				ops.Add(1)
			}
		}()
	}
	var once sync.Once
	return ops.Load, func() { once.Do(func() { close(quit); wg.Wait() }) }
}

// checkBatchStats checks that the histogram adds up to the batches sent.
func checkBatchStats(t *testing.T, n *counted.Counters) counted.BatchStats {
	t.Helper()
	s := n.Batches()
	var sum int64
	for _, v := range s.Sizes {
		sum += v
	}
	if sum != s.Batches {
		t.Errorf("the histogram holds %d batches, Batches says %d", sum, s.Batches)
	}
	if s.Commands < 2*s.Batches {
		t.Errorf("%d commands in %d batches: a batch has two or more", s.Commands, s.Batches)
	}
	return s
}

// TestBatchEveryCallerGetsItsOwnReply: 64 goroutines write, read and
// increment keys of their own through one batching connection, with a
// command that fails now and then; each caller gets its own reply or
// error, and the commands were batched.
func TestBatchEveryCallerGetsItsOwnReply(t *testing.T) {
	srv := redistest.Start(t)
	c, n := batching(t, srv)
	ctx := context.Background()
	const workers, rounds = 64, 150
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key, counter := "k"+strconv.Itoa(w), "n"+strconv.Itoa(w)
			for i := range rounds {
				value := strconv.Itoa(w) + "-" + strconv.Itoa(i)
				if err := c.Do(ctx, c.B().Set().Key(key).Value(value).Build()).Error(); err != nil {
					t.Errorf("SET %s: %v", key, err)
					return
				}
				if got, err := c.Do(ctx, c.B().Get().Key(key).Build()).ToString(); err != nil || got != value {
					t.Errorf("GET %s = %q, %v; want %q", key, got, err, value)
					return
				}
				if got, err := c.Do(ctx, c.B().Incr().Key(counter).Build()).AsInt64(); err != nil || got != int64(i+1) {
					t.Errorf("INCR %s = %d, %v; want %d", counter, got, err, i+1)
					return
				}
				if i%10 == 0 { // not an integer: this caller's error, nobody else's
					if err := c.Do(ctx, c.B().Incr().Key(key).Build()).Error(); err == nil || !strings.Contains(err.Error(), "not an integer") {
						t.Errorf("INCR of a string: %v, want its own error", err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	want := int64(workers * (rounds*3 + rounds/10))
	if n.Sent() != want || n.Failed() != int64(workers*rounds/10) || n.InFlight() != 0 {
		t.Errorf("Sent %d, Failed %d, InFlight %d; want %d, %d, 0", n.Sent(), n.Failed(), n.InFlight(), want, workers*rounds/10)
	}
	s := checkBatchStats(t, n)
	if s.Batches == 0 {
		t.Fatal("64 goroutines sent no batch: the test did not test batching")
	}
	t.Logf("%d commands, %d of them in %d batches; sizes %v (bounds %v)", n.Sent(), s.Commands, s.Batches, s.Sizes, counted.BatchSizeBounds)
}

// TestBatchFewGoStraight: the commands of one goroutine, or of eight,
// are never batched.
func TestBatchFewGoStraight(t *testing.T) {
	srv := redistest.Start(t)
	c, n := batching(t, srv)
	for _, goroutines := range []int{1, 8} {
		var wg sync.WaitGroup
		for range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 200 {
					if err := c.Do(context.Background(), c.B().Incr().Key("n").Build()).Error(); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if s := n.Batches(); s.Batches != 0 {
			t.Errorf("%d goroutines' commands went in %d batches", goroutines, s.Batches)
		}
	}
}

// TestBatchDeadlineIsEachCallersOwn: while the server is paused, callers
// with a short deadline and callers without one wait in the same batches;
// the first get their deadline's error at once, the others their replies
// when the server resumes (a batch sent with one caller's context would
// fail them all).
func TestBatchDeadlineIsEachCallersOwn(t *testing.T) {
	srv := redistest.Start(t)
	// One pipe, so that the blocked GETs below keep it busy. On an idle
	// pipe rueidis sends a command with a deadline synchronously and closes
	// the connection when the deadline passes; the callers after it then
	// wait for a new connection, whose handshake the pause holds, whatever
	// their deadline (rueidis's own behaviour, batched or not).
	n := new(counted.Counters)
	c := counted.New(srv.NewClient(t, func(o *rueidis.ClientOption) { o.PipelineMultiplex = -1 }), n, true)
	ctx := context.Background()
	if err := c.Do(ctx, c.B().Set().Key("k").Value("v").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	const pause = 1500 * time.Millisecond
	if err := srv.Client.Do(ctx, srv.Client.B().ClientPause().Timeout(pause.Milliseconds()).All().Build()).Error(); err != nil {
		t.Fatal(err)
	}
	paused := time.Now()
	// minLoad calls without a deadline go straight to rueidis and wait:
	// the callers after them are batched.
	var blockers sync.WaitGroup
	for range 16 {
		blockers.Add(1)
		go func() {
			defer blockers.Done()
			if err := c.Do(ctx, c.B().Get().Key("k").Build()).Error(); err != nil {
				t.Errorf("a GET without a deadline: %v", err)
			}
		}()
	}
	defer blockers.Wait()
	testsupport.WaitFor(t, 20*time.Second, "16 commands in flight", func() bool { return n.InFlight() >= 16 })
	const callers = 64
	type outcome struct {
		timed   bool
		value   string
		err     error
		elapsed time.Duration
	}
	out := make(chan outcome, callers)
	start := make(chan struct{})
	for i := range callers {
		go func() {
			<-start
			cctx, timed := ctx, i%2 == 0
			if timed {
				var cancel context.CancelFunc
				cctx, cancel = context.WithTimeout(ctx, 100*time.Millisecond)
				defer cancel()
			}
			began := time.Now()
			v, err := c.Do(cctx, c.B().Get().Key("k").Build()).ToString()
			out <- outcome{timed, v, err, time.Since(began)}
		}()
	}
	close(start)
	for range callers {
		o := <-out
		switch {
		case o.timed && (!errors.Is(o.err, context.DeadlineExceeded) || o.elapsed > 600*time.Millisecond):
			t.Errorf("a caller with a 100ms deadline: %q, %v after %s; want its deadline's error at once", o.value, o.err, o.elapsed)
		case !o.timed && (o.err != nil || o.value != "v"):
			t.Errorf("a caller without a deadline: %q, %v; want \"v\" (a batch-mate's deadline must not fail it)", o.value, o.err)
		case !o.timed && time.Since(paused) < pause-100*time.Millisecond:
			t.Errorf("a caller without a deadline had its reply %s into a %s pause", time.Since(paused), pause)
		}
	}
	s := checkBatchStats(t, n)
	if s.Commands < callers/2 {
		t.Errorf("%d of the %d concurrent GETs were batched, want most", s.Commands, callers)
	}
	// The abandoned commands are counted in flight until the server
	// answers them.
	testsupport.WaitFor(t, 5*time.Second, "nothing in flight after the pause", func() bool { return n.InFlight() == 0 })
	t.Logf("%d batches, %d commands", s.Batches, s.Commands)
}

// TestBatchContextAlreadyOver: a command whose context has ended is not
// sent, batched or not.
func TestBatchContextAlreadyOver(t *testing.T) {
	srv := redistest.Start(t)
	c, _ := batching(t, srv)
	_, stop := load(t, c, 32)
	defer stop()
	over, cancel := context.WithCancel(context.Background())
	cancel()
	for i := range 200 {
		if err := c.Do(over, c.B().Set().Key("never"+strconv.Itoa(i)).Value("x").Build()).Error(); !errors.Is(err, context.Canceled) {
			t.Fatalf("a SET with its context over: %v, want context.Canceled", err)
		}
	}
	stop()
	if n, err := srv.Client.Do(context.Background(), srv.Client.B().Dbsize().Build()).AsInt64(); err != nil || n != 0 {
		t.Errorf("DBSIZE = %d, %v: a command whose context was over reached the server", n, err)
	}
}

// TestBatchBlockingCommandsKeepTheirConnection: under load, BLPOP and WAIT
// go to rueidis's blocking pool: while they block, the GETs of the load go
// on (in a batch on the shared pipeline they would all wait for them).
func TestBatchBlockingCommandsKeepTheirConnection(t *testing.T) {
	srv := redistest.Start(t)
	c, n := batching(t, srv)
	ctx := context.Background()
	done, stop := load(t, c, 32)
	defer stop()
	for _, tc := range []struct {
		name  string
		cmd   rueidis.Completed
		check func(rueidis.RedisResult) error
	}{
		{"BLPOP", c.B().Blpop().Key("queue").Timeout(5).Build(), func(r rueidis.RedisResult) error {
			if kv, err := r.AsStrSlice(); err != nil || len(kv) != 2 || kv[1] != "job" {
				return fmt.Errorf("BLPOP = %v, %w; want [queue job]", kv, err)
			}
			return nil
		}},
		{"WAIT", c.B().Wait().Numreplicas(1).Timeout(700).Build(), func(r rueidis.RedisResult) error {
			if v, err := r.AsInt64(); err != nil || v != 0 {
				return fmt.Errorf("WAIT = %d, %w; want 0 replicas", v, err)
			}
			return nil
		}},
	} {
		result := make(chan rueidis.RedisResult, 1)
		go func() { result <- c.Do(ctx, tc.cmd) }()
		// While it blocks, the load goes on.
		before := done()
		testsupport.WaitFor(t, 3*time.Second, "500 GETs of the load while "+tc.name+" blocks", func() bool {
			select {
			case r := <-result:
				t.Fatalf("%s returned before the load went on: %v", tc.name, r.Error())
			default:
			}
			return done() >= before+500
		})
		if tc.name == "BLPOP" {
			if err := srv.Client.Do(ctx, srv.Client.B().Rpush().Key("queue").Element("job").Build()).Error(); err != nil {
				t.Fatal(err)
			}
		}
		if err := tc.check(<-result); err != nil {
			t.Error(err)
		}
	}
	stop()
	checkBatchStats(t, n)
	if n.Batches().Batches == 0 {
		t.Error("the load sent no batch: the test did not test batching")
	}
}

// TestBatchOtherPathsUnderLoad: DoCache, DoMulti, DoStream, Dedicated and
// Receive keep rueidis's own paths while Do calls are batched.
func TestBatchOtherPathsUnderLoad(t *testing.T) {
	srv := redistest.Start(t)
	c, n := batching(t, srv)
	ctx := context.Background()
	_, stop := load(t, c, 32)
	defer stop()
	if err := c.Do(ctx, c.B().Set().Key("cached").Value("v").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	c.DoCache(ctx, c.B().Get().Key("cached").Cache(), time.Minute)
	if r := c.DoCache(ctx, c.B().Get().Key("cached").Cache(), time.Minute); r.Error() != nil || !r.IsCacheHit() {
		t.Errorf("the second DoCache: %v, cache hit %v; want a hit", r.Error(), r.IsCacheHit())
	}
	rs := c.DoMulti(ctx, c.B().Set().Key("m").Value("1").Build(), c.B().Incr().Key("m").Build(), c.B().Get().Key("m").Build())
	if v, err := rs[2].ToString(); len(rs) != 3 || err != nil || v != "2" {
		t.Errorf("DoMulti SET, INCR, GET: %v, %v; want \"2\" last", v, err)
	}
	var buf bytes.Buffer
	stream := c.DoStream(ctx, c.B().Get().Key("cached").Build())
	if _, err := stream.WriteTo(&buf); err != nil || buf.String() != "v" {
		t.Errorf("DoStream GET = %q, %v", buf.String(), err)
	}
	err := c.Dedicated(func(d rueidis.DedicatedClient) error {
		rs := d.DoMulti(ctx, d.B().Watch().Key("m").Build(), d.B().Multi().Build(), d.B().Incr().Key("m").Build(), d.B().Exec().Build())
		for _, r := range rs {
			if err := r.Error(); err != nil {
				return err
			}
		}
		return nil
	})
	if v, _ := srv.Client.Do(ctx, srv.Client.B().Get().Key("m").Build()).ToString(); err != nil || v != "3" {
		t.Errorf("a WATCH/MULTI/EXEC on a dedicated connection: %v, m = %q; want 3", err, v)
	}
	got := make(chan string, 1)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	subscribed := make(chan struct{})
	go func() {
		_ = c.Receive(rueidis.WithOnSubscriptionHook(rctx, func(rueidis.PubSubSubscription) { close(subscribed) }), c.B().Subscribe().Channel("news").Build(), func(m rueidis.PubSubMessage) {
			got <- m.Message
			cancel()
		})
	}()
	<-subscribed
	if err := c.Do(ctx, c.B().Publish().Channel("news").Message("hello").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m != "hello" {
			t.Errorf("Receive got %q", m)
		}
	case <-time.After(5 * time.Second):
		t.Error("Receive got nothing within 5s")
	}
	stop()
	if n.Batches().Batches == 0 {
		t.Error("the load sent no batch: the test did not test batching")
	}
}

// TestBatchRetriesReadOnlyCommands: the server is killed and restarted
// while 32 goroutines read and write; rueidis retries the reads (their
// batches hold only retryable commands), so no GET fails, while writes
// caught by the outage fail as they do without batching.
func TestBatchRetriesReadOnlyCommands(t *testing.T) {
	srv := redistest.Start(t)
	c, n := batching(t, srv)
	ctx := context.Background()
	var reads, readErrs, writeErrs atomic.Int64
	quit := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := "k" + strconv.Itoa(w)
			for i := 0; ; i++ {
				select {
				case <-quit:
					return
				default:
				}
				if err := c.Do(ctx, c.B().Set().Key(key).Value(strconv.Itoa(i)).Build()).Error(); err != nil {
					writeErrs.Add(1)
				}
				if err := c.Do(ctx, c.B().Get().Key(key).Build()).Error(); err != nil && !rueidis.IsRedisNil(err) {
					readErrs.Add(1)
					t.Errorf("a GET failed: %v", err)
				}
				reads.Add(1)
			}
		}()
	}
	testsupport.WaitFor(t, 20*time.Second, "2000 reads", func() bool { return reads.Load() > 2000 })
	srv.Kill()
	// The goroutines may all be in a GET that rueidis retries until the
	// server is back (Redis 6.2.16 in make test-matrix): a write of the
	// test's own, with a deadline, shows the outage.
	testsupport.WaitFor(t, 20*time.Second, "a write to fail while the server is down", func() bool {
		ctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		if c.Do(ctx, c.B().Set().Key("probe").Value("x").Build()).Error() != nil {
			writeErrs.Add(1)
		}
		return writeErrs.Load() > 0
	})
	srv.Restart()
	after := reads.Load()
	testsupport.WaitFor(t, 20*time.Second, "2000 reads after the restart", func() bool { return reads.Load() > after+2000 })
	close(quit)
	wg.Wait()
	if readErrs.Load() != 0 {
		t.Errorf("%d GETs failed over the restart; rueidis retries them", readErrs.Load())
	}
	if n.Batches().Batches == 0 {
		t.Error("no batch was sent: the test did not test batching")
	}
	t.Logf("%d reads, %d writes failed during the outage, %d batches", reads.Load(), writeErrs.Load(), n.Batches().Batches)
}

// TestBatchOnACluster: on a three-primary cluster, batches are split by
// slot as rueidis splits a DoMulti: every key is read back, and no node
// answered MOVED. Commands without a key (PING) go alone.
func TestBatchOnACluster(t *testing.T) {
	cl := redistest.StartCluster(t, 3, 0)
	n := new(counted.Counters)
	raw, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: cl.Primaries()})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	c := counted.New(raw, n, true)
	ctx := context.Background()
	const workers, rounds = 48, 100
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				key := fmt.Sprintf("k%d:%d", w, i)
				if err := c.Do(ctx, c.B().Set().Key(key).Value(key).Build()).Error(); err != nil {
					t.Errorf("SET %s: %v", key, err)
					return
				}
				if got, err := c.Do(ctx, c.B().Get().Key(key).Build()).ToString(); err != nil || got != key {
					t.Errorf("GET %s = %q, %v", key, got, err)
					return
				}
				if i%10 == 0 {
					if err := c.Do(ctx, c.B().Ping().Build()).Error(); err != nil {
						t.Errorf("PING: %v", err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	var keys int64
	for _, addr := range cl.Primaries() {
		node := cl.Node(t, addr)
		k, err := node.Do(ctx, node.B().Dbsize().Build()).AsInt64()
		if err != nil {
			t.Fatal(err)
		}
		keys += k
		if k == 0 {
			t.Errorf("primary %s holds no key", addr)
		}
		if stats := cl.Info(t, addr, "errorstats"); strings.Contains(stats, "MOVED") || strings.Contains(stats, "CROSSSLOT") {
			t.Errorf("primary %s answered redirections: %s", addr, stats)
		}
	}
	if keys != workers*rounds {
		t.Errorf("the primaries hold %d keys, want %d", keys, workers*rounds)
	}
	if s := checkBatchStats(t, n); s.Batches == 0 {
		t.Error("no batch was sent: the test did not test batching")
	}
}

// TestBatchDrain: Drain in the middle of a batched write load waits for
// every batch in flight; every acknowledged write is on the server, and
// nothing is in flight when it returns.
func TestBatchDrain(t *testing.T) {
	srv := redistest.Start(t)
	c, n := batching(t, srv)
	ctx := context.Background()
	var acked sync.Map
	var wg sync.WaitGroup
	var sent atomic.Int64
	for w := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				key := fmt.Sprintf("w%d:%d", w, i)
				sent.Add(1)
				if err := c.Do(ctx, c.B().Set().Key(key).Value("v").Build()).Error(); err != nil {
					if !errors.Is(err, counted.ErrReleased) {
						t.Errorf("SET: %v, want ErrReleased after Drain", err)
					}
					return
				}
				acked.Store(key, true)
			}
		}()
	}
	testsupport.WaitFor(t, 20*time.Second, "3000 writes sent", func() bool { return sent.Load() > 3000 })
	if !n.Drain(5 * time.Second) {
		t.Fatal("Drain timed out")
	}
	if n.InFlight() != 0 {
		t.Errorf("InFlight = %d after Drain", n.InFlight())
	}
	wg.Wait()
	stored, err := srv.Client.Do(ctx, srv.Client.B().Keys().Pattern("w*").Build()).AsStrSlice()
	if err != nil {
		t.Fatal(err)
	}
	onServer := make(map[string]bool, len(stored))
	for _, k := range stored {
		onServer[k] = true
	}
	total, lost := 0, 0
	acked.Range(func(k, _ any) bool {
		total++
		if !onServer[k.(string)] {
			lost++
		}
		return true
	})
	if lost != 0 || total == 0 {
		t.Errorf("%d of %d acknowledged writes are not on the server", lost, total)
	}
	if n.Batches().Batches == 0 {
		t.Error("no batch was sent: the test did not test batching")
	}
}

// panicky is a real client that panics, as rueidis does on a command it
// cannot send (before sending anything), on every command that names the
// key "boom", and counts the batches it panicked on.
type panicky struct {
	rueidis.Client
	batchPanics atomic.Int64
}

func boom(cmd rueidis.Completed) bool { return slices.Contains(cmd.Commands(), "boom") }

func (p *panicky) Do(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	if boom(cmd) {
		panic("boom")
	}
	return p.Client.Do(ctx, cmd)
}

func (p *panicky) DoMulti(ctx context.Context, multi ...rueidis.Completed) []rueidis.RedisResult {
	if slices.ContainsFunc(multi, boom) {
		if len(multi) > 1 {
			p.batchPanics.Add(1)
		}
		panic("boom")
	}
	return p.Client.DoMulti(ctx, multi...)
}

func (p *panicky) DoCache(ctx context.Context, cmd rueidis.Cacheable, ttl time.Duration) rueidis.RedisResult {
	if slices.Contains(cmd.Commands(), "boom") {
		panic("boom")
	}
	return p.Client.DoCache(ctx, cmd, ttl)
}

func (p *panicky) DoMultiCache(ctx context.Context, multi ...rueidis.CacheableTTL) []rueidis.RedisResult {
	for _, ct := range multi {
		if slices.Contains(ct.Cmd.Commands(), "boom") {
			panic("boom")
		}
	}
	return p.Client.DoMultiCache(ctx, multi...)
}

// TestPanicsLeaveNothingInFlight: when rueidis panics on a command, the
// panic reaches the caller that sent it, as rueidis raises it; the command
// is counted finished and failed, so a graceful close does not wait for
// it; under load, the batch it was in is served all the same, and no
// panic ends the program from a batch's goroutine.
func TestPanicsLeaveNothingInFlight(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	raw := &panicky{Client: srv.NewClient(t, nil)}
	panics := func(f func()) (p any) {
		defer func() { p = recover() }()
		f()
		return nil
	}
	n := new(counted.Counters)
	c := counted.New(raw, n, true)
	for name, send := range map[string]func(){
		"Do":           func() { c.Do(ctx, c.B().Set().Key("boom").Value("v").Build()) },
		"DoMulti":      func() { c.DoMulti(ctx, c.B().Set().Key("boom").Value("v").Build()) },
		"DoCache":      func() { c.DoCache(ctx, c.B().Get().Key("boom").Cache(), time.Minute) },
		"DoMultiCache": func() { c.DoMultiCache(ctx, rueidis.CT(c.B().Get().Key("boom").Cache(), time.Minute)) },
	} {
		failedBefore := n.Failed()
		if p := panics(send); p != "boom" {
			t.Fatalf("%s: the panic reached its caller as %v, want boom", name, p)
		}
		if n.InFlight() != 0 || n.Failed() != failedBefore+1 {
			t.Errorf("after a panic in %s: InFlight %d, Failed +%d; want 0, +1", name, n.InFlight(), n.Failed()-failedBefore)
		}
	}

	// Under load, so that the commands that panic are batched with
	// others' (the load's GETs check their own replies).
	ops, stop := load(t, c, 64)
	defer stop()
	testsupport.WaitFor(t, 10*time.Second, "the load to get going", func() bool { return ops() > 1000 })
	var wg sync.WaitGroup
	var panicked atomic.Int64
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if panics(func() { c.Do(ctx, c.B().Set().Key("boom").Value("v").Build()) }) == "boom" {
				panicked.Add(1)
			}
		}()
	}
	wg.Wait()
	stop()
	if panicked.Load() != 200 {
		t.Errorf("%d of 200 callers saw their command's panic", panicked.Load())
	}
	if raw.batchPanics.Load() == 0 {
		t.Error("no batch held a command that panics: the test did not test batches")
	}
	if n.InFlight() != 0 {
		t.Errorf("InFlight %d after every caller returned, want 0", n.InFlight())
	}
	if !n.Drain(time.Second) {
		t.Error("Drain waited for commands that had panicked")
	}
}
