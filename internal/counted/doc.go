// Package counted wraps a shared rueidis.Client so that its commands are
// counted (sent, failed, in flight), its Close is left to its owner, and,
// under load, its single commands are batched.
//
// The registry hands a *Client out for each connection it has made; the
// feature package recognises the type and calls it directly: an interface
// dispatch less on every command, which a load test with hundreds of
// goroutines measures (docs/benchmarks.md).
//
// With batching on (REDIS_BATCH=adaptive), a Do that finds other Do calls
// under way joins them in one DoMulti; alone, it goes straight to rueidis.
// docs/batching.md says how the batches form and what stays as rueidis
// does it (contexts, blocking commands, retries, cluster slots, close).
package counted
