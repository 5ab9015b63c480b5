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

// exampleService is what Example's injector builds: a service with the
// session and cache parts, as a service of yours takes them, and the
// registry, for its health handler.
type exampleService struct {
	registry *registry.Registry
	session  feature.SessionRedis
	cache    feature.CacheRedis
}

func newExampleService(reg *registry.Registry, session feature.SessionRedis, cache feature.CacheRedis) *exampleService {
	return &exampleService{registry: reg, session: session, cache: cache}
}
