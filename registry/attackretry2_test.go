package registry_test

// More attacks on the promise that, when connections drop under full
// load, rueidis's writer goroutine never reads a command the caller
// already reuses (rueidisx.MarkRetried, Hold, Recycle): a cluster with
// every node's connections killed, a fake server that drops connections
// in the middle of replies and pipelines, and callers whose contexts end
// while their batched command is retried.

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/redistest"
)

// acquireAddrs is acquire for a cluster (REDIS_ADDRS).
func acquireAddrs(t *testing.T, addrs []string, env ...string) rueidis.Client {
	t.Helper()
	reg, _ := newRegistry(t)
	c, release, err := reg.Acquire(context.Background(), load(t, "session", append([]string{"REDIS_ADDRS=" + strings.Join(addrs, ",")}, env...)...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	return c
}

// killAllEvery kills every normal connection of every node, each period.
func killAllEvery(ctx context.Context, nodes []rueidis.Client, period time.Duration) int64 {
	var n int64
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return n
		case <-tick.C:
		}
		for _, a := range nodes {
			if err := a.Do(ctx, a.B().Arbitrary("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes").Build()).Error(); err == nil {
				n++
			}
		}
	}
}

// TestAttackRetry2ClusterKilledUnderFullLoad: a 3-primary cluster whose
// every node's connections are killed every 2 ms, while goroutines with
// keys of their own (in different slots) read and write them with Do,
// DoMulti across slots, DoCache and DoMultiCache. Every reply must be
// the caller's own key's value; -race must report nothing.
func TestAttackRetry2ClusterKilledUnderFullLoad(t *testing.T) {
	cluster := redistest.StartCluster(t, 3, 0)
	var nodes []rueidis.Client
	for _, addr := range cluster.Addrs {
		nodes = append(nodes, cluster.Node(t, addr))
	}
	for _, proto := range []string{"3", "2"} {
		for _, batch := range []string{"adaptive", "off"} {
			t.Run("RESP"+proto+"/batch="+batch, func(t *testing.T) {
				c := acquireAddrs(t, cluster.Addrs, "REDIS_PROTOCOL="+proto, "REDIS_BATCH="+batch)
				clusterLoad(t, nodes, c, "c"+proto+batch, 48, 2500*time.Millisecond)
			})
		}
	}
}

func clusterLoad(t *testing.T, nodes []rueidis.Client, c rueidis.Client, prefix string, workers int, d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	var kills atomic.Int64
	wg.Go(func() { kills.Store(killAllEvery(ctx, nodes, 2*time.Millisecond)) })
	var reads, errs, bad atomic.Int64
	report := func(format string, args ...any) {
		if bad.Add(1) <= 10 {
			t.Errorf(format, args...)
		}
	}
	for g := range workers {
		wg.Go(func() {
			// Keys without a hash tag: three slots, mostly on three nodes.
			keys := []string{fmt.Sprintf("%s:%d:a", prefix, g), fmt.Sprintf("%s:%d:b", prefix, g), fmt.Sprintf("%s:%d:c", prefix, g)}
			check := func(how string, i int, r rueidis.RedisResult) {
				v, err := r.ToString()
				if err != nil {
					if _, isRedis := rueidis.IsRedisErr(err); isRedis && !rueidis.IsRedisNil(err) && !strings.HasPrefix(err.Error(), "CLUSTERDOWN") && !strings.HasPrefix(err.Error(), "TRYAGAIN") {
						report("%s %s: a Redis error: %v", how, keys[i], err)
					}
					errs.Add(1)
					return
				}
				reads.Add(1)
				if !strings.HasPrefix(v, keys[i]+"=") {
					report("%s %s = %q: not its own", how, keys[i], v)
				}
			}
			for n := 0; ctx.Err() == nil; n++ {
				i := n % 3
				if err := c.Do(ctx, c.B().Set().Key(keys[i]).Value(fmt.Sprintf("%s=%d", keys[i], n)).Build()).Error(); err != nil {
					errs.Add(1)
				}
				check("Do GET", i, c.Do(ctx, c.B().Get().Key(keys[i]).Build()))
				rs := c.DoMulti(ctx, c.B().Get().Key(keys[0]).Build(), c.B().Get().Key(keys[1]).Build(), c.B().Get().Key(keys[2]).Build())
				for j := range rs {
					check("DoMulti GET", j, rs[j])
				}
				rs = c.DoMulti(ctx, c.B().Set().Key(keys[i]).Value(fmt.Sprintf("%s=m%d", keys[i], n)).Build(), c.B().Get().Key(keys[(i+1)%3]).Build(), c.B().Get().Key(keys[i]).Build())
				check("DoMulti SET,GET,GET", (i+1)%3, rs[1])
				if rs[0].Error() == nil {
					check("DoMulti SET,GET,GET", i, rs[2])
				}
				check("DoCache GET", i, c.DoCache(ctx, c.B().Get().Key(keys[i]).Cache(), time.Minute))
				rs = c.DoMultiCache(ctx,
					rueidis.CT(c.B().Get().Key(keys[0]).Cache(), time.Minute),
					rueidis.CT(c.B().Get().Key(keys[1]).Cache(), time.Minute),
					rueidis.CT(c.B().Get().Key(keys[2]).Cache(), time.Minute))
				for j := range rs {
					check("DoMultiCache GET", j, rs[j])
				}
			}
		})
	}
	wg.Wait()
	if reads.Load() == 0 || kills.Load() == 0 {
		t.Fatalf("%d reads, %d kills: the load did not run", reads.Load(), kills.Load())
	}
	t.Logf("%d reads checked, %d failed calls, %d kills", reads.Load(), errs.Load(), kills.Load())
}

