package registry_test

// Attacks on the promise that, when connections drop under full load, the
// registry's clients never let rueidis's writer goroutine read a command
// the caller already reuses (rueidisx.MarkRetried, Hold, Recycle): no
// data race, no end of the process, every reply the caller's own.

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/redistest"
)

// ownValue is the value goroutine g stores under key at its seq-th write:
// it names the key, so a reply that belongs to another call shows.
func ownValue(key string, seq int) string { return key + "=" + strconv.Itoa(seq) }

// seqOf returns the seq of v if v is a value ownValue made for key.
func seqOf(key, v string) (int, bool) {
	rest, ok := strings.CutPrefix(v, key+"=")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil
}

// TestAttackRetryKilledUnderFullLoad: many goroutines, each with keys of
// its own, write them (Do SET, DoMulti SET+GET) and read them back by Do,
// DoMulti, DoCache and DoMultiCache, while every
// connection is killed every 2 ms; RESP3 and RESP2, with and without the
// batching of concurrent Do calls. Every read must return the caller's own
// key's value, at the last seq it wrote (plain reads) or no later one
// (cached reads); -race must report nothing.
func TestAttackRetryKilledUnderFullLoad(t *testing.T) {
	srv := redistest.Start(t)
	for _, proto := range []string{"3", "2"} {
		for _, batch := range []string{"adaptive", "off"} {
			t.Run("RESP"+proto+"/batch="+batch, func(t *testing.T) {
				_, c := acquire(t, srv.URL(), "REDIS_PROTOCOL="+proto, "REDIS_BATCH="+batch)
				retryLoad(t, srv, c, "r"+proto+batch, proto == "3", 64, 2500*time.Millisecond)
			})
		}
	}
}

func retryLoad(t *testing.T, srv *redistest.Server, c rueidis.Client, prefix string, resp3 bool, workers int, d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	var kills atomic.Int64
	wg.Go(func() { kills.Store(killAllEvery(ctx, []rueidis.Client{srv.Client}, 2*time.Millisecond)) })
	var reads, errs atomic.Int64
	var bad atomic.Int64
	report := func(format string, args ...any) {
		if bad.Add(1) <= 10 {
			t.Errorf(format, args...)
		}
	}
	for g := range workers {
		wg.Go(func() {
			keys := []string{fmt.Sprintf("%s:%d:a", prefix, g), fmt.Sprintf("%s:%d:b", prefix, g), fmt.Sprintf("%s:%d:c", prefix, g)}
			// last[i]: the seq last confirmed stored; pending[i]: the seqs
			// written since without a reply (each may be stored).
			last := []int{-1, -1, -1}
			pending := []map[int]bool{{}, {}, {}}
			top := []int{-1, -1, -1} // the last seq written
			seq := 0
			okSeq := func(i, s int, cached bool) bool {
				if s == last[i] || pending[i][s] {
					return true
				}
				return cached && s <= top[i]
			}
			confirm := func(i, s int) { last[i], top[i] = s, s; clear(pending[i]) }
			unsure := func(i, s int) { pending[i][s], top[i] = true, s }
			check := func(how string, i int, r rueidis.RedisResult, cached bool) {
				v, err := r.ToString()
				if err != nil {
					if rueidis.IsRedisNil(err) && last[i] < 0 {
						return
					}
					if _, isRedis := rueidis.IsRedisErr(err); isRedis && !rueidis.IsRedisNil(err) {
						report("%s %s: a Redis error: %v", how, keys[i], err)
					}
					errs.Add(1)
					return
				}
				reads.Add(1)
				s, ok := seqOf(keys[i], v)
				if !ok || !okSeq(i, s, cached) {
					report("%s %s = %q; want %q (or one of %v)", how, keys[i], v, ownValue(keys[i], last[i]), pending[i])
				}
			}
			for n := 0; ctx.Err() == nil; n++ {
				i := n % 3
				seq++
				// Write until stored: writes are not retried.
				r := c.Do(ctx, c.B().Set().Key(keys[i]).Value(ownValue(keys[i], seq)).Build())
				if r.Error() != nil {
					unsure(i, seq)
					errs.Add(1)
					continue
				}
				confirm(i, seq)
				check("Do GET", i, c.Do(ctx, c.B().Get().Key(keys[i]).Build()), false)
				rs := c.DoMulti(ctx, c.B().Get().Key(keys[0]).Build(), c.B().Get().Key(keys[1]).Build(), c.B().Get().Key(keys[2]).Build())
				for j := range rs {
					check("DoMulti GET", j, rs[j], false)
				}
				// A write and a read in one (unretried) batch.
				seq++
				rs = c.DoMulti(ctx, c.B().Set().Key(keys[i]).Value(ownValue(keys[i], seq)).Build(), c.B().Get().Key(keys[i]).Build())
				if rs[0].Error() == nil {
					confirm(i, seq)
					check("DoMulti SET+GET", i, rs[1], false)
				} else {
					unsure(i, seq)
				}
				check("DoCache GET", i, c.DoCache(ctx, c.B().Get().Key(keys[i]).Cache(), time.Minute), true)
				rs = c.DoMultiCache(ctx,
					rueidis.CT(c.B().Get().Key(keys[0]).Cache(), time.Minute),
					rueidis.CT(c.B().Get().Key(keys[1]).Cache(), time.Minute),
					rueidis.CT(c.B().Get().Key(keys[2]).Cache(), time.Minute))
				for j := range rs {
					check("DoMultiCache GET", j, rs[j], true)
				}
			}
		})
	}
	wg.Wait()
	if reads.Load() == 0 || kills.Load() == 0 {
		t.Fatalf("%d reads, %d kills: the load did not run", reads.Load(), kills.Load())
	}
	t.Logf("%d reads checked, %d failed calls, %d kills (resp3 %v)", reads.Load(), errs.Load(), kills.Load(), resp3)
}

