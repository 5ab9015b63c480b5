package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"
)

// cacheHit is the nanoseconds of one client-side cache hit, median of
// interleaved rounds.
type cacheHit struct{ raw, part float64 }

func cacheHits(ctx context.Context, raw rueidis.Client, part rueidis.Client) (cacheHit, error) {
	const n = 300000
	once := func(c rueidis.Client) (float64, error) {
		if err := c.Do(ctx, c.B().Set().Key("hot").Value("0123456789abcdef").Build()).Error(); err != nil {
			return 0, err
		}
		_ = c.DoCache(ctx, c.B().Get().Key("hot").Cache(), time.Minute).Error()
		start := time.Now()
		for range n {
			if err := c.DoCache(ctx, c.B().Get().Key("hot").Cache(), time.Minute).Error(); err != nil {
				return 0, err
			}
		}
		return float64(time.Since(start).Nanoseconds()) / n, nil
	}
	var r, p []float64
	for range 5 {
		a, err := once(raw)
		if err != nil {
			return cacheHit{}, err
		}
		b, err := once(part)
		if err != nil {
			return cacheHit{}, err
		}
		r, p = append(r, a), append(p, b)
	}
	return cacheHit{median(r), median(p)}, nil
}

// batch compares DoMulti of 64 SET/GET through a part with
// redis-benchmark -P 16 (commands per second).
type batch struct{ part, redisBenchmark float64 }

func batches(ctx context.Context, part rueidis.Client, addr string) (batch, error) {
	var ops atomic.Int64
	stop := time.Now().Add(2 * time.Second)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmds := make(rueidis.Commands, 0, 64)
			for time.Now().Before(stop) {
				cmds = cmds[:0]
				for i := range 32 {
					k := "b" + strconv.Itoa(g) + ":" + strconv.Itoa(i)
					cmds = append(cmds, part.B().Set().Key(k).Value("0123456789abcdef").Build(), part.B().Get().Key(k).Build())
				}
				for _, r := range part.DoMulti(ctx, cmds...) {
					if err := r.Error(); err != nil {
						firstErr.CompareAndSwap(nil, err)
						return
					}
				}
				ops.Add(64)
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return batch{}, err
	}
	b := batch{part: float64(ops.Load()) / 2}
	_, port, _ := strings.Cut(addr, ":")
	out, err := exec.Command("redis-benchmark", "-p", port, "-t", "set,get", "-P", "16", "-n", "400000", "-d", "16", "-q").Output()
	if err == nil {
		var rates []float64
		for _, m := range regexp.MustCompile(`(SET|GET): ([\d.]+) requests per second`).FindAllStringSubmatch(string(out), -1) {
			v, _ := strconv.ParseFloat(m[2], 64)
			rates = append(rates, v)
		}
		if len(rates) > 0 {
			b.redisBenchmark = (rates[0] + rates[len(rates)-1]) / 2
		}
	}
	return b, nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return math.NaN()
	}
	return s[len(s)/2]
}

func machine(addr string, pinned bool, trial time.Duration, rounds int) string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if m := regexp.MustCompile(`model name\s*:\s*(.+)`).FindStringSubmatch(string(b)); m != nil {
			cpu = strings.TrimSpace(m[1])
		}
	}
	version := "unknown"
	if out, err := exec.Command("redis-server", "--version").Output(); err == nil {
		if m := regexp.MustCompile(`v=([\d.]+)`).FindStringSubmatch(string(out)); m != nil {
			version = m[1]
		}
	}
	pin := "not pinned (taskset missing or one CPU)"
	if pinned {
		pin = "redis-server pinned to CPU 0, the clients to CPU 1 (taskset)"
	}
	return fmt.Sprintf("%d CPUs (%s), %s, %s, redis-server %s on loopback (%s); %s; trials of %s, %d interleaved rounds",
		runtime.NumCPU(), cpu, runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH, version, addr, pin, trial, rounds)
}

