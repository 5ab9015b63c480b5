//go:build wireinject

package main

import (
	"context"
	"log/slog"

	"github.com/google/wire"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/wireredis/wireredis/cmd/wireredis-demo/internal/demo"
	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/telemetry"
)

// initializeDemo builds the demo application: the session, cache and
// analytics parts and the services on them, logging the registry's
// connection events to logger, and recording the parts' commands with tp
// and mp (telemetry.ProviderSetWithLogger in the place of
// wireredis.ProviderSetWithLogger).
func initializeDemo(ctx context.Context, logger *slog.Logger, tp trace.TracerProvider, mp metric.MeterProvider) (*demo.App, func(), error) {
	wire.Build(telemetry.ProviderSetWithLogger, feature.Set, demo.Parts, demo.NewSessions, demo.NewCache, demo.NewAnalytics, demo.NewApp)
	return nil, nil, nil
}