// TestAttackRetryCallerReusesItsBatchSlice: a DoMulti whose connection
// the server closes while rueidis's writer goroutine is still writing
// the batch. The call returns its errors (the batch holds a write, so
// it is not retried) while the writer goes on through the rest of the
// caller's slice; the caller then reuses its slice for its next batch,
// as callers do (cmds = cmds[:0]; append), which the writer reads.
func TestAttackRetryCallerReusesItsBatchSlice(t *testing.T) {
	for _, n := range []int{1500, 20000} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			// GET boom: the server ends its side of the connection (the
			// client reads EOF) and reads no more, so the client's writer
			// is blocked in a write with the rest of the batch to go.
			stop := make(chan struct{})
			addr := attackServer(t, func(c net.Conn, args []string) bool {
				if strings.ToUpper(args[0]) == "GET" && args[1] == "boom" {
					_ = c.(*net.TCPConn).CloseWrite()
					<-stop
					return true
				}
				return false
			})
			t.Cleanup(func() { close(stop) })
			_, c := acquire(t, addr)
			multi := make([]rueidis.Completed, 0, n)
			multi = append(multi, c.B().Set().Key("x").Value("1").Build(), c.B().Get().Key("boom").Build())
			for len(multi) < n {
				multi = append(multi, c.B().Get().Key(strings.Repeat("k", 100)).Build())
			}
			rs := c.DoMulti(context.Background(), multi...)
			failed := 0
			for _, r := range rs {
				if r.Error() != nil {
					failed++
				}
			}
			// The caller's next batch, in the same slice.
			multi = multi[:0]
			for len(multi) < n {
				multi = append(multi, c.B().Get().Key("next").Build())
			}
			t.Logf("%d of %d commands failed; first: %v, second: %v", failed, n, rs[0].Error(), rs[1].Error())
		})
	}
}

// TestAttackRetrySharedPinnedCommand: one pinned command sent by 32
// goroutines at once, through Do and DoMulti, batched or not, while
// connections are killed. Marking a retried command wrote its pin field,
// which the other goroutines read: a data race the detector reported at
// once. A pinned command is now left as it is (rueidisx.MarkRetried).
func TestAttackRetrySharedPinnedCommand(t *testing.T) {
	srv := redistest.Start(t)
	for _, batch := range []string{"adaptive", "off"} {
		t.Run("batch="+batch, func(t *testing.T) {
			_, c := acquire(t, srv.URL(), "REDIS_BATCH="+batch)
			if err := c.Do(context.Background(), c.B().Set().Key("shared").Value("mine").Build()).Error(); err != nil {
				t.Fatal(err)
			}
			pinned := c.B().Get().Key("shared").Build().Pin()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			var wg sync.WaitGroup
			var kills int64
			wg.Go(func() { kills = killAllEvery(ctx, []rueidis.Client{srv.Client}, 2*time.Millisecond) })
			var ok, bad atomic.Int64
			for g := range 32 {
				wg.Go(func() {
					for ctx.Err() == nil {
						var rs []rueidis.RedisResult
						if g%2 == 0 {
							rs = []rueidis.RedisResult{c.Do(ctx, pinned)}
						} else {
							rs = c.DoMulti(ctx, pinned, c.B().Get().Key("shared").Build())
						}
						for _, r := range rs {
							if v, err := r.ToString(); err == nil {
								ok.Add(1)
								if v != "mine" && bad.Add(1) < 5 {
									t.Errorf("GET shared = %q", v)
								}
							}
						}
					}
				})
			}
			wg.Wait()
			if ok.Load() == 0 || kills == 0 {
				t.Fatalf("%d good replies, %d kills: the test did not run", ok.Load(), kills)
			}
			if pinned.Commands()[1] != "shared" {
				t.Errorf("the pinned command was recycled: %q", pinned.Commands())
			}
			t.Logf("%d good replies, %d kills", ok.Load(), kills)
		})
	}
}
