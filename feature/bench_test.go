package feature_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/rueidis"
)

// BenchmarkServer compares raw rueidis, a part over the same client, and
// SessionRedis as the registry gives it (its own connection, counted),
// over a real redis-server, side by side in one run: SET+GET of 16-byte
// values at several degrees of parallelism, a client-side cache hit, and a
// DoMulti of 64 commands. benchstat -col /client puts them side by side
// (make bench).
func BenchmarkServer(b *testing.B) {
	raw, part, session := rawPartSession(b)
	for _, c := range []struct {
		name   string
		client rueidis.Client
	}{{"raw", raw}, {"part", part}, {"session", session}} {
		serverCases(b, "", "/client="+c.name, c.client, 1, 8, 64)
	}
}

// serverCases runs, through cl, the round trips BenchmarkServer and
// BenchmarkTelemetry measure, named name+case+suffix: SET+GET of 16-byte
// values with each of the goroutine counts, a client-side cache hit, and a
// DoMulti of 64 commands.
func serverCases(b *testing.B, name, suffix string, cl rueidis.Client, goroutines ...int) {
	ctx := context.Background()
	const value = "0123456789abcdef"
	for _, par := range goroutines {
		b.Run(name+"SetGet/goroutines="+strconv.Itoa(par)+suffix, func(b *testing.B) {
			b.SetParallelism(par)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					k := "k" + strconv.Itoa(i&1023)
					i++
					_ = cl.Do(ctx, cl.B().Set().Key(k).Value(value).Build()).Error()
					_ = cl.Do(ctx, cl.B().Get().Key(k).Build()).Error()
				}
			})
		})
	}
	b.Run(name+"CacheHit"+suffix, func(b *testing.B) {
		_ = cl.Do(ctx, cl.B().Set().Key("hot").Value(value).Build()).Error()
		_ = cl.DoCache(ctx, cl.B().Get().Key("hot").Cache(), 60e9).Error()
		b.ReportAllocs()
		cpu0, ok := processCPU()
		for b.Loop() {
			_ = cl.DoCache(ctx, cl.B().Get().Key("hot").Cache(), 60e9).Error()
		}
		if cpu1, _ := processCPU(); ok {
			b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
		}
	})
	b.Run(name+"DoMulti64"+suffix, func(b *testing.B) {
		cmds := make(rueidis.Commands, 0, 64)
		b.ReportAllocs()
		for b.Loop() {
			cmds = cmds[:0]
			for i := range 32 {
				k := "m" + strconv.Itoa(i)
				cmds = append(cmds, cl.B().Set().Key(k).Value(value).Build(), cl.B().Get().Key(k).Build())
			}
			for _, r := range cl.DoMulti(ctx, cmds...) {
				_ = r.Error()
			}
		}
	})
}

// BenchmarkCacheHitPaired measures a client-side cache hit of raw rueidis,
// a part over the same client and SessionRedis (called as users call it,
// on its *Client) in turn, blocks of 500 hits each, in one loop: this
// machine's speed swings between phases, and blocks this short see the
// same phase. It reports each one's rate as a share of raw rueidis's
// (part/raw, session/raw: 1 is as fast), the figure issue 25's target is
// set in; and the same three under a context with a deadline, as a
// request handler's is (deadline-part/raw, deadline-session/raw, each
// against raw rueidis given the same context).
func BenchmarkCacheHitPaired(b *testing.B) {
	raw, part, session := rawPartSession(b)
	request, cancel := context.WithTimeout(context.Background(), time.Hour)
	b.Cleanup(cancel)
	var hits []func()
	for _, ctx := range []context.Context{context.Background(), request} {
		hits = append(hits,
			func() { _ = raw.DoCache(ctx, raw.B().Get().Key("hot").Cache(), 60e9).Error() },
			func() { _ = part.DoCache(ctx, part.B().Get().Key("hot").Cache(), 60e9).Error() },
			func() { _ = session.Client.DoCache(ctx, session.Client.B().Get().Key("hot").Cache(), 60e9).Error() },
		)
	}
	for _, c := range []rueidis.Client{raw, session.Client} {
		_ = c.Do(request, c.B().Set().Key("hot").Value("0123456789abcdef").Build()).Error()
	}
	for _, hit := range hits {
		hit()
	}
	const block = 500
	spent := make([]time.Duration, len(hits))
	b.ReportAllocs()
	for b.Loop() {
		for i, hit := range hits {
			start := time.Now()
			for range block {
				hit()
			}
			spent[i] += time.Since(start)
		}
	}
	for i, name := range []string{"", "deadline-"} {
		at := 3 * i
		b.ReportMetric(float64(spent[at])/float64(spent[at+1]), name+"part/raw")
		b.ReportMetric(float64(spent[at])/float64(spent[at+2]), name+"session/raw")
	}
	b.ReportMetric(float64(spent[0])/float64(b.N*block), "raw-ns/hit")
}
