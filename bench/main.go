package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/internal/redisproc"
	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/registry"
)

// allLevels are the goroutine counts of the report.
const allLevels = "1,8,64,256"

func main() {
	out := flag.String("o", "", "write the report (markdown) here; default stdout")
	svg := flag.String("svg", "", "write the chart (SVG) here")
	trial := flag.Duration("trial", 2*time.Second, "length of one measurement")
	rounds := flag.Int("rounds", 7, "rounds; each measures every client once, in turn")
	levels := flag.String("goroutines", allLevels, "the goroutine counts to measure, comma-separated")
	only := flag.String("clients", "", "measure only the clients whose names contain one of these comma-separated words")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the trials here")
	flag.Parse()
	if err := run(*out, *svg, *trial, *rounds, *levels, *only, *cpuprofile); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// client is one of the compared clients: a SET and a GET of key.
type client struct {
	name string
	op   func(ctx context.Context, key, value string) error
	// batches reads the batch counters of a wireredis connection (batches
	// sent, commands in them); nil for the others.
	batches func() (int64, int64)
}

func run(out, svg string, trial time.Duration, rounds int, levelList, only, cpuprofile string) error {
	levels, err := parseLevels(levelList)
	if err != nil {
		return err
	}
	server, err := redisproc.Start("--io-threads", "1")
	if err != nil {
		return err
	}
	defer server.Stop()
	pinned := pin(server)
	ctx := context.Background()

	// Both from the same settings: the part as a service gets it (the
	// registry's connection, its counters, the namespace), raw rueidis
	// with the ClientOption those settings make.
	opts, err := provider.LoadFrom([]string{"REDIS_URL=redis://" + server.Addr})
	if err != nil {
		return err
	}
	co, err := opts.ClientOption()
	if err != nil {
		return err
	}
	raw, err := rueidis.NewClient(co)
	if err != nil {
		return err
	}
	defer raw.Close()
	reg, closeRegistry := registry.New(slog.New(slog.DiscardHandler))
	defer closeRegistry()
	session, release, err := feature.ProvideSessionRedis(ctx, reg, opts)
	if err != nil {
		return err
	}
	defer release()
	part := session.Client
	gr := goredis.NewClient(&goredis.Options{Addr: server.Addr})
	defer func() { _ = gr.Close() }()

	clients := []client{
		{"raw rueidis", func(ctx context.Context, k, v string) error {
			if err := raw.Do(ctx, raw.B().Set().Key(k).Value(v).Build()).Error(); err != nil {
				return err
			}
			return raw.Do(ctx, raw.B().Get().Key(k).Build()).Error()
		}, nil},
		{"wireredis SessionRedis", func(ctx context.Context, k, v string) error {
			if err := part.Do(ctx, part.B().Set().Key(k).Value(v).Build()).Error(); err != nil {
				return err
			}
			return part.Do(ctx, part.B().Get().Key(k).Build()).Error()
		}, func() (int64, int64) {
			s := reg.Stats()[0]
			return s.Batches, s.BatchedCommands
		}},
		{"raw rueidis, prefix by hand", func(ctx context.Context, k, v string) error {
			k = "session:" + k // the keys SessionRedis stores: the same work for the server
			if err := raw.Do(ctx, raw.B().Set().Key(k).Value(v).Build()).Error(); err != nil {
				return err
			}
			return raw.Do(ctx, raw.B().Get().Key(k).Build()).Error()
		}, nil},
		{"go-redis, prefix by hand", func(ctx context.Context, k, v string) error {
			if err := gr.Set(ctx, "session:"+k, v, 0).Err(); err != nil {
				return err
			}
			return gr.Get(ctx, "session:"+k).Err()
		}, nil},
	}
	// A partial run (some clients, some goroutine counts) is for
	// exploring, a profile say: it prints the trials and writes no report.
	explore := only != "" || levelList != allLevels
	if only != "" {
		clients = slices.DeleteFunc(clients, func(c client) bool {
			for w := range strings.SplitSeq(only, ",") {
				if w != "" && strings.Contains(c.name, w) {
					return false
				}
			}
			return true
		})
		if len(clients) == 0 {
			return fmt.Errorf("-clients %q matches no client", only)
		}
	}
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	results := map[string]map[int][]float64{} // client → goroutines → ops/s per round
	for _, c := range clients {
		results[c.name] = map[int][]float64{}
	}
	for round := range rounds {
		for _, n := range levels {
			// A B C, then B C A, C A B: drift hits all alike, and no client
			// always follows the same one (whose garbage it would inherit).
			for i := range clients {
				c := clients[(i+round)%len(clients)]
				before, w0 := cpuTime(), writes()
				var b0, bc0 int64
				if c.batches != nil {
					b0, bc0 = c.batches()
				}
				ops, err := measure(ctx, c, n, trial)
				if err != nil {
					return fmt.Errorf("%s, %d goroutines: %w", c.name, n, err)
				}
				perCommand := (cpuTime() - before).Seconds() * 1e9 / (ops * trial.Seconds())
				perWrite := ops * trial.Seconds() / float64(writes()-w0)
				results[c.name][n] = append(results[c.name][n], ops)
				batched := ""
				if c.batches != nil {
					b1, bc1 := c.batches()
					if b1 > b0 {
						batched = fmt.Sprintf("  %5.1f commands/batch, %3.0f%% batched", float64(bc1-bc0)/float64(b1-b0), float64(bc1-bc0)*100/(ops*trial.Seconds()))
					}
				}
				fmt.Fprintf(os.Stderr, "round %d  %-28s %4d goroutines  %9.0f ops/s  %6.0f ns CPU/command  %5.1f commands/write%s\n", round+1, c.name, n, ops, perCommand, perWrite, batched)
			}
		}
	}
	if explore {
		for _, n := range levels {
			for _, c := range clients {
				var r []float64
				for i, v := range results[c.name][n] {
					r = append(r, v/results[clients[0].name][n][i])
				}
				fmt.Fprintf(os.Stderr, "median  %-28s %4d goroutines  %9.0f ops/s  %.3f × %s\n", c.name, n, median(results[c.name][n]), median(r), clients[0].name)
			}
		}
		return nil
	}
	hit, err := cacheHits(ctx, raw, part)
	if err != nil {
		return err
	}
	batch, err := batches(ctx, part, server.Addr)
	if err != nil {
		return err
	}
	report := render(results, clients, levels, hit, batch, machine(server.Addr, pinned, trial, rounds))
	if svg != "" {
		if err := os.WriteFile(svg, chart(results, clients, levels), 0o644); err != nil {
			return err
		}
	}
	if out == "" {
		fmt.Print(report)
		return nil
	}
	return os.WriteFile(out, []byte(report), 0o644)
}

func parseLevels(list string) ([]int, error) {
	var levels []int
	for f := range strings.SplitSeq(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-goroutines: %q is not a positive number", f)
		}
		levels = append(levels, n)
	}
	return levels, nil
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

// measure runs n goroutines doing SET+GET of random keys for d and
// returns commands per second.
func measure(ctx context.Context, c client, n int, d time.Duration) (float64, error) {
	var ops atomic.Int64
	var firstErr atomic.Value
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	value := "0123456789abcdef"
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seed := uint64(g)*0x9E3779B97F4A7C15 + 1
			for time.Now().Before(stop) {
				seed ^= seed << 13
				seed ^= seed >> 7
				seed ^= seed << 17
				if err := c.op(ctx, "k"+strconv.FormatUint(seed%100000, 10), value); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				ops.Add(2)
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return 0, err
	}
	return float64(ops.Load()) / d.Seconds(), nil
}

// pin puts the server on CPU 0 and this process on CPU 1 when taskset
// exists and there are two CPUs or more.
func pin(server *redisproc.Process) bool {
	if _, err := exec.LookPath("taskset"); err != nil {
		return false
	}
	out, err := exec.Command("nproc").Output()
	if n, _ := strconv.Atoi(strings.TrimSpace(string(out))); err != nil || n < 2 {
		return false
	}
	// -a: every thread of the process, not only its first.
	if exec.Command("taskset", "-a", "-pc", "0", strconv.Itoa(server.Pid())).Run() != nil {
		return false
	}
	return exec.Command("taskset", "-a", "-pc", "1", strconv.Itoa(os.Getpid())).Run() == nil
}
