// Package registry shares Redis connections between the parts of a service
// and counts their references.
//
// Parts whose provider.Options have the same ConnectionKey get the same
// rueidis.Client; the last release closes it, within its
// ShutdownTimeout even when the server stalls:
//
//	reg, closeAll := registry.New(logger)
//	defer closeAll()
//	client, release, err := reg.Acquire(ctx, opts) // dials and PINGs once
//	defer release()
//
// NewObserved is New with hooks that the parts opened from the registry
// report their commands to (the telemetry package makes such a registry).
// Stats lists the connections, and their counters.
//
// Acquire fails fast: it dials and PINGs within opts.PingTimeout and
// returns an error naming the address (never the password). Concurrent
// Acquires of one identity dial once; a failed dial is not remembered.
package registry
