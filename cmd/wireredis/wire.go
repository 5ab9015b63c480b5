//go:build wireinject

package main

import (
	"context"
	"log/slog"

	"github.com/google/wire"

	"github.com/wireredis/wireredis"
	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/internal/demo"
)

// initializeDemo builds the demo application: the session, cache and
// analytics parts and the services on them, logging the registry's
// connection events to logger.
func initializeDemo(ctx context.Context, logger *slog.Logger) (*demo.App, func(), error) {
	wire.Build(wireredis.ProviderSetWithLogger, feature.Set, demo.Parts, demo.NewSessions, demo.NewCache, demo.NewAnalytics, demo.NewApp)
	return nil, nil, nil
}
