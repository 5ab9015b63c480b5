package wireredis

import (
	"github.com/google/wire"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/registry"
)

// ProviderSet provides provider.Options loaded from the process environment
// and a *registry.Registry that logs to slog.Default().
var ProviderSet = wire.NewSet(provider.Set, registry.Set)

// ProviderSetWithLogger is ProviderSet for injectors that bind a
// *slog.Logger of their own.
var ProviderSetWithLogger = wire.NewSet(provider.Set, registry.New)

// Parts is what InitializeParts builds: the registry and the two standard
// parts.
type Parts struct {
	Registry *registry.Registry
	Session  feature.SessionRedis
	Cache    feature.CacheRedis
}

// NewParts collects the parts.
func NewParts(reg *registry.Registry, session feature.SessionRedis, cache feature.CacheRedis) *Parts {
	return &Parts{Registry: reg, Session: session, Cache: cache}
}