func render(results map[string]map[int][]float64, clients []client, levels []int, hit cacheHit, b batch, machine string) string {
	var s strings.Builder
	s.WriteString("# Benchmarks\n\nWritten by `make bench` (the load generator in `bench/`); do not edit by hand.\n\n")
	fmt.Fprintf(&s, "Machine: %s.\n\n", machine)
	s.WriteString("## SET+GET of random keys, 16-byte values\n\nCommands per second: the median of the rounds, and their range. The ratios are the medians of the per-round ratios (each pairs trials run back to back), with their range. The clients take turns, the order rotating each round (A B C D, B C D A, ...), so drift hits them alike.\n\n")
	s.WriteString("| goroutines |")
	for _, c := range clients {
		fmt.Fprintf(&s, " %s |", c.name)
	}
	s.WriteString(" SessionRedis / raw | SessionRedis / raw, prefix by hand | SessionRedis / go-redis |\n|---:|")
	for range clients {
		s.WriteString("---:|")
	}
	s.WriteString("---:|---:|---:|\n")
	// ratio pairs the rounds: a's ops/s over b's in the same round, whose
	// trials ran back to back; the median of those ratios is what a drift
	// of the machine across rounds disturbs least.
	ratios := func(a, b string, n int) []float64 {
		var r []float64
		for i := range results[a][n] {
			r = append(r, results[a][n][i]/results[b][n][i])
		}
		return r
	}
	ratio := func(a, b string, n int) float64 { return median(ratios(a, b, n)) }
	// spread is the median ratio with the range of the rounds' ratios.
	spread := func(a, b string, n int) string {
		r := ratios(a, b, n)
		return fmt.Sprintf("%.2f (%.2f–%.2f)", median(r), slices.Min(r), slices.Max(r))
	}
	for _, n := range levels {
		fmt.Fprintf(&s, "| %d |", n)
		for _, c := range clients {
			v := results[c.name][n]
			fmt.Fprintf(&s, " %.0f (%.0f–%.0f) |", median(v), slices.Min(v), slices.Max(v))
		}
		fmt.Fprintf(&s, " %s | %s | %s |\n", spread(clients[1].name, clients[0].name, n), spread(clients[1].name, clients[2].name, n), spread(clients[1].name, clients[3].name, n))
	}
	s.WriteString("\n![commands per second by goroutines](benchmarks.svg)\n\n")
	s.WriteString("## Against the targets\n\n| target | measured | met |\n|---|---:|:---:|\n")
	yes := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "**no**"
	}
	for _, n := range levels {
		r := ratio(clients[1].name, clients[0].name, n)
		fmt.Fprintf(&s, "| SessionRedis ≥ 0.95 × raw rueidis, %d goroutines | %.2f × | %s |\n", n, r, yes(r >= 0.95))
	}
	for _, n := range levels {
		r := ratio(clients[1].name, clients[2].name, n)
		fmt.Fprintf(&s, "| (the same, against raw rueidis storing the same prefixed keys) %d goroutines | %.2f × | %s |\n", n, r, yes(r >= 0.95))
	}
	g := ratio(clients[1].name, clients[3].name, 256)
	fmt.Fprintf(&s, "| SessionRedis ≥ 1.8 × go-redis (prefix by hand), 256 goroutines | %.2f × | %s |\n", g, yes(g >= 1.8))
	hr := hit.raw / hit.part
	fmt.Fprintf(&s, "| client-side cache hit (DoCache, same key), SessionRedis ≥ 0.7 × raw rate | %.2f × (%.0f ns vs %.0f ns) | %s |\n", hr, hit.part, hit.raw, yes(hr >= 0.7))
	if b.redisBenchmark > 0 {
		br := b.part / b.redisBenchmark
		fmt.Fprintf(&s, "| DoMulti of 64 SET/GET through SessionRedis ≥ 0.5 × `redis-benchmark -P 16` | %.2f × (%.0f vs %.0f commands/s) | %s |\n", br, b.part, b.redisBenchmark, yes(br >= 0.5))
	} else {
		fmt.Fprintf(&s, "| DoMulti of 64 SET/GET through SessionRedis ≥ 0.5 × `redis-benchmark -P 16` | %.0f commands/s; redis-benchmark not available | – |\n", b.part)
	}
	s.WriteString("\nSessionRedis is the part as a service gets it: from the registry (the shared connection and its counters), over the connection the same `REDIS_URL` gives raw rueidis. \"Raw rueidis, prefix by hand\" joins `session:` to each key itself, so the server stores the same keys as for SessionRedis: the gap between it and raw rueidis is what longer keys cost (the join on the client, parsing, hashing and storing on the server); the gap between SessionRedis and it is what the part adds.\n\n")
	s.WriteString("Allocations per command (target: at most 2 more than raw rueidis) are asserted by `TestRewriteAllocations` and `TestAllocationsAgainstRedis` in `feature/alloc_test.go`; the connections of K parts (K = 1, 10, 100) by `TestKPartsOpenWhatOneClientOpens`. The Go benchmarks below show both side by side.\n")
	return s.String()
}

// chart draws commands per second against goroutines, one line a client.
func chart(results map[string]map[int][]float64, clients []client, levels []int) []byte {
	const w, h, left, bottom, top, right = 640, 360, 80, 40, 20, 180
	maxV := 0.0
	for _, c := range clients {
		for _, n := range levels {
			maxV = math.Max(maxV, median(results[c.name][n]))
		}
	}
	maxV *= 1.1
	x := func(i int) float64 { return left + float64(i)*float64(w-left-right)/float64(len(levels)-1) }
	y := func(v float64) float64 { return float64(h-bottom) - v/maxV*float64(h-bottom-top) }
	colors := []string{"#1f77b4", "#d62728", "#9467bd", "#2ca02c"}
	var s strings.Builder
	fmt.Fprintf(&s, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", w, h)
	fmt.Fprintf(&s, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	fmt.Fprintf(&s, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/><line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, h-bottom, w-right, h-bottom, left, top, left, h-bottom)
	for i := 0; i <= 4; i++ {
		v := maxV * float64(i) / 4
		fmt.Fprintf(&s, `<text x="%d" y="%.0f" text-anchor="end">%.0fk</text>`+"\n", left-6, y(v)+4, v/1000)
	}
	for i, n := range levels {
		fmt.Fprintf(&s, `<text x="%.0f" y="%d" text-anchor="middle">%d</text>`+"\n", x(i), h-bottom+16, n)
	}
	fmt.Fprintf(&s, `<text x="%d" y="%d" text-anchor="middle">goroutines</text>`+"\n", (left+w-right)/2, h-6)
	fmt.Fprintf(&s, `<text x="14" y="%d" transform="rotate(-90 14 %d)" text-anchor="middle">commands/s</text>`+"\n", (top+h-bottom)/2, (top+h-bottom)/2)
	for ci, c := range clients {
		var pts []string
		for i, n := range levels {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(median(results[c.name][n]))))
		}
		col := colors[ci%len(colors)]
		fmt.Fprintf(&s, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", col, strings.Join(pts, " "))
		fmt.Fprintf(&s, `<rect x="%d" y="%d" width="12" height="3" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n", w-right+12, top+10+ci*20, col, w-right+30, top+15+ci*20, c.name)
	}
	s.WriteString("</svg>\n")
	return []byte(s.String())
}
