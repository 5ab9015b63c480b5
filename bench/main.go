package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/internal/redisproc"
	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/registry"
)

// allLevels are the goroutine counts of the report.
const allLevels = "1,8,64,256,1024"

// idlePartsK is how many parts the idle-part measurement opens.
const idlePartsK = 1000

// The clients' names, as the report and -clients know them.
const (
	nameRaw      = "raw rueidis"
	nameSession  = "wireredis SessionRedis"
	nameGoRedis  = "go-redis"
	nameAuto     = "go-redis AutoPipeline"
	nameFlush20  = "rueidis MaxFlushDelay 20µs"
	nameRedisBen = "redis-benchmark -P 16"
)

func main() {
	out := flag.String("o", "", "write the report (markdown) here; default stdout")
	svg := flag.String("svg", "", "write the chart (SVG) here")
	trial := flag.Duration("trial", time.Second, "length of one measurement")
	rounds := flag.Int("rounds", 7, "rounds; each measures every client once, in turn")
	clusterRounds := flag.Int("cluster-rounds", 5, "rounds of the cluster run (0: none)")
	levels := flag.String("goroutines", allLevels, "the goroutine counts to measure, comma-separated")
	only := flag.String("clients", "", "measure only the clients whose names contain one of these comma-separated words")
	phases := flag.String("phases", "pinned,unpinned", "the runs on one server: pinned (taskset: server on CPU 0, clients on CPU 1) and unpinned")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the trials here")
	hits := flag.Bool("hits", true, "measure cache hits (DoCache of a hot key) each round, after SET+GET")
	flag.Parse()
	cfg := config{out: *out, svg: *svg, trial: *trial, rounds: *rounds, clusterRounds: *clusterRounds, levelList: *levels, only: *only, phaseList: *phases, cpuprofile: *cpuprofile, hits: *hits}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type config struct {
	out, svg, levelList, only, phaseList, cpuprofile string
	trial                                            time.Duration
	rounds, clusterRounds                            int
	hits                                             bool
}

// client is one of the compared clients: a SET or a GET of a key.
type client struct {
	name string
	do   func(ctx context.Context, get bool, key, value string) error
	// batches reads the batch counters of a wireredis connection (batches
	// sent, commands in them); nil for the others.
	batches func() (int64, int64)
	// rueidis is the client under a rueidis-based one, for the cache-hit
	// and DoMulti measurements.
	rueidis rueidis.Client
}

func run(cfg config) error {
	levels, err := parseLevels(cfg.levelList)
	if err != nil {
		return err
	}
	server, err := redisproc.Start("--io-threads", "1")
	if err != nil {
		return err
	}
	defer server.Stop()
	ctx := context.Background()
	clients, closeClients, err := standaloneClients(ctx, server.Addr)
	if err != nil {
		return err
	}
	defer closeClients()
	// A partial run (some clients, some goroutine counts) is for
	// exploring, a profile say: it prints the trials and writes no report.
	explore := cfg.only != "" || cfg.levelList != allLevels
	if clients, err = pick(clients, cfg.only); err != nil {
		return err
	}
	if cfg.cpuprofile != "" {
		f, err := os.Create(cfg.cpuprofile)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	rep := report{levels: levels, trial: cfg.trial, rounds: cfg.rounds}
	for _, name := range strings.Split(cfg.phaseList, ",") {
		pinned := name == "pinned"
		if !pinned && name != "unpinned" {
			return fmt.Errorf("-phases: %q is neither pinned nor unpinned", name)
		}
		if err := placeProcesses(pinned, server.Pid()); err != nil {
			return err
		}
		ph := phase{name: name, pinned: pinned, procs: runtime.GOMAXPROCS(0), clients: names(clients), results: newResults(clients)}
		if cfg.hits {
			ph.hits = newHits(clients)
		}
		fmt.Fprintf(os.Stderr, "%s: GOMAXPROCS %d\n", name, ph.procs)
		for round := range cfg.rounds {
			if err := measureRound(ctx, &ph, clients, levels, round, cfg.trial); err != nil {
				return err
			}
			if !explore {
				rb, err := redisBenchmark(server.Addr, pinned)
				if err != nil {
					return err
				}
				ph.redisBenchmark = append(ph.redisBenchmark, rb)
				fmt.Fprintf(os.Stderr, "round %d  %-28s %9.0f ops/s\n", round+1, nameRedisBen, rb)
			}
		}
		rep.phases = append(rep.phases, ph)
	}
	if explore {
		for _, ph := range rep.phases {
			ph.printMedians(levels)
		}
		return nil
	}
	// The issue-7 DoMulti measurement, pinned as the first run.
	if err := placeProcesses(true, server.Pid()); err != nil {
		return err
	}
	if rep.multi, err = batches(ctx, clients, server.Addr); err != nil {
		return err
	}
	if rep.idle, err = measureIdleParts(ctx, server.Addr, idlePartsK); err != nil {
		return fmt.Errorf("idle parts: %w", err)
	}
	if cfg.clusterRounds > 0 {
		ph, err := clusterRun(ctx, levels, cfg.clusterRounds, cfg.trial)
		if err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
		rep.cluster = &ph
	}
	rep.machine = machine(server.Addr)
	if cfg.svg != "" {
		if err := os.WriteFile(cfg.svg, rep.chart(), 0o644); err != nil {
			return err
		}
	}
	text := rep.render()
	if cfg.out == "" {
		fmt.Print(text)
		return nil
	}
	return os.WriteFile(cfg.out, []byte(text), 0o644)
}

// standaloneClients are the compared clients of one server. SessionRedis
// and raw rueidis come from the same settings: the part as a service gets
// it (the registry's connection, its counters, batching, the namespace),
// raw rueidis with the ClientOption those settings make. go-redis and its
// AutoPipeline store the same prefixed keys as SessionRedis.
func standaloneClients(ctx context.Context, addr string) ([]client, func(), error) {
	var closers []func()
	closeAll := func() {
		for _, c := range slices.Backward(closers) {
			c()
		}
	}
	opts, err := provider.LoadFrom([]string{"REDIS_URL=redis://" + addr})
	if err != nil {
		return nil, nil, err
	}
	co, err := opts.ClientOption()
	if err != nil {
		return nil, nil, err
	}
	raw, err := rueidis.NewClient(co)
	if err != nil {
		return nil, nil, err
	}
	closers = append(closers, raw.Close)
	co.MaxFlushDelay = 20 * time.Microsecond
	delayed, err := rueidis.NewClient(co)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	closers = append(closers, delayed.Close)
	reg, closeRegistry := registry.New(slog.New(slog.DiscardHandler))
	closers = append(closers, closeRegistry)
	session, release, err := feature.ProvideSessionRedis(ctx, reg, opts)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	closers = append(closers, release)
	gr := goredis.NewClient(&goredis.Options{Addr: addr})
	closers = append(closers, func() { _ = gr.Close() })
	ap, err := gr.AutoPipeline()
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	closers = append(closers, func() { _ = ap.Close() })
	clients := []client{
		rueidisClient(nameRaw, raw),
		rueidisClient(nameSession, session.Client),
		{name: nameGoRedis, do: func(ctx context.Context, get bool, k, v string) error {
			if get {
				return ignoreNil(gr.Get(ctx, "session:"+k).Err())
			}
			return gr.Set(ctx, "session:"+k, v, 0).Err()
		}},
		{name: nameAuto, do: func(ctx context.Context, get bool, k, v string) error {
			if get {
				return ignoreNil(ap.Get(ctx, "session:"+k).Err())
			}
			return ap.Set(ctx, "session:"+k, v, 0).Err()
		}},
		rueidisClient(nameFlush20, delayed),
	}
	clients[1].batches = func() (int64, int64) {
		s := reg.Stats()[0]
		return s.Batches, s.BatchedCommands
	}
	return clients, closeAll, nil
}

func rueidisClient(name string, c rueidis.Client) client {
	return client{name: name, rueidis: c, do: func(ctx context.Context, get bool, k, v string) error {
		if get {
			return ignoreNil(c.Do(ctx, c.B().Get().Key(k).Build()).Error())
		}
		return c.Do(ctx, c.B().Set().Key(k).Value(v).Build()).Error()
	}}
}

func ignoreNil(err error) error {
	if errors.Is(err, goredis.Nil) || rueidis.IsRedisNil(err) {
		return nil
	}
	return err
}

func pick(clients []client, only string) ([]client, error) {
	if only == "" {
		return clients, nil
	}
	clients = slices.DeleteFunc(clients, func(c client) bool {
		for w := range strings.SplitSeq(only, ",") {
			if w != "" && strings.Contains(c.name, w) {
				return false
			}
		}
		return true
	})
	if len(clients) == 0 {
		return nil, fmt.Errorf("-clients %q matches no client", only)
	}
	return clients, nil
}

func names(clients []client) []string {
	var out []string
	for _, c := range clients {
		out = append(out, c.name)
	}
	return out
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
