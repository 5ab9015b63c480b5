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
		ph.hits = map[string]map[hitCase][]trial{nameRaw: {}, nameSession: {}}
		for _, h := range hitCases {
			for range 3 {
				ph.hits[nameRaw][h] = append(ph.hits[nameRaw][h], trial{ops: 4e6, bytes: 0})
				ph.hits[nameSession][h] = append(ph.hits[nameSession][h], trial{ops: 3.4e6, bytes: 0})
			}
		}
		return ph
	}
	cluster := phaseOf("cluster", true, 2.5)
	cluster.clients, cluster.redisBenchmark, cluster.hits = clients[:2], nil, nil
	r := report{machine: "test", levels: levels, trial: time.Second, rounds: 3,
		phases: []phase{phaseOf("pinned", true, 4), phaseOf("unpinned", false, 1.5)}, cluster: &cluster,
		multi: batch{part: 600000, redisBenchmark: 500000}, idle: idleParts{k: 1000, bytesPerPart: 4500, objectsPerPart: 30}}
	text := r.render()
	for _, want := range []string{
		"| 256 | 100000 (100000–100000) | 400000 (400000–400000) |",
		"| 256 | 1ms / 2ms |",
		"| goroutines | SessionRedis / raw rueidis | SessionRedis / go-redis | SessionRedis / go-redis AutoPipeline |",
		"| SessionRedis ≥ 3× raw rueidis, 64 goroutines, pinned | 4.00 (4.00–4.00) × | yes |",
		"| SessionRedis ≥ 2× raw rueidis, 256 goroutines, unpinned | 1.50 (1.50–1.50) × | **no** (25 % short) |",
		"| SessionRedis ≥ 0.9× `redis-benchmark -P 16`, 256 goroutines, pinned | 0.80 (0.80–0.80) × | **no** (11 % short) |",
		"## Against the targets (issue 25)",
		"| SessionRedis ≥ 0.85× `redis-benchmark -P 16`, 256 goroutines, pinned | 0.80 (0.80–0.80) × | **no** (6 % short) |",
		"| cache hit (DoCache of a hot key): SessionRedis ≥ 0.9× raw rueidis, 64 goroutines, unpinned | 0.85 (0.85–0.85) × | **no** (6 % short) |",
		"| SessionRedis p99 ≤ go-redis AutoPipeline p99, 256 goroutines, pinned | 2ms (2ms–2ms) vs 2ms (2ms–2ms) | yes |",
		"| SessionRedis ≥ 1.0× raw rueidis, 8 goroutines, unpinned | 1.50 (1.50–1.50) × | yes |",
		"| bytes per idle part reported | 4500 B, 30 objects (heap growth / 1000 parts) | – |",
		"| cache hit (DoCache of a hot key): SessionRedis ≥ 0.9× raw rueidis, 1 goroutines, pinned | 0.85 (0.85–0.85) × | **no** (6 % short) |",
		"| 64 | 4000000 (250 ns) 0 B, 0.0 allocs | 3400000 (294 ns) 0 B, 0.0 allocs | 0.85 (0.85–0.85) |",
		"| 64, under a deadline | 4000000 (250 ns) 0 B, 0.0 allocs | 3400000 (294 ns) 0 B, 0.0 allocs | 0.85 (0.85–0.85) |",
		"| cache hit (DoCache of a hot key): SessionRedis ≥ 0.9× raw rueidis, 1 goroutines, under a deadline, pinned | 0.85 (0.85–0.85) × | **no** (6 % short) |",
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

// TestPercent: a target missed narrowly says by how much, not "0 %".
func TestPercent(t *testing.T) {
	for p, want := range map[float64]string{0.44: "0.4 %", 12.4: "12 %", 1: "1 %"} {
		if got := percent(p); got != want {
			t.Errorf("percent(%v) = %q, want %q", p, got, want)
		}
	}
}
