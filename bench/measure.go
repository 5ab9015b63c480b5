package main

import (
	"context"
	"fmt"
	"math/bits"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// phase is one run over a server: every client at every goroutine count,
// round after round.
type phase struct {
	name    string
	pinned  bool
	procs   int // GOMAXPROCS during the run
	clients []string
	// results holds each client's trials by goroutine count, a trial a
	// round.
	results map[string]map[int][]trial
	// redisBenchmark is redis-benchmark -P 16's commands per second, a
	// value a round.
	redisBenchmark []float64
	// hits holds the cache-hit trials (DoCache of one hot key) of raw
	// rueidis and SessionRedis by case, a trial a round; nil when the
	// phase measures none.
	hits map[string]map[hitCase][]trial
}

// trial is one measurement: commands per second and the latencies of
// single commands.
type trial struct {
	ops      float64
	p50, p99 time.Duration
	// bytes and allocs are the heap bytes and objects the whole process
	// allocated per command during the trial (runtime.MemStats deltas):
	// the client's, and the load generator's own key string, which every
	// client pays alike.
	bytes, allocs float64
}

func newResults(clients []client) map[string]map[int][]trial {
	r := map[string]map[int][]trial{}
	for _, c := range clients {
		r[c.name] = map[int][]trial{}
	}
	return r
}

// measureRound measures every client once at every goroutine count. The
// order rotates each round (A B C, then B C A, C A B): drift hits all
// alike, and no client always follows the same one (whose garbage it
// would inherit).
func measureRound(ctx context.Context, ph *phase, clients []client, levels []int, round int, d time.Duration) error {
	for _, n := range levels {
		for i := range clients {
			c := clients[(i+round)%len(clients)]
			before, w0 := cpuTime(), writes()
			var b0, bc0 int64
			if c.batches != nil {
				b0, bc0 = c.batches()
			}
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			t, err := measure(ctx, c, n, d)
			if err != nil {
				return fmt.Errorf("%s %s, %d goroutines: %w", ph.name, c.name, n, err)
			}
			runtime.ReadMemStats(&m1)
			commands := t.ops * d.Seconds()
			t.bytes = float64(m1.TotalAlloc-m0.TotalAlloc) / commands
			t.allocs = float64(m1.Mallocs-m0.Mallocs) / commands
			ph.results[c.name][n] = append(ph.results[c.name][n], t)
			perCommand := (cpuTime() - before).Seconds() * 1e9 / commands
			perWrite := commands / float64(max(1, writes()-w0))
			batched := ""
			if c.batches != nil {
				if b1, bc1 := c.batches(); b1 > b0 {
					batched = fmt.Sprintf("  %5.1f commands/batch, %3.0f%% batched", float64(bc1-bc0)/float64(b1-b0), float64(bc1-bc0)*100/commands)
				}
			}
			fmt.Fprintf(os.Stderr, "%s round %d  %-28s %4d goroutines  %9.0f ops/s  p50 %7s  p99 %7s  %6.0f ns CPU/command  %5.1f commands/write  %5.0f B %4.1f allocs/command%s\n",
				ph.name, round+1, c.name, n, t.ops, t.p50, t.p99, perCommand, perWrite, t.bytes, t.allocs, batched)
		}
	}
	if ph.hits == nil {
		return nil
	}
	for _, h := range hitCases {
		for i := range clients {
			c := clients[(i+round)%len(clients)]
			if _, ok := ph.hits[c.name]; !ok {
				continue
			}
			t, err := measureHits(ctx, c.rueidis, h.n, h.deadline, d)
			if err != nil {
				return fmt.Errorf("%s %s, cache hits, %s: %w", ph.name, c.name, h.goroutines(), err)
			}
			ph.hits[c.name][h] = append(ph.hits[c.name][h], t)
			fmt.Fprintf(os.Stderr, "%s round %d  %-28s %s  %9.0f cache hits/s  %6.0f ns/hit  %5.0f B %4.1f allocs/hit\n",
				ph.name, round+1, c.name, h.goroutines(), t.ops, 1e9/t.ops, t.bytes, t.allocs)
		}
	}
	return nil
}

// measure runs n goroutines that SET and GET random keys (16-byte
// values) for d, and returns commands per second and the latencies.
func measure(ctx context.Context, c client, n int, d time.Duration) (trial, error) {
	var ops atomic.Int64
	var firstErr atomic.Value
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	value := "0123456789abcdef"
	hists := make([]histogram, n)
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := &hists[g]
			seed := uint64(g)*0x9E3779B97F4A7C15 + 1
			for {
				start := time.Now()
				if !start.Before(stop) {
					return
				}
				seed ^= seed << 13
				seed ^= seed >> 7
				seed ^= seed << 17
				key := "k" + strconv.FormatUint(seed%100000, 10)
				if err := c.do(ctx, false, key, value); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				mid := time.Now()
				if err := c.do(ctx, true, key, value); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				end := time.Now()
				h.add(mid.Sub(start))
				h.add(end.Sub(mid))
				ops.Add(2)
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return trial{}, err
	}
	var all histogram
	for i := range hists {
		all.merge(&hists[i])
	}
	return trial{ops: float64(ops.Load()) / d.Seconds(), p50: all.quantile(0.5), p99: all.quantile(0.99)}, nil
}

// histogram counts latencies in buckets 1/16 of a power of two wide
// (about 4 % apart), from 1 ns to over a minute.
type histogram struct {
	counts [41 * 16]uint32
	total  uint64
}

func bucketOf(ns int64) int {
	if ns < 16 {
		return int(max(ns, 0))
	}
	e := bits.Len64(uint64(ns)) - 1 // 2^e <= ns
	return e*16 + int(ns>>(e-4))&15
}

// lowerBound is the smallest latency of bucket i.
func lowerBound(i int) time.Duration {
	if i < 16 {
		return time.Duration(i)
	}
	e := i / 16
	return time.Duration(int64(16+i%16) << (e - 4))
}

func (h *histogram) add(d time.Duration) {
	i := min(bucketOf(int64(d)), len(h.counts)-1)
	h.counts[i]++
	h.total++
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
}

// quantile is the latency below which a fraction q of the commands
// completed, to the bucket (the middle of it).
func (h *histogram) quantile(q float64) time.Duration {
	want := uint64(q * float64(h.total))
	var seen uint64
	for i, c := range h.counts {
		seen += uint64(c)
		if seen > want {
			return (lowerBound(i) + lowerBound(i+1)) / 2
		}
	}
	return 0
}

// placeProcesses pins the server to CPU 0 and this process to CPU 1
// (taskset), or lets both run on every CPU; then it waits until the Go
// runtime has seen the change (it updates GOMAXPROCS to the CPUs it may
// use within about a second).
func placeProcesses(pinned bool, serverPid int) error {
	server, self := "0", "1"
	if !pinned {
		server, self = "0-"+strconv.Itoa(runtime.NumCPU()-1), "0-"+strconv.Itoa(runtime.NumCPU()-1)
	}
	if runtime.NumCPU() < 2 {
		return fmt.Errorf("the bench needs two CPUs or more")
	}
	// -a: every thread of the process, not only its first.
	if out, err := exec.Command("taskset", "-a", "-pc", server, strconv.Itoa(serverPid)).CombinedOutput(); err != nil {
		return fmt.Errorf("taskset: %w: %s", err, out)
	}
	if out, err := exec.Command("taskset", "-a", "-pc", self, strconv.Itoa(os.Getpid())).CombinedOutput(); err != nil {
		return fmt.Errorf("taskset: %w: %s", err, out)
	}
	want := runtime.NumCPU()
	if pinned {
		want = 1
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.GOMAXPROCS(0) != want && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// redisBenchmark runs redis-benchmark -P 16 (SET and GET, 16-byte
// values, 50 connections) against addr, on CPU 1 when pinned, and returns
// the mean of its SET and GET rates.
func redisBenchmark(addr string, pinned bool) (float64, error) {
	host, port, _ := strings.Cut(addr, ":")
	args := []string{"redis-benchmark", "-h", host, "-p", port, "-t", "set,get", "-P", "16", "-n", "400000", "-d", "16", "-r", "100000", "-q"}
	if pinned {
		args = append([]string{"taskset", "-c", "1"}, args...)
	}
	out, err := exec.Command(args[0], args[1:]...).Output()
	if err != nil {
		return 0, fmt.Errorf("redis-benchmark: %w", err)
	}
	var rates []float64
	for _, m := range regexp.MustCompile(`(SET|GET): ([\d.]+) requests per second`).FindAllStringSubmatch(string(out), -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		rates = append(rates, v)
	}
	if len(rates) != 2 {
		return 0, fmt.Errorf("redis-benchmark printed no SET and GET rates: %q", out)
	}
	return (rates[0] + rates[1]) / 2, nil
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var u syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &u) != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// writes is the number of write system calls this process has made.
func writes() int64 {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "syscw: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

// printMedians prints, for an exploring run, each client's median and
// its median ratio to the first client.
func (ph *phase) printMedians(levels []int) {
	first := ph.clients[0]
	for _, n := range levels {
		for _, name := range ph.clients {
			ts := ph.results[name][n]
			var r []float64
			for i, t := range ts {
				r = append(r, t.ops/ph.results[first][n][i].ops)
			}
			fmt.Fprintf(os.Stderr, "%s median  %-28s %4d goroutines  %9.0f ops/s  p99 %7s  %.3f × %s  %s/command\n", ph.name, name, n, median(opsOf(ts)), medianDuration(p99Of(ts)), median(r), first, perCommand(ts))
		}
	}
	for _, h := range hitCases {
		for _, name := range hitClients {
			if ts := ph.hits[name][h]; len(ts) > 0 {
				fmt.Fprintf(os.Stderr, "%s median  %-28s %s  %9.0f cache hits/s  %s/hit\n", ph.name, name, h.goroutines(), median(opsOf(ts)), perCommand(ts))
			}
		}
		if ph.hasHits() {
			fmt.Fprintf(os.Stderr, "%s median  cache hit, SessionRedis / raw rueidis, %s: %s\n", ph.name, h.goroutines(), spread(ph.hitRatios(h)))
		}
	}
}

func opsOf(ts []trial) []float64 {
	var out []float64
	for _, t := range ts {
		out = append(out, t.ops)
	}
	return out
}

func p99Of(ts []trial) []time.Duration {
	var out []time.Duration
	for _, t := range ts {
		out = append(out, t.p99)
	}
	return out
}

func p50Of(ts []trial) []time.Duration {
	var out []time.Duration
	for _, t := range ts {
		out = append(out, t.p50)
	}
	return out
}
