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
// Each trial line gives the process's CPU time per command and the
// commands per write system call (/proc/self/io): with the client on one
// CPU, throughput is the inverse of the first, and the second shows how
// much rueidis's pipelining batched.
package main
