package feature_test

// Attacks on the promise that, when connections drop under full load, the
// namespaced parts never let rueidis's writer goroutine read a command
// the caller already reuses (internal/rueidisx: MarkRetried, Hold,
// Recycle), with the parts' in-place prefixing of commands, transactions
// in DoMulti, Dedicated and Dedicate: no data race, no end of the
// process, every reply the caller's own.

import (
	"context"
	"fmt"
	"net"
	"runtime"
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

// killNodesEvery kills every normal connection of every node each period
// until ctx ends, and returns how many kills ran.
func killNodesEvery(ctx context.Context, nodes []rueidis.Client, period time.Duration) int64 {
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
			if a.Do(ctx, a.B().Arbitrary("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes").Build()).Error() == nil {
				n++
			}
		}
	}
}

// TestAttackRetryPartsKilledUnderFullLoad: the session and cache parts,
// on one shared connection of a single server, under CLIENT KILL every
// 5 ms; RESP3 and RESP2, batching on and off.
func TestAttackRetryPartsKilledUnderFullLoad(t *testing.T) {
	srv := redistest.Start(t)
	for _, proto := range []string{"3", "2"} {
		for _, batch := range []string{"adaptive", "off"} {
			t.Run("RESP"+proto+"/batch="+batch, func(t *testing.T) {
				s, c := sessionAndCache(t, srv, "REDIS_PROTOCOL="+proto, "REDIS_BATCH="+batch)
				partsLoad(t, []rueidis.Client{srv.Client}, []*feature.Client{s, c}, "", 48, 2500*time.Millisecond)
			})
		}
	}
}

// TestAttackRetryClusterPartsKilledUnderFullLoad: the session part and a
// hash-tag part on a three-primary cluster whose every node's
// connections are killed every 5 ms.
func TestAttackRetryClusterPartsKilledUnderFullLoad(t *testing.T) {
	cluster := redistest.StartCluster(t, 3, 0)
	var nodes []rueidis.Client
	for _, addr := range cluster.Addrs {
		nodes = append(nodes, cluster.Node(t, addr))
	}
	for _, proto := range []string{"3", "2"} {
		t.Run("RESP"+proto, func(t *testing.T) {
			ctx := context.Background()
			reg, base := parts(t, "REDIS_ADDRS="+strings.Join(cluster.Addrs, ","), "REDIS_PROTOCOL="+proto)
			s, releaseS, err := feature.ProvideSessionRedis(ctx, reg, base)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(releaseS)
			tagged, releaseT, err := feature.Part{Namespace: "ratelimit", HashTag: true}.Open(ctx, reg, base)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(releaseT)
			// The session part's batches need one slot per transaction
			// and per dedicated batch: its keys carry a hash tag of
			// their own (the tagged part needs none).
			partsLoad(t, nodes, []*feature.Client{s.Client, tagged}, "{t%d}", 32, 2500*time.Millisecond)
		})
	}
}

