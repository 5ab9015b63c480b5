package main

import (
	"strings"
	"testing"
	"time"
)

// TestRender: the report has every table and every target, and says by
// how much a missed target is short.
func TestRender(t *testing.T) {
	levels := []int{1, 8, 64, 256, 1024}
	clients := []string{nameRaw, nameSession, nameGoRedis, nameAuto, nameFlush20}
	phaseOf := func(name string, pinned bool, session float64) phase {
		ph := phase{name: name, pinned: pinned, procs: 1, clients: clients, results: map[string]map[int][]trial{}}
		for _, c := range clients {
			ph.results[c] = map[int][]trial{}
			for _, n := range levels {
				ops := 100000.0
				if c == nameSession {
					ops *= session
				}
				for range 3 {
					ph.results[c][n] = append(ph.results[c][n], trial{ops: ops, p50: time.Millisecond, p99: 2 * time.Millisecond})
				}
			}
		}
		ph.redisBenchmark = []float64{500000, 500000, 500000}
		return ph
	}
	cluster := phaseOf("cluster", true, 2.5)
	cluster.clients, cluster.redisBenchmark = clients[:2], nil
	r := report{machine: "test", levels: levels, trial: time.Second, rounds: 3,
		phases: []phase{phaseOf("pinned", true, 4), phaseOf("unpinned", false, 1.5)}, cluster: &cluster,
		hit: cacheHit{raw: 100, part: 120}, multi: batch{part: 600000, redisBenchmark: 500000}}
	text := r.render()
	for _, want := range []string{
		"| 256 | 100000 (100000–100000) | 400000 (400000–400000) |",
		"| 256 | 1ms / 2ms |",
		"| goroutines | SessionRedis / raw rueidis | SessionRedis / go-redis | SessionRedis / go-redis AutoPipeline |",
		"| SessionRedis ≥ 3× raw rueidis, 64 goroutines, pinned | 4.00 (4.00–4.00) × | yes |",
		"| SessionRedis ≥ 2× raw rueidis, 256 goroutines, unpinned | 1.50 (1.50–1.50) × | **no** (25 % short) |",
		"| SessionRedis ≥ 0.9× `redis-benchmark -P 16`, 256 goroutines, pinned | 0.80 (0.80–0.80) × | **no** (11 % short) |",
		"| SessionRedis ≥ 2× raw rueidis, 256 goroutines, cluster | 2.50 (2.50–2.50) × | yes |",
		"### Cluster",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
	if svg := string(r.chart()); !strings.Contains(svg, nameAuto) || !strings.Contains(svg, nameRedisBen) {
		t.Error("the chart's legend lacks a peer")
	}
}
