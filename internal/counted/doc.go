// Package counted wraps a shared rueidis.Client so that its commands are
// counted (sent, failed, in flight), its Close is left to its owner, and,
// under load, its single commands are batched.
//
// The registry makes one *Client for each connection it opens and hands
// it out, as a rueidis.Client, to the parts that share the connection;
// only the registry knows the type (its Stats read the counters, and its
// close waits for the commands in flight).
//
// Its Receive runs each subscription on a connection of its own (package
// apart), and its other calls refuse one: on the pipeline, Redis 7.0 and
// 6.2 write a subscription's messages inside other replies, where
// rueidis's reader goroutine panics on them. They refuse, on its
// dedicated connections too, the other commands apart.Classify names.
//
// With batching on (REDIS_BATCH=adaptive), a Do that finds other Do calls
// under way joins them in one DoMulti; alone, it goes straight to rueidis.
// docs/batching.md says how the batches form and what stays as rueidis
// does it (contexts, blocking commands, retries, cluster slots, close).
package counted
