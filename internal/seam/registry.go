package seam

import (
	"context"
	"log/slog"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/provider"
)

// Registry is what a *registry.Registry offers its sibling packages.
type Registry interface {
	// Logger is the registry's logger, for the parts to log to.
	Logger() *slog.Logger
	// Hooks are the telemetry hooks of the registry's parts; nil: none.
	Hooks() Hooks
	// Observe sets the hooks. It is called once, before the registry is
	// handed to anyone (telemetry.New).
	Observe(Hooks)
	// Claim reserves prefix, of the part named part, on the server opts
	// names: a prefix that overlaps another part's there is an
	// *registry.OverlapError. The func gives it back.
	Claim(opts provider.Options, part, prefix string) (func(), error)
	// Value returns the value under key of the connection client (what
	// Acquire returned), made by create the first time; it lives as long
	// as the connection.
	Value(client rueidis.Client, key any, create func() any) any
}

// Of returns the plumbing of reg, a *registry.Registry. Package registry
// sets it as it initialises, so it is set wherever a registry exists.
var Of func(reg any) Registry

// Deferred is the client a lazy or background part gets from the
// registry while its connection is not made. Resolve makes the
// connection, or says why it cannot yet (registry.ErrNotReady).
type Deferred interface {
	rueidis.Client
	Resolve(ctx context.Context) (rueidis.Client, error)
}
