package main

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/registry"
)

// hitLevels are the goroutine counts of the cache-hit trials.
var hitLevels = []int{1, 64}

// hitClients are the clients whose cache hits are measured.
var hitClients = []string{nameRaw, nameSession}

// newHits makes the cache-hit results of the clients among hitClients.
func newHits(clients []client) map[string]map[int][]trial {
	h := map[string]map[int][]trial{}
	for _, c := range clients {
		for _, name := range hitClients {
			if c.name == name && c.rueidis != nil {
				h[c.name] = map[int][]trial{}
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
// read of the trial is a hit; more than 1 % misses is an error.
func measureHits(ctx context.Context, c rueidis.Client, n int, d time.Duration) (trial, error) {
	if err := c.Do(ctx, c.B().Set().Key("hot").Value(hotValue).Nx().Build()).Error(); err != nil && !rueidis.IsRedisNil(err) {
		return trial{}, err
	}
	if err := c.DoCache(ctx, c.B().Get().Key("hot").Cache(), time.Minute).Error(); err != nil {
		return trial{}, err
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
