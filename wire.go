//go:build wireinject

package wireredis

import (
	"context"
	"log/slog"

	"github.com/google/wire"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/internal/demo"
)

// InitializeParts builds the registry and the session and cache parts from
// the REDIS_* environment. The func releases the parts and closes the
// registry, in reverse order of construction.
func InitializeParts(ctx context.Context) (*Parts, func(), error) {
	wire.Build(ProviderSet, feature.Set, NewParts)
	return nil, nil, nil
}

// InitializeDemo builds the demo application of cmd/wireredis: the session,
// cache and analytics parts and the services on them, logging the
// registry's connection events to logger.
func InitializeDemo(ctx context.Context, logger *slog.Logger) (*demo.App, func(), error) {
	wire.Build(ProviderSetWithLogger, feature.Set, demo.Parts, demo.NewSessions, demo.NewCache, demo.NewAnalytics, demo.NewApp)
	return nil, nil, nil
}
