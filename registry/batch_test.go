package registry_test

import (
	"context"
	"strconv"
	"sync"
	"testing"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/redistest"
	"github.com/wireredis/wireredis/registry"
)

// TestBatchSetting: with the default REDIS_BATCH (adaptive) the
// connection batches 64 goroutines' commands and its Stats say so; with
// REDIS_BATCH=off the same load sends no batch; parts with either setting
// get connections of their own.
func TestBatchSetting(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	reg, _ := newRegistry(t)
	adaptive, releaseAdaptive, err := reg.Acquire(ctx, load(t, "session", "REDIS_URL="+srv.URL()))
	if err != nil {
		t.Fatal(err)
	}
	defer releaseAdaptive()
	off, releaseOff, err := reg.Acquire(ctx, load(t, "cache", "REDIS_URL="+srv.URL(), "REDIS_CACHE_BATCH=off"))
	if err != nil {
		t.Fatal(err)
	}
	defer releaseOff()
	stats := map[string]registry.ConnStats{}
	for _, s := range reg.Stats() {
		stats[s.Parts[0]] = s
	}
	if len(stats) != 2 {
		t.Fatalf("Stats = %+v, want two connections (the batching setting is part of the identity)", reg.Stats())
	}
	hammer := func(c rueidis.Client) {
		var wg sync.WaitGroup
		for w := range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 100 {
					if err := c.Do(ctx, c.B().Set().Key("k"+strconv.Itoa(w)).Value(strconv.Itoa(i)).Build()).Error(); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	hammer(adaptive)
	hammer(off)
	for _, s := range reg.Stats() {
		var sum int64
		for _, v := range s.BatchSizes {
			sum += v
		}
		switch s.Parts[0] {
		case "session":
			if s.Batches == 0 || s.BatchedCommands < 4*s.Batches || s.BatchedCommands > s.Commands || sum != s.Batches {
				t.Errorf("adaptive: %d batches of %d commands (of %d), histogram %v summing to %d", s.Batches, s.BatchedCommands, s.Commands, s.BatchSizes, sum)
			}
			if len(s.BatchSizes) != len(registry.BatchSizeBounds())+1 {
				t.Errorf("BatchSizes has %d buckets for %d bounds", len(s.BatchSizes), len(registry.BatchSizeBounds()))
			}
		case "cache":
			if s.Batches != 0 || s.BatchedCommands != 0 || sum != 0 {
				t.Errorf("REDIS_BATCH=off: %d batches of %d commands", s.Batches, s.BatchedCommands)
			}
		}
		if s.Commands != 6400 {
			t.Errorf("%v: Commands = %d, want 6400", s.Parts, s.Commands)
		}
	}
}
