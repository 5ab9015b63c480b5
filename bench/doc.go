// Command bench is the load generator of make bench: it drives raw
// rueidis, feature.SessionRedis (from a registry), raw rueidis with the
// prefix written by hand and go-redis (prefix by hand too) against one
// redis-server, interleaving the clients round by round, and writes
// docs/benchmarks.md and its chart. It is a module of its own so that
// go-redis stays out of wireredis's dependencies.
//
// For exploring, -clients and -goroutines narrow a run (no report is
// written then) and -cpuprofile profiles it:
//
//	go run . -clients 'raw rueidis,SessionRedis' -goroutines 256 -rounds 12 -cpuprofile /tmp/cpu.prof
//
// Each trial line gives the process's CPU time per command, the commands
// per write system call (/proc/self/io) and the heap allocated per command
// (runtime.MemStats): with the client on one CPU, throughput is the
// inverse of the first, and the second shows how much rueidis's
// pipelining batched. Each round also measures cache hits (DoCache of one
// hot key) of raw rueidis and SessionRedis at 1 and 64 goroutines; -hits=false
// leaves them out, for a profile of SET+GET alone:
//
//	go run . -clients SessionRedis -goroutines 256 -phases pinned -rounds 4 -trial 2s -hits=false -cpuprofile /tmp/cpu.prof
//
// The full run ends with the heap an idle part holds (1000 parts opened
// on one registry).
package main
