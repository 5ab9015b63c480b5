package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/internal/redisproc"
	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/registry"
)

func main() {
	out := flag.String("o", "", "write the report (markdown) here; default stdout")
	svg := flag.String("svg", "", "write the chart (SVG) here")
	trial := flag.Duration("trial", 2*time.Second, "length of one measurement")
	rounds := flag.Int("rounds", 5, "rounds; each measures every client once, in turn")
	flag.Parse()
	if err := run(*out, *svg, *trial, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// client is one of the compared clients: a SET and a GET of key.
type client struct {
	name string
	op   func(ctx context.Context, key, value string) error
}

func run(out, svg string, trial time.Duration, rounds int) error {
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
		}},
		{"wireredis SessionRedis", func(ctx context.Context, k, v string) error {
			if err := part.Do(ctx, part.B().Set().Key(k).Value(v).Build()).Error(); err != nil {
				return err
			}
			return part.Do(ctx, part.B().Get().Key(k).Build()).Error()
		}},
		{"raw rueidis, prefix by hand", func(ctx context.Context, k, v string) error {
			k = "session:" + k // the keys SessionRedis stores: the same work for the server
			if err := raw.Do(ctx, raw.B().Set().Key(k).Value(v).Build()).Error(); err != nil {
				return err
			}
			return raw.Do(ctx, raw.B().Get().Key(k).Build()).Error()
		}},
		{"go-redis, prefix by hand", func(ctx context.Context, k, v string) error {
			if err := gr.Set(ctx, "session:"+k, v, 0).Err(); err != nil {
				return err
			}
			return gr.Get(ctx, "session:"+k).Err()
		}},
	}
	levels := []int{1, 8, 64, 256}
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
				ops, err := measure(ctx, c, n, trial)
				if err != nil {
					return fmt.Errorf("%s, %d goroutines: %w", c.name, n, err)
				}
				results[c.name][n] = append(results[c.name][n], ops)
				fmt.Fprintf(os.Stderr, "round %d  %-26s %4d goroutines  %9.0f ops/s\n", round+1, c.name, n, ops)
			}
		}
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
