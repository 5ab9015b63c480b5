// Package otelsdk gives wire the OpenTelemetry SDK's providers, made from
// the application's exporters, each with a cleanup that flushes and shuts
// it down. With telemetry.ProviderSet, an injector then names only its
// exporters and its resource:
//
//	wire.Build(telemetry.ProviderSet, otelsdk.Set, feature.Set,
//		NewSpanExporter, NewMetricExporter, resource.Default, NewApp)
//
// The registry is built from the providers, so wire's cleanup (reverse
// order) closes the registry first and shuts the providers down last:
// their final export has every span and the connections' final metrics.
//
// The telemetry package itself imports only OpenTelemetry's API; this
// package is where the SDK comes in, for the applications that want it
// made for them.
package otelsdk
