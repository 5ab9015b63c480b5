package otelsdk

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/wire"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Set provides the SDK's *sdktrace.TracerProvider and
// *sdkmetric.MeterProvider, bound to the API's trace.TracerProvider and
// metric.MeterProvider that telemetry.ProviderSet needs, from the
// injector's sdktrace.SpanExporter (spans in batches), sdkmetric.Exporter
// (a periodic reader, every minute) and *resource.Resource.
var Set = wire.NewSet(PeriodicReader, SetWithReader)

// SetWithReader is Set for a metric reader of the application's own (a
// Prometheus exporter is one, or a periodic reader with another
// interval): the injector provides an sdkmetric.Reader in the place of
// the exporter.
var SetWithReader = wire.NewSet(
	TracerProvider, MeterProvider,
	wire.Bind(new(trace.TracerProvider), new(*sdktrace.TracerProvider)),
	wire.Bind(new(metric.MeterProvider), new(*sdkmetric.MeterProvider)),
)

// ShutdownTimeout bounds the flush and shutdown of each provider in its
// cleanup: an exporter whose collector is down must not hold the process.
const ShutdownTimeout = 10 * time.Second

// TracerProvider returns the SDK's tracer provider, sending its spans in
// batches to exporter, and a cleanup that sends what is left and shuts it
// (and the exporter) down.
func TracerProvider(exporter sdktrace.SpanExporter, res *resource.Resource) (*sdktrace.TracerProvider, func()) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	return tp, func() { shutdown("tracer", tp.Shutdown) }
}

// MeterProvider returns the SDK's meter provider, read by reader, and a
// cleanup that shuts it down: the reader's last collection and export.
func MeterProvider(reader sdkmetric.Reader, res *resource.Resource) (*sdkmetric.MeterProvider, func()) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithResource(res))
	return mp, func() { shutdown("meter", mp.Shutdown) }
}

// PeriodicReader reads the metrics every minute (the SDK's default, and
// OTEL_METRIC_EXPORT_INTERVAL) into exporter, and once more when the
// MeterProvider shuts down.
func PeriodicReader(exporter sdkmetric.Exporter) sdkmetric.Reader {
	return sdkmetric.NewPeriodicReader(exporter)
}

// shutdown runs a provider's Shutdown within ShutdownTimeout; a cleanup
// cannot return its error, so it is logged.
func shutdown(what string, fn func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	if err := fn(ctx); err != nil {
		slog.Default().Warn("wireredis: shutting down the OpenTelemetry "+what+" provider failed", "error", err)
	}
}