// partsLoad runs workers goroutines, each through one of ps with keys of
// its own (tag, with the goroutine's number, is their hash tag), while
// killers' connections kill every other, for d. Every read must return
// the caller's own key's value.
func partsLoad(t *testing.T, killers []rueidis.Client, ps []*feature.Client, tag string, workers int, d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	var kills atomic.Int64
	wg.Go(func() { kills.Store(killNodesEvery(ctx, killers, 5*time.Millisecond)) })
	var reads, errs, bad atomic.Int64
	report := func(format string, args ...any) {
		if bad.Add(1) <= 10 {
			t.Errorf(format, args...)
		}
	}
	for g := range workers {
		wg.Go(func() {
			p := ps[g%len(ps)]
			ht := ""
			if tag != "" {
				ht = fmt.Sprintf(tag, g)
			}
			keys := []string{fmt.Sprintf("w%s:%d:a", ht, g), fmt.Sprintf("w%s:%d:b", ht, g), fmt.Sprintf("w%s:%d:c", ht, g)}
			own := func(i int, v string) bool { return strings.HasPrefix(v, keys[i]+"=") }
			check := func(how string, i int, r rueidis.RedisResult) {
				v, err := r.ToString()
				if err != nil {
					if _, isRedis := rueidis.IsRedisErr(err); isRedis && !rueidis.IsRedisNil(err) && !strings.HasPrefix(err.Error(), "EXECABORT") && !strings.HasPrefix(err.Error(), "CLUSTERDOWN") && !strings.HasPrefix(err.Error(), "TRYAGAIN") {
						report("%s %s: a Redis error: %v", how, keys[i], err)
					}
					errs.Add(1)
					return
				}
				reads.Add(1)
				if !own(i, v) {
					report("%s %s = %q: not its own", how, keys[i], v)
				}
			}
			for n := 0; ctx.Err() == nil; n++ {
				i := n % 3
				val := fmt.Sprintf("%s=%d", keys[i], n)
				if p.Do(ctx, p.B().Set().Key(keys[i]).Value(val).Build()).Error() != nil {
					errs.Add(1)
				}
				check("Do GET", i, p.Do(ctx, p.B().Get().Key(keys[i]).Build()))
				rs := p.DoMulti(ctx, p.B().Get().Key(keys[0]).Build(), p.B().Get().Key(keys[1]).Build(), p.B().Get().Key(keys[2]).Build())
				for j := range rs {
					check("DoMulti GET", j, rs[j])
				}
				// A transaction in DoMulti, with reads around it.
				rs = p.DoMulti(ctx,
					p.B().Get().Key(keys[2]).Build(),
					p.B().Multi().Build(),
					p.B().Get().Key(keys[0]).Build(),
					p.B().Set().Key(keys[1]).Value(fmt.Sprintf("%s=x%d", keys[1], n)).Build(),
					p.B().Get().Key(keys[1]).Build(),
					p.B().Exec().Build(),
					p.B().Get().Key(keys[i]).Build())
				check("DoMulti GET before MULTI", 2, rs[0])
				check("DoMulti GET after EXEC", i, rs[6])
				if vs, err := rs[5].ToArray(); err == nil {
					if len(vs) != 3 {
						report("EXEC: %d replies, want 3", len(vs))
					} else {
						for j, k := range []int{0, -1, 1} {
							if k < 0 {
								continue
							}
							if v, err := vs[j].ToString(); err == nil {
								reads.Add(1)
								if !own(k, v) {
									report("EXEC GET %s = %q: not its own", keys[k], v)
								}
							}
						}
					}
				}
				check("DoCache GET", i, p.DoCache(ctx, p.B().Get().Key(keys[i]).Cache(), time.Minute))
				rs = p.DoMultiCache(ctx,
					rueidis.CT(p.B().Get().Key(keys[0]).Cache(), time.Minute),
					rueidis.CT(p.B().Get().Key(keys[1]).Cache(), time.Minute),
					rueidis.CT(p.B().Get().Key(keys[2]).Cache(), time.Minute))
				for j := range rs {
					check("DoMultiCache GET", j, rs[j])
				}
				onDedicated := func(dc rueidis.DedicatedClient) {
					check("dedicated Do GET", i, dc.Do(ctx, dc.B().Get().Key(keys[i]).Build()))
					rs := dc.DoMulti(ctx, dc.B().Get().Key(keys[0]).Build(), dc.B().Get().Key(keys[1]).Build(), dc.B().Get().Key(keys[2]).Build())
					for j := range rs {
						check("dedicated DoMulti GET", j, rs[j])
					}
					rs = dc.DoMulti(ctx, dc.B().Multi().Build(), dc.B().Get().Key(keys[0]).Build(), dc.B().Get().Key(keys[2]).Build(), dc.B().Exec().Build())
					if vs, err := rs[3].ToArray(); err == nil && len(vs) == 2 {
						for j, k := range []int{0, 2} {
							if v, err := vs[j].ToString(); err == nil {
								reads.Add(1)
								if !own(k, v) {
									report("dedicated EXEC GET %s = %q: not its own", keys[k], v)
								}
							}
						}
					}
				}
				switch n % 8 {
				case 0:
					_ = p.Dedicated(func(dc rueidis.DedicatedClient) error { onDedicated(dc); return nil })
				case 4:
					dc, give := p.Dedicate()
					onDedicated(dc)
					give()
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

// TestAttackRetryDedicatedMultiLoadingKeepsThePrefix: a part's DoMulti
// on a Dedicated connection, one of whose GETs gets -LOADING. rueidis's
// dedicated DoMulti recycled the commands already answered, then sent
// them again: another goroutine's command, built in the recycled memory,
// went out in their place, without the part's prefix (a key outside the
// namespace read, its value returned to the part). The registry's
// dedicated DoMulti now holds the batch.
func TestAttackRetryDedicatedMultiLoadingKeepsThePrefix(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var as, cs atomic.Int32
	var outside atomic.Value // a key read outside the namespace
	addr := testsupport.FakeRedisAnswering(t, func(c net.Conn, args []string) bool {
		if strings.ToUpper(args[0]) != "GET" {
			return false
		}
		key := args[1]
		if !strings.HasPrefix(key, "session:") {
			outside.Store(key)
		}
		if strings.HasSuffix(key, ":a") && as.Add(1) <= 9 || strings.HasSuffix(key, ":c") && as.Load() > 9 && cs.Add(1) == 1 {
			_, _ = c.Write([]byte("-LOADING Redis is loading the dataset in memory\r\n"))
			return true
		}
		v := "v:" + key
		_, _ = fmt.Fprintf(c, "$%d\r\n%s\r\n", len(v), v)
		return true
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reg, base := parts(t, "REDIS_URL=redis://"+addr, "REDIS_PROTOCOL=3")
	s, release, err := feature.ProvideSessionRedis(ctx, reg, base)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	raw := s.Client
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var built int
	wg.Go(func() { // builds commands in whatever rueidis recycles
		var kept []rueidis.Completed
		for {
			select {
			case <-stop:
				built = len(kept)
				return
			default:
			}
			kept = append(kept, raw.B().Get().Key("other").Build())
			runtime.Gosched()
		}
	})
	var rs []rueidis.RedisResult
	var perr any
	_ = raw.Dedicated(func(d rueidis.DedicatedClient) error {
		defer func() { perr = recover() }()
		rs = d.DoMulti(ctx, d.B().Get().Key("a").Build(), d.B().Get().Key("b").Build(), d.B().Get().Key("c").Build())
		return nil
	})
	close(stop)
	wg.Wait()
	if perr != nil {
		t.Fatalf("DoMulti panicked: %v", perr)
	}
	if k := outside.Load(); k != nil {
		t.Errorf("the server was asked for %q, outside the namespace", k)
	}
	for i, letter := range []string{"a", "b", "c"} {
		if v, err := rs[i].ToString(); err != nil || v != "v:session:"+letter {
			t.Errorf("reply %d: %q, %v; want %q", i, v, err, "v:session:"+letter)
		}
	}
	t.Logf("%d commands built meanwhile", built)
}
