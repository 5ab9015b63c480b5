// Command bench is the load generator of make bench: it drives raw
// rueidis, feature.SessionRedis (from a registry) and go-redis (with the prefix written by hand)
// against one redis-server, interleaving the clients round by round, and
// writes docs/benchmarks.md and its chart. It is a module of its own so
// that go-redis stays out of wireredis's dependencies.
package main
