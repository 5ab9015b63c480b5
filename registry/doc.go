// Package registry shares Redis connections between the parts of a service
// and counts their references.
//
// # Sharing
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
// Parts get their clients from [github.com/wireredis/wireredis/feature],
// which acquires them here; a registry made by
// [github.com/wireredis/wireredis/telemetry] also records what its parts
// send.
//
// # Start-up and errors
//
// Acquire fails fast by default: it dials and PINGs within
// opts.PingTimeout and returns a [*ConnectError] naming the address (never
// the password). Concurrent Acquires of one identity dial once; a failed
// dial is not remembered. With REDIS_STARTUP=lazy or background it returns
// at once; a background part's commands fail with [ErrNotReady] until its
// connection is made.
//
// # Watching
//
// [Registry.Stats] lists the connections and their counters,
// [Registry.Check] PINGs them, and [Registry.HealthHandler] serves
// /healthz probes.
package registry