// dropper is a fake server's answers that break connections in the
// middle of replies and pipelines: every GET (or EXEC) is answered with
// the value "v:"+key, but at random one in every about 200 is answered
// halfway and the connection closed, and one in every about 200 closes
// the connection without an answer (the commands pipelined after it, on
// the client's side, are then retried on a new connection).
type dropper struct {
	n     atomic.Int64
	drops atomic.Int64
	mu    sync.Mutex
	multi map[net.Conn][]string // the keys of GETs queued inside MULTI
}

func bulkOf(s string) string { return "$" + strconv.Itoa(len(s)) + "\r\n" + s + "\r\n" }

func (d *dropper) answer(c net.Conn, args []string) bool {
	d.mu.Lock()
	queued, inMulti := d.multi[c]
	d.mu.Unlock()
	name := strings.ToUpper(args[0])
	switch name {
	case "MULTI":
		d.mu.Lock()
		d.multi[c] = []string{}
		d.mu.Unlock()
		return write(c, "+OK\r\n")
	case "PTTL":
		if inMulti {
			return write(c, "+QUEUED\r\n")
		}
		return write(c, ":-1\r\n")
	case "GET":
		if inMulti {
			d.mu.Lock()
			d.multi[c] = append(queued, args[1])
			d.mu.Unlock()
			return write(c, "+QUEUED\r\n")
		}
	case "EXEC":
		d.mu.Lock()
		delete(d.multi, c)
		d.mu.Unlock()
	default:
		return false
	}
	var reply string
	if name == "GET" {
		reply = bulkOf("v:" + args[1])
	} else {
		reply = "*" + strconv.Itoa(1+len(queued)) + "\r\n:-1\r\n"
		for _, k := range queued {
			reply += bulkOf("v:" + k)
		}
	}
	switch n := d.n.Add(1); {
	case n%211 == 7: // half a reply, then the connection ends
		d.drops.Add(1)
		_, _ = c.Write([]byte(reply[:len(reply)/2]))
		_ = c.Close()
		return true
	case n%223 == 11: // no reply, and the connection ends
		d.drops.Add(1)
		_ = c.Close()
		return true
	}
	return write(c, reply)
}

