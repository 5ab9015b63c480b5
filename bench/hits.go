package main

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/registry"
)

// hitCase is one kind of cache-hit trial: n goroutines, each calling
// with a context that has a deadline (as a request handler's has) or not.
type hitCase struct {
	n        int
	deadline bool
}

// String names the case in the report: "64", "64, under a deadline".
func (h hitCase) String() string {
	if h.deadline {
		return strconv.Itoa(h.n) + ", under a deadline"
	}
	return strconv.Itoa(h.n)
}

// goroutines names the case in a sentence: "64 goroutines, under a
// deadline".
func (h hitCase) goroutines() string {
	s := strconv.Itoa(h.n) + " goroutines"
	if h.deadline {
		s += ", under a deadline"
	}
	return s
}

// hitCases are the cache-hit trials: 1 and 64 goroutines, without and
// with a deadline.
var hitCases = []hitCase{{1, false}, {64, false}, {1, true}, {64, true}}

// hitClients are the clients whose cache hits are measured.
var hitClients = []string{nameRaw, nameSession}

// newHits makes the cache-hit results of the clients among hitClients.
func newHits(clients []client) map[string]map[hitCase][]trial {
	h := map[string]map[hitCase][]trial{}
	for _, c := range clients {
		for _, name := range hitClients {
			if c.name == name && c.rueidis != nil {
				h[c.name] = map[hitCase][]trial{}
			}
		}
	}
	if len(h) == 0 {
		return nil
	}
	return h
}

// hotValue is the hot key's value: 16 bytes, as in the SET+GET trials.
const hotValue = "0123456789abcdef"

// measureHits runs n goroutines that read one hot key through the
// client-side cache (DoCache of GET hot, a minute's TTL) for d, and
// returns hits per second and the bytes and allocations per hit. The key
// is set (once: SET NX, as a write would invalidate the cached copy, at a
// moment of the server's choosing) and read once first, so that every
// read of the trial is a hit; more than 1 % misses is an error. With
// deadline, each read is given a context with a deadline (an hour off).
func measureHits(ctx context.Context, c rueidis.Client, n int, deadline bool, d time.Duration) (trial, error) {
	if err := c.Do(ctx, c.B().Set().Key("hot").Value(hotValue).Nx().Build()).Error(); err != nil && !rueidis.IsRedisNil(err) {
		return trial{}, err
	}
	if err := c.DoCache(ctx, c.B().Get().Key("hot").Cache(), time.Minute).Error(); err != nil {
		return trial{}, err
	}
	if deadline {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Hour)
		defer cancel()
	}
	var hits, misses atomic.Int64
	var firstErr atomic.Value
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	start := time.Now()
	stop := start.Add(d)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			var done int64
			defer func() { hits.Add(done) }()
			for {
				// The clock is read every 64 hits, not on each: a hit
				// costs a few hundred nanoseconds.
				for range 64 {
					r := c.DoCache(ctx, c.B().Get().Key("hot").Cache(), time.Minute)
					if err := r.Error(); err != nil {
						firstErr.CompareAndSwap(nil, err)
						return
					}
					if !r.IsCacheHit() {
						misses.Add(1)
					}
				}
				done += 64
				if !time.Now().Before(stop) {
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	runtime.ReadMemStats(&m1)
	if err, _ := firstErr.Load().(error); err != nil {
		return trial{}, err
	}
	total := float64(hits.Load())
	if m := misses.Load(); float64(m) > total/100 {
		return trial{}, fmt.Errorf("%d of %.0f reads of the hot key missed the cache", m, total)
	}
	return trial{
		ops:    total / elapsed.Seconds(),
		bytes:  float64(m1.TotalAlloc-m0.TotalAlloc) / total,
		allocs: float64(m1.Mallocs-m0.Mallocs) / total,
	}, nil
}

// idleParts is the heap one idle part holds: the growth of the live heap
// when k more parts are opened on a registry whose connection is already
// made (one part opened before), divided by k.
type idleParts struct {
	k              int
	bytesPerPart   float64
	objectsPerPart float64
}

func measureIdleParts(ctx context.Context, addr string, k int) (idleParts, error) {
	opts, err := provider.LoadFrom([]string{"REDIS_URL=redis://" + addr})
	if err != nil {
		return idleParts{}, err
	}
	reg, closeRegistry := registry.New(slog.New(slog.DiscardHandler))
	defer closeRegistry()
	var releases []func()
	defer func() {
		for _, r := range releases {
			r()
		}
	}()
	// The parts are kept, as a service keeps its parts: the heap measured
	// is the parts' own and what the registry keeps of each.
	parts := make([]*feature.Client, 0, k+1)
	open := func(name string) error {
		part, release, err := feature.Open(ctx, reg, opts, name)
		if err != nil {
			return err
		}
		parts = append(parts, part)
		releases = append(releases, release)
		return nil
	}
	if err := open("idle"); err != nil { // the connection, made once
		return idleParts{}, err
	}
	heap := func() runtime.MemStats {
		var m runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&m)
		return m
	}
	before := heap()
	for i := range k {
		if err := open(fmt.Sprintf("idle-%d", i)); err != nil {
			return idleParts{}, err
		}
	}
	after := heap()
	runtime.KeepAlive(parts)
	return idleParts{
		k:              k,
		bytesPerPart:   (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / float64(k),
		objectsPerPart: (float64(after.HeapObjects) - float64(before.HeapObjects)) / float64(k),
	}, nil
}
