package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/internal/redisproc"
	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/registry"
)

// clusterRun measures raw rueidis and SessionRedis against a cluster of
// three primaries (no replicas), the servers on CPU 0 and the clients on
// CPU 1.
func clusterRun(ctx context.Context, levels []int, rounds int, d time.Duration) (phase, error) {
	var nodes []*redisproc.Process
	defer func() {
		for _, n := range nodes {
			n.Stop()
		}
	}()
	var addrs []string
	for range 3 {
		bus, err := redisproc.FreePort()
		if err != nil {
			return phase{}, err
		}
		p, err := redisproc.Start("--io-threads", "1", "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-port", strconv.Itoa(bus))
		if err != nil {
			return phase{}, err
		}
		nodes = append(nodes, p)
		addrs = append(addrs, p.Addr)
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		return phase{}, fmt.Errorf("redis-cli --cluster create: %w\n%s", err, out)
	}
	if err := waitClusterOK(addrs); err != nil {
		return phase{}, err
	}
	for _, n := range nodes {
		if err := placeProcesses(true, n.Pid()); err != nil {
			return phase{}, err
		}
	}
	opts, err := provider.LoadFrom([]string{"REDIS_ADDRS=" + strings.Join(addrs, ",")})
	if err != nil {
		return phase{}, err
	}
	co, err := opts.ClientOption()
	if err != nil {
		return phase{}, err
	}
	raw, err := rueidis.NewClient(co)
	if err != nil {
		return phase{}, err
	}
	defer raw.Close()
	reg, closeRegistry := registry.New(slog.New(slog.DiscardHandler))
	defer closeRegistry()
	session, release, err := feature.ProvideSessionRedis(ctx, reg, opts)
	if err != nil {
		return phase{}, err
	}
	defer release()
	if raw.Mode() != rueidis.ClientModeCluster {
		return phase{}, fmt.Errorf("raw rueidis is in mode %s, not a cluster client", raw.Mode())
	}
	clients := []client{rueidisClient(nameRaw, raw), rueidisClient(nameSession, session.Client)}
	clients[1].batches = func() (int64, int64) {
		s := reg.Stats()[0]
		return s.Batches, s.BatchedCommands
	}
	ph := phase{name: "cluster", pinned: true, procs: runtime.GOMAXPROCS(0), clients: names(clients), results: newResults(clients)}
	for round := range rounds {
		if err := measureRound(ctx, &ph, clients, levels, round, d); err != nil {
			return phase{}, err
		}
	}
	return ph, nil
}

// waitClusterOK waits until every node says cluster_state:ok.
func waitClusterOK(addrs []string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok := true
		for _, a := range addrs {
			host, port, _ := strings.Cut(a, ":")
			out, err := exec.Command("redis-cli", "-h", host, "-p", port, "cluster", "info").Output()
			if err != nil || !strings.Contains(string(out), "cluster_state:ok") {
				ok = false
				break
			}
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the cluster did not reach cluster_state:ok within 30s")
		}
		fmt.Fprintln(os.Stderr, "cluster: waiting for cluster_state:ok")
		time.Sleep(200 * time.Millisecond)
	}
}
