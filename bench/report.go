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

// report is what make bench writes.
type report struct {
	machine string
	levels  []int
	trial   time.Duration
	rounds  int
	phases  []phase // pinned, unpinned
	cluster *phase
	multi   batch
	idle    idleParts
}

func findClient(clients []client, name string) rueidis.Client {
	for _, c := range clients {
		if c.name == name {
			return c.rueidis
		}
	}
	return nil
}

// batch compares DoMulti of 64 SET/GET through a part with
// redis-benchmark -P 16 (commands per second).
type batch struct{ part, redisBenchmark float64 }

func batches(ctx context.Context, clients []client, addr string) (batch, error) {
	part := findClient(clients, nameSession)
	if part == nil {
		return batch{}, fmt.Errorf("the DoMulti test needs SessionRedis")
	}
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
	rb, err := redisBenchmark(addr, true)
	if err != nil {
		return batch{}, err
	}
	return batch{part: float64(ops.Load()) / 2, redisBenchmark: rb}, nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return math.NaN()
	}
	return s[len(s)/2]
}

func medianDuration(v []time.Duration) time.Duration {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func machine(addr string) string {
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
	return fmt.Sprintf("%d CPUs (%s), %s, %s, redis-server %s (io-threads 1) on loopback (%s)",
		runtime.NumCPU(), cpu, runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH, version, addr)
}

// ratios pairs the rounds: a's commands per second over b's in the same
// round, whose trials ran close together.
func (ph *phase) ratios(a, b string, n int) []float64 {
	var r []float64
	for i := range ph.results[a][n] {
		r = append(r, ph.results[a][n][i].ops/ph.results[b][n][i].ops)
	}
	return r
}

// toRedisBenchmark pairs each round's trial of a with that round's
// redis-benchmark.
func (ph *phase) toRedisBenchmark(a string, n int) []float64 {
	var r []float64
	for i, t := range ph.results[a][n] {
		if i < len(ph.redisBenchmark) {
			r = append(r, t.ops/ph.redisBenchmark[i])
		}
	}
	return r
}

func (ph *phase) has(name string) bool { return slices.Contains(ph.clients, name) }

// spread is the median with the range.
func spread(r []float64) string {
	if len(r) == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f (%.2f–%.2f)", median(r), slices.Min(r), slices.Max(r))
}

func (ph *phase) title() string {
	switch {
	case ph.name == "cluster":
		return fmt.Sprintf("Cluster: three primaries, no replicas, pinned to CPU 0; the clients on CPU 1 (GOMAXPROCS %d)", ph.procs)
	case ph.pinned:
		return fmt.Sprintf("Pinned: redis-server on CPU 0, the clients on CPU 1 (GOMAXPROCS %d)", ph.procs)
	}
	return fmt.Sprintf("Unpinned: redis-server and the clients on both CPUs (GOMAXPROCS %d)", ph.procs)
}

func (r *report) render() string {
	var s strings.Builder
	s.WriteString("# Benchmarks\n\nWritten by `make bench` (the load generator in `bench/`); do not edit by hand.\n\n")
	fmt.Fprintf(&s, "Machine: %s; trials of %s, %d interleaved rounds", r.machine, r.trial, r.rounds)
	if r.cluster != nil {
		fmt.Fprintf(&s, " (the cluster run %d)", len(r.cluster.results[nameRaw][r.levels[0]]))
	}
	s.WriteString(".\n\n")
	s.WriteString("## SET+GET of random keys, 16-byte values\n\n")
	s.WriteString("Each goroutine sends a SET, then a GET, of one of 100,000 keys, and again, for the trial's length; each command is timed. The clients take turns, the order rotating each round, so that drift hits them alike; `redis-benchmark -P 16` (SET and GET, 16-byte values, 50 connections, 100,000 keys, on the clients' CPU when pinned) runs once a round, after the clients. Commands per second are the median of the rounds with their range; ratios are the medians of the per-round ratios (each pairs trials of the same round), with their range; latencies are the medians of the rounds' p50 and p99.\n\n")
	s.WriteString("The clients: raw rueidis with the `ClientOption` that `REDIS_URL` gives (rueidis's defaults); SessionRedis from a registry with the same settings (the shared connection, its counters, the namespace, `REDIS_BATCH=adaptive` by default); go-redis v9.23 and its `AutoPipeline()` (the blocking face, its default options), storing the same prefixed keys as SessionRedis; raw rueidis with `MaxFlushDelay` 20 µs.\n\n")
	for i := range r.phases {
		r.renderPhase(&s, &r.phases[i])
	}
	if r.cluster != nil {
		r.renderPhase(&s, r.cluster)
	}
	s.WriteString("![commands per second by goroutines, pinned and unpinned](benchmarks.svg)\n\n")
	if r.idle.k > 0 {
		fmt.Fprintf(&s, "## An idle part\n\n%d parts opened on one registry whose connection was already made (`feature.Open`, namespaces of 6 to 8 bytes, no command sent) grew the live heap by %.0f bytes and %.0f objects each (after two GCs).\n\n", r.idle.k, r.idle.bytesPerPart, r.idle.objectsPerPart)
	}
	r.renderTargets(&s)
	return s.String()
}

func (r *report) renderPhase(s *strings.Builder, ph *phase) {
	fmt.Fprintf(s, "### %s\n\n", ph.title())
	header := append([]string{"goroutines"}, ph.clients...)
	var peers []string
	for _, c := range ph.clients {
		if c != nameSession {
			peers = append(peers, c)
		}
	}
	rows := func(cell func(n int, client string) string, clients []string) [][]string {
		var out [][]string
		for _, n := range r.levels {
			row := []string{strconv.Itoa(n)}
			for _, c := range clients {
				row = append(row, cell(n, c))
			}
			out = append(out, row)
		}
		return out
	}
	rate := func(v []float64) string {
		return fmt.Sprintf("%.0f (%.0f–%.0f)", median(v), slices.Min(v), slices.Max(v))
	}
	s.WriteString("Commands per second:\n\n")
	opsRows := rows(func(n int, c string) string { return rate(opsOf(ph.results[c][n])) }, ph.clients)
	if len(ph.redisBenchmark) > 0 {
		header = append(header, nameRedisBen)
		for i := range opsRows {
			opsRows[i] = append(opsRows[i], rate(ph.redisBenchmark))
		}
	}
	table(s, header, opsRows)
	s.WriteString("\nLatency of one command, p50 / p99:\n\n")
	table(s, append([]string{"goroutines"}, ph.clients...), rows(func(n int, c string) string {
		return roundLatency(medianDuration(p50Of(ph.results[c][n]))) + " / " + roundLatency(medianDuration(p99Of(ph.results[c][n])))
	}, ph.clients))
	s.WriteString("\nSessionRedis against each peer (per-round ratios):\n\n")
	ratioHeader := []string{"goroutines"}
	for _, p := range peers {
		ratioHeader = append(ratioHeader, "SessionRedis / "+p)
	}
	table(s, ratioHeader, rows(func(n int, p string) string { return spread(ph.ratios(nameSession, p, n)) }, peers))
	if len(ph.redisBenchmark) > 0 {
		s.WriteString("\nEach client against `redis-benchmark -P 16` of the same round:\n\n")
		table(s, append([]string{"goroutines"}, ph.clients...), rows(func(n int, c string) string { return spread(ph.toRedisBenchmark(c, n)) }, ph.clients))
	}
	s.WriteString("\nHeap allocated per command, bytes and allocations (medians of the rounds; `runtime.MemStats` deltas over each trial, so the load generator's own key string, one allocation per SET+GET, is in every client's figure):\n\n")
	table(s, append([]string{"goroutines"}, ph.clients...), rows(func(n int, c string) string { return perCommand(ph.results[c][n]) }, ph.clients))
	if ph.hasHits() {
		s.WriteString("\nClient-side cache hit: DoCache of one hot key (GET, a minute's TTL) by every goroutine, with a context that cannot end, and under a deadline (a context with one, as a request handler's); hits per second (ns per hit), heap allocated per hit, and SessionRedis against raw rueidis given the same context (per-round ratios):\n\n")
		var hitRows [][]string
		for _, h := range hitCases {
			row := []string{h.String()}
			for _, c := range []string{nameRaw, nameSession} {
				v := opsOf(ph.hits[c][h])
				row = append(row, fmt.Sprintf("%.0f (%.0f ns) %s", median(v), 1e9/median(v), perCommand(ph.hits[c][h])))
			}
			hitRows = append(hitRows, append(row, spread(ph.hitRatios(h))))
		}
		table(s, []string{"goroutines", nameRaw, nameSession, "SessionRedis / raw rueidis"}, hitRows)
	}
	s.WriteString("\n")
}

// table writes a markdown table, its columns right-aligned.
func table(s *strings.Builder, header []string, rows [][]string) {
	s.WriteString("| " + strings.Join(header, " | ") + " |\n|")
	for range header {
		s.WriteString("---:|")
	}
	s.WriteString("\n")
	for _, row := range rows {
		s.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
}

func roundLatency(d time.Duration) string {
	switch {
	case d >= 10*time.Millisecond:
		return d.Round(time.Millisecond).String()
	case d >= 10*time.Microsecond:
		return d.Round(time.Microsecond).String()
	}
	return d.Round(100 * time.Nanosecond).String()
}

// target is one line of a targets table.
type target struct {
	what     string
	measured string
	met      bool
	short    string // by how much a missed target is missed
}

// ratioTarget is a target on a median of per-round ratios.
func ratioTarget(what string, v []float64, atLeast float64) target {
	m := median(v)
	return target{what: what, measured: spread(v) + " ×", met: m >= atLeast, short: percent((1-m/atLeast)*100) + " short"}
}

// percent rounds p to a whole per cent, or to a tenth under 1 %, so that
// a target missed narrowly does not read "0 % short".
func percent(p float64) string {
	if p < 1 {
		return fmt.Sprintf("%.1f %%", p)
	}
	return fmt.Sprintf("%.0f %%", p)
}

// latencyTarget is a target on a median of the rounds' p99: a's at most
// b's.
func latencyTarget(what string, a, b []time.Duration) target {
	ma, mb := medianDuration(a), medianDuration(b)
	return target{
		what:     what,
		measured: fmt.Sprintf("%s (%s–%s) vs %s (%s–%s)", roundLatency(ma), roundLatency(slices.Min(a)), roundLatency(slices.Max(a)), roundLatency(mb), roundLatency(slices.Min(b)), roundLatency(slices.Max(b))),
		met:      ma <= mb,
		short:    percent((float64(ma)/float64(mb)-1)*100) + " above",
	}
}

func writeTargets(s *strings.Builder, title string, ts []target) {
	fmt.Fprintf(s, "## %s\n\nMedians of the per-round ratios (or latencies) of the same run, with their range.\n\n| target | measured | met |\n|---|---:|:---:|\n", title)
	for _, t := range ts {
		met := "yes"
		switch {
		case t.short == "-":
			met = "–"
		case !t.met:
			met = "**no** (" + t.short + ")"
		}
		fmt.Fprintf(s, "| %s | %s | %s |\n", t.what, t.measured, met)
	}
	s.WriteString("\n")
}

// hitRatios pairs the rounds' cache-hit trials: SessionRedis's hits per
// second over raw rueidis's.
func (ph *phase) hitRatios(h hitCase) []float64 {
	var r []float64
	for i := range ph.hits[nameSession][h] {
		if i < len(ph.hits[nameRaw][h]) {
			r = append(r, ph.hits[nameSession][h][i].ops/ph.hits[nameRaw][h][i].ops)
		}
	}
	return r
}

func (ph *phase) hasHits() bool {
	return ph.hits != nil && ph.hits[nameSession] != nil && ph.hits[nameRaw] != nil
}

func bytesOf(ts []trial) []float64 {
	var out []float64
	for _, t := range ts {
		out = append(out, t.bytes)
	}
	return out
}

func allocsOf(ts []trial) []float64 {
	var out []float64
	for _, t := range ts {
		out = append(out, t.allocs)
	}
	return out
}

// perCommand is the median bytes and allocations per command of trials.
func perCommand(ts []trial) string {
	if len(ts) == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f B, %.1f allocs", median(bytesOf(ts)), median(allocsOf(ts)))
}

func (r *report) issue25Targets() []target {
	var ts []target
	for i := range r.phases {
		ph := &r.phases[i]
		if !ph.pinned || len(ph.redisBenchmark) == 0 || !ph.has(nameSession) {
			continue
		}
		for _, w := range []struct {
			n    int
			want float64
		}{{256, 0.85}, {1024, 0.95}} {
			if slices.Contains(r.levels, w.n) {
				ts = append(ts, ratioTarget(fmt.Sprintf("SessionRedis ≥ %.2f× `redis-benchmark -P 16`, %d goroutines, %s", w.want, w.n, ph.name), ph.toRedisBenchmark(nameSession, w.n), w.want))
			}
		}
	}
	for i := range r.phases {
		ph := &r.phases[i]
		if !ph.hasHits() {
			continue
		}
		for _, h := range hitCases {
			ts = append(ts, ratioTarget(fmt.Sprintf("cache hit (DoCache of a hot key): SessionRedis ≥ 0.9× raw rueidis, %s, %s", h.goroutines(), ph.name), ph.hitRatios(h), 0.9))
		}
	}
	for i := range r.phases {
		ph := &r.phases[i]
		if !ph.has(nameSession) || !ph.has(nameAuto) {
			continue
		}
		for _, n := range []int{64, 256, 1024} {
			if slices.Contains(r.levels, n) {
				ts = append(ts, latencyTarget(fmt.Sprintf("SessionRedis p99 ≤ go-redis AutoPipeline p99, %d goroutines, %s", n, ph.name), p99Of(ph.results[nameSession][n]), p99Of(ph.results[nameAuto][n])))
			}
		}
	}
	for i := range r.phases {
		ph := &r.phases[i]
		if !ph.has(nameSession) || !ph.has(nameRaw) {
			continue
		}
		for _, n := range []int{1, 8} {
			if slices.Contains(r.levels, n) {
				ts = append(ts, ratioTarget(fmt.Sprintf("SessionRedis ≥ 1.0× raw rueidis, %d goroutines, %s", n, ph.name), ph.ratios(nameSession, nameRaw, n), 1))
			}
		}
	}
	if len(r.phases) > 0 {
		ph := &r.phases[0]
		for _, n := range []int{1, 256} {
			if slices.Contains(r.levels, n) && ph.has(nameSession) && ph.has(nameRaw) {
				ts = append(ts, target{
					what:     fmt.Sprintf("bytes allocated per command reported, SET+GET, %d goroutines, %s", n, ph.name),
					measured: fmt.Sprintf("SessionRedis %s; raw rueidis %s", perCommand(ph.results[nameSession][n]), perCommand(ph.results[nameRaw][n])),
					short:    "-",
				})
			}
		}
	}
	if r.idle.k > 0 {
		ts = append(ts, target{
			what:     "bytes per idle part reported",
			measured: fmt.Sprintf("%.0f B, %.0f objects (heap growth / %d parts)", r.idle.bytesPerPart, r.idle.objectsPerPart, r.idle.k),
			short:    "-",
		})
	}
	return ts
}

func (r *report) issue15Targets() []target {
	var ts []target
	ratio := func(ph *phase, what string, b string, n int, atLeast float64) {
		if !ph.has(nameSession) || !ph.has(b) || !slices.Contains(r.levels, n) {
			return
		}
		ts = append(ts, ratioTarget(what, ph.ratios(nameSession, b, n), atLeast))
	}
	for i := range r.phases {
		ph := &r.phases[i]
		for _, n := range []int{64, 256} {
			want := 3.0
			if !ph.pinned {
				want = 2.0
			}
			ratio(ph, fmt.Sprintf("SessionRedis ≥ %.0f× raw rueidis, %d goroutines, %s", want, n, ph.name), nameRaw, n, want)
		}
	}
	for i := range r.phases {
		ph := &r.phases[i]
		for _, n := range []int{64, 256, 1024} {
			ratio(ph, fmt.Sprintf("SessionRedis ≥ 1.3× go-redis AutoPipeline, %d goroutines, %s", n, ph.name), nameAuto, n, 1.3)
		}
	}
	for i := range r.phases {
		ph := &r.phases[i]
		if !ph.pinned || len(ph.redisBenchmark) == 0 || !slices.Contains(r.levels, 256) || !ph.has(nameSession) || !ph.has(nameRaw) {
			continue
		}
		ts = append(ts, ratioTarget("SessionRedis ≥ 0.9× `redis-benchmark -P 16`, 256 goroutines, "+ph.name, ph.toRedisBenchmark(nameSession, 256), 0.9))
		ts = append(ts, latencyTarget("SessionRedis p99 ≤ raw rueidis p99, 256 goroutines, "+ph.name, p99Of(ph.results[nameSession][256]), p99Of(ph.results[nameRaw][256])))
	}
	if r.cluster != nil {
		ratio(r.cluster, "SessionRedis ≥ 2× raw rueidis, 256 goroutines, cluster", nameRaw, 256, 2)
	}
	if r.multi.redisBenchmark > 0 {
		br := r.multi.part / r.multi.redisBenchmark
		ts = append(ts, target{
			what:     "DoMulti of 64 SET/GET through SessionRedis ≥ 0.5 × `redis-benchmark -P 16`, pinned (issue 7)",
			measured: fmt.Sprintf("%.2f × (%.0f vs %.0f commands/s)", br, r.multi.part, r.multi.redisBenchmark),
			met:      br >= 0.5,
			short:    percent((1-br/0.5)*100) + " short",
		})
	}
	ts = append(ts, target{what: "allocations per command ≤ raw rueidis + 2, at every concurrency", measured: "asserted by `TestAllocationsAgainstRedis` and `TestAllocationsConcurrent` (`feature/alloc_test.go`, `make test`)", short: "-"})
	return ts
}

func (r *report) renderTargets(s *strings.Builder) {
	writeTargets(s, "Against the targets (issue 25)", r.issue25Targets())
	writeTargets(s, "Earlier targets (issues 15 and 7)", r.issue15Targets())
	s.WriteString("SessionRedis is the part as a service gets it: from the registry, over the connection the same `REDIS_URL` gives raw rueidis. Its connection batches (`REDIS_BATCH=adaptive`, the default): a `Do` that finds 16 or more `Do` calls under way joins them in one `DoMulti`; otherwise it goes straight to rueidis (docs/batching.md). The notes below say why the figures are what they are.\n\n")
	s.WriteString("Allocations per command (at most 2 more than raw rueidis) are asserted by `TestRewriteAllocations`, `TestAllocationsAgainstRedis` and `TestAllocationsConcurrent` in `feature/alloc_test.go`; the connections of K parts (K = 1, 10, 100) by `TestKPartsOpenWhatOneClientOpens`. The Go benchmarks below show both side by side.\n")
}

// chart draws commands per second against goroutines, one line a client
// and a dashed one for redis-benchmark -P 16, for the pinned and the
// unpinned run side by side.
func (r *report) chart() []byte {
	const panelW, h, left, bottom, top, gap, legendH = 420, 380, 70, 40, 30, 30, 110
	w := left + len(r.phases)*(panelW+gap)
	maxV := 0.0
	for _, ph := range r.phases {
		for _, c := range ph.clients {
			for _, n := range r.levels {
				maxV = math.Max(maxV, median(opsOf(ph.results[c][n])))
			}
		}
		maxV = math.Max(maxV, median(ph.redisBenchmark))
	}
	maxV *= 1.1
	colors := []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"}
	plotH := h - bottom - top
	y := func(v float64) float64 { return float64(top+plotH) - v/maxV*float64(plotH) }
	var s strings.Builder
	fmt.Fprintf(&s, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", w, h+legendH)
	fmt.Fprintf(&s, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h+legendH)
	for pi, ph := range r.phases {
		x0 := left + pi*(panelW+gap)
		x := func(i int) float64 {
			return float64(x0) + float64(i)*float64(panelW-20)/float64(max(1, len(r.levels)-1))
		}
		fmt.Fprintf(&s, `<text x="%d" y="%d" text-anchor="middle" font-weight="bold">%s</text>`+"\n", x0+panelW/2, top-10, ph.name)
		fmt.Fprintf(&s, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/><line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", x0, top+plotH, x0+panelW-10, top+plotH, x0, top, x0, top+plotH)
		for i := 0; i <= 4; i++ {
			v := maxV * float64(i) / 4
			fmt.Fprintf(&s, `<text x="%d" y="%.0f" text-anchor="end">%.0fk</text>`+"\n", x0-6, y(v)+4, v/1000)
			fmt.Fprintf(&s, `<line x1="%d" y1="%.0f" x2="%d" y2="%.0f" stroke="#ddd"/>`+"\n", x0, y(v), x0+panelW-10, y(v))
		}
		for i, n := range r.levels {
			fmt.Fprintf(&s, `<text x="%.0f" y="%d" text-anchor="middle">%d</text>`+"\n", x(i), top+plotH+16, n)
		}
		fmt.Fprintf(&s, `<text x="%d" y="%d" text-anchor="middle">goroutines</text>`+"\n", x0+panelW/2, top+plotH+32)
		for ci, c := range ph.clients {
			var pts []string
			for i, n := range r.levels {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(median(opsOf(ph.results[c][n])))))
			}
			fmt.Fprintf(&s, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", colors[ci%len(colors)], strings.Join(pts, " "))
		}
		if len(ph.redisBenchmark) > 0 {
			yv := y(median(ph.redisBenchmark))
			fmt.Fprintf(&s, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="black" stroke-dasharray="6,4"/>`+"\n", x0, yv, x0+panelW-10, yv)
		}
	}
	fmt.Fprintf(&s, `<text x="14" y="%d" transform="rotate(-90 14 %d)" text-anchor="middle">commands/s</text>`+"\n", top+plotH/2, top+plotH/2)
	if len(r.phases) > 0 {
		for ci, c := range r.phases[0].clients {
			lx, ly := left+(ci%3)*230, h+10+(ci/3)*22
			fmt.Fprintf(&s, `<rect x="%d" y="%d" width="14" height="3" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n", lx, ly, colors[ci%len(colors)], lx+20, ly+5, c)
		}
		lx, ly := left, h+10+((len(r.phases[0].clients)+2)/3)*22
		fmt.Fprintf(&s, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black" stroke-dasharray="6,4"/><text x="%d" y="%d">%s (its median)</text>`+"\n", lx, ly+2, lx+14, ly+2, lx+20, ly+5, nameRedisBen)
	}
	s.WriteString("</svg>\n")
	return []byte(s.String())
}