// TestAttackRetry2FakeServerDropsMidReply: goroutines with keys of their
// own read them (Do, DoMulti, DoCache, DoMultiCache) from a fake server
// that breaks connections halfway through a reply, or after answering
// part of a pipeline; with the batching of concurrent Do calls on and
// off, and a quarter of the callers with contexts that end within a
// millisecond or two, while their batched command may be being retried.
// Every reply must be the caller's own; -race must report nothing.
func TestAttackRetry2FakeServerDropsMidReply(t *testing.T) {
	for _, batch := range []string{"adaptive", "off"} {
		for _, mux := range []string{"0", "-1"} {
			t.Run("batch="+batch+"/multiplex="+mux, func(t *testing.T) {
				d := &dropper{multi: map[net.Conn][]string{}}
				addr := attackServer(t, d.answer)
				_, c := acquire(t, addr, "REDIS_PROTOCOL=3", "REDIS_BATCH="+batch, "REDIS_PIPELINE_MULTIPLEX="+mux)
				ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
				defer cancel()
				var wg sync.WaitGroup
				var reads, errs, bad, longErrs atomic.Int64
				report := func(format string, args ...any) {
					if bad.Add(1) <= 10 {
						t.Errorf(format, args...)
					}
				}
				for g := range 64 {
					wg.Go(func() {
						short := g%4 == 0
						check := func(how, key string, r rueidis.RedisResult) {
							v, err := r.ToString()
							if err != nil {
								if _, isRedis := rueidis.IsRedisErr(err); isRedis {
									report("%s %s: a Redis error: %v", how, key, err)
								}
								errs.Add(1)
								if !short {
									longErrs.Add(1)
									if longErrs.Load() <= 3 {
										t.Logf("%s %s: %v", how, key, err)
									}
								}
								return
							}
							reads.Add(1)
							if v != "v:"+key {
								report("%s %s = %q: not its own", how, key, v)
							}
						}
						for n := 0; ctx.Err() == nil; n++ {
							cctx, ccancel := ctx, context.CancelFunc(func() {})
							if short {
								cctx, ccancel = context.WithTimeout(ctx, time.Duration(n%4)*500*time.Microsecond+300*time.Microsecond)
							}
							k := fmt.Sprintf("k%d:%d", g, n)
							check("Do GET", k, c.Do(cctx, c.B().Get().Key(k).Build()))
							ks := []string{k + "a", k + "b", k + "c"}
							rs := c.DoMulti(cctx, c.B().Get().Key(ks[0]).Build(), c.B().Get().Key(ks[1]).Build(), c.B().Get().Key(ks[2]).Build())
							for j := range rs {
								check("DoMulti GET", ks[j], rs[j])
							}
							check("DoCache GET", k+"d", c.DoCache(cctx, c.B().Get().Key(k+"d").Cache(), time.Minute))
							rs = c.DoMultiCache(cctx,
								rueidis.CT(c.B().Get().Key(ks[0]+"e").Cache(), time.Minute),
								rueidis.CT(c.B().Get().Key(ks[1]+"e").Cache(), time.Minute))
							for j := range rs {
								check("DoMultiCache GET", ks[j]+"e", rs[j])
							}
							ccancel()
						}
					})
				}
				wg.Wait()
				if reads.Load() == 0 || d.drops.Load() == 0 {
					t.Fatalf("%d reads, %d drops: the load did not run", reads.Load(), d.drops.Load())
				}
				t.Logf("%d reads checked, %d failed calls (%d with a long context), %d drops", reads.Load(), errs.Load(), longErrs.Load(), d.drops.Load())
			})
		}
	}
}

// TestAttackRetry2DedicatedMultiLoadingForeign: rueidis's dedicated
// DoMulti recycles the commands already answered before it retries one
// that got -LOADING, then sends them all again: a recycled command went
// out empty (rueidis panicked, ending the process) or as another
// goroutine's command (a foreign reply; through a part, a key without the
// prefix). The registry's dedicated DoMulti now holds its batch.
func TestAttackRetry2DedicatedMultiLoadingForeign(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	// GET a: -LOADING 9 times (retried at once, marked); then GET c once:
	// rueidis recycled b (answered) before resending all three.
	var as, cs atomic.Int32
	addr := attackServer(t, func(c net.Conn, args []string) bool {
		if strings.ToUpper(args[0]) != "GET" {
			return false
		}
		if args[1] == "a" && as.Add(1) <= 9 || args[1] == "c" && as.Load() > 9 && cs.Add(1) == 1 {
			return write(c, "-LOADING Redis is loading the dataset in memory\r\n")
		}
		return write(c, bulkOf("v:"+args[1]))
	})
	_, c := acquire(t, addr, "REDIS_PROTOCOL=3")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var kept []rueidis.Completed
	wg.Go(func() { // builds commands in whatever rueidis recycles
		for {
			select {
			case <-stop:
				return
			default:
			}
			kept = append(kept, c.B().Get().Key("other").Build())
			runtime.Gosched()
		}
	})
	var rs []rueidis.RedisResult
	var perr any
	_ = c.Dedicated(func(d rueidis.DedicatedClient) error {
		defer func() { perr = recover() }()
		rs = d.DoMulti(ctx, d.B().Get().Key("a").Build(), d.B().Get().Key("b").Build(), d.B().Get().Key("c").Build())
		return nil
	})
	close(stop)
	wg.Wait()
	if perr != nil {
		t.Fatalf("DoMulti panicked: %v", perr)
	}
	for i, want := range []string{"v:a", "v:b", "v:c"} {
		if v, err := rs[i].ToString(); err != nil || v != want {
			t.Errorf("reply %d: %q, %v; want %q", i, v, err, want)
		}
	}
	if as.Load() < 10 || cs.Load() < 2 {
		t.Errorf("GET a sent %d times, GET c %d: the batch was not retried as the test needs", as.Load(), cs.Load())
	}
}
