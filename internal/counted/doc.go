// Package counted wraps a shared rueidis.Client so that its commands are
// counted (sent, failed, in flight) and its Close is left to its owner.
//
// The registry hands a *Client out for each connection it has made; the
// feature package recognises the type and calls it directly: an interface
// dispatch less on every command, which a load test with hundreds of
// goroutines measures (docs/benchmarks.md).
package counted
