package seam

import (
	"context"
	"log/slog"

	"github.com/redis/rueidis"
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
	// Value returns the registry's value under key, made by create the
	// first time: what the parts of one registry share (their prefix
	// claims).
	Value(key any, create func() any) any
	// ConnValue returns the value under key of the connection client
	// (what Acquire returned), made by create the first time; it lives as
	// long as the connection (a part's command learner). For a client the
	// registry did not hand out, it returns create().
	ConnValue(client rueidis.Client, key any, create func() any) any
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
