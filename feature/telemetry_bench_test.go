// Built without the race detector, as alloc_test.go (its sink).

//go:build !race

package feature_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/internal/seam"
	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/redistest"
	"github.com/wireredis/wireredis/registry"
	"github.com/wireredis/wireredis/telemetry"
)

// telemetryCases are the set-ups BenchmarkTelemetry compares: no
// telemetry (the registry has no hooks); the API's no-op providers (which
// telemetry recognises, and leaves out); the SDK's with no span sampled
// (the hooks and the metrics, a span that records nothing); and the SDK's
// with every span sampled and exported in batches (to nothing). The SDK's
// metrics are aggregated for a reader.
var telemetryCases = []string{"none", "noop", "unsampled", "sdk"}

func telemetryConfig(tb testing.TB, name string) telemetry.Config {
	cfg := telemetry.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	switch name {
	case "noop":
		cfg.TracerProvider, cfg.MeterProvider = tracenoop.NewTracerProvider(), metricnoop.NewMeterProvider()
	case "unsampled", "sdk":
		sampler := sdktrace.AlwaysSample()
		if name == "unsampled" {
			sampler = sdktrace.NeverSample()
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler), sdktrace.WithBatcher(tracetest.NewNoopExporter()))
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		tb.Cleanup(func() {
			_ = tp.Shutdown(context.Background())
			_ = mp.Shutdown(context.Background())
		})
		cfg.TracerProvider, cfg.MeterProvider = tp, mp
	}
	return cfg
}

// telemetryRegistry is a registry with the telemetry of name.
func telemetryRegistry(tb testing.TB, name string, base provider.Options) *registry.Registry {
	reg, closeReg, err := telemetry.New(base, telemetryConfig(tb, name))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(closeReg)
	return reg
}

// BenchmarkTelemetry measures what telemetry costs a part's command, side
// by side (benchstat -col /telemetry): the rewrite alone against a sink
// (Do), and round trips to a redis-server through SessionRedis (Server).
func BenchmarkTelemetry(b *testing.B) {
	ctx := context.Background()
	srv := redistest.Start(b)
	sinkClient := sink{b: srv.Client.B()}
	base, err := provider.LoadFrom([]string{"REDIS_URL=" + srv.URL()})
	if err != nil {
		b.Fatal(err)
	}
	for _, tel := range telemetryCases {
		reg := telemetryRegistry(b, tel, base)
		var obs seam.Part
		if h := seam.Of(reg).Hooks(); h != nil {
			obs = h.Part("session", seam.Conn{Addr: "127.0.0.1:6379"})
		}
		part := feature.New(sinkClient, "session", feature.WithObserver(obs))
		b.Run("Do/GET/telemetry="+tel, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				part.Do(ctx, part.B().Get().Key("user:1").Build())
			}
		})
		b.Run("Do/MSET10/telemetry="+tel, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				kv := part.B().Mset().KeyValue()
				for _, k := range [...]string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"} {
					kv = kv.KeyValue(k, "v")
				}
				part.Do(ctx, kv.Build())
			}
		})
		session, release, err := feature.ProvideSessionRedis(ctx, reg, base)
		if err != nil {
			b.Fatal(err)
		}
		serverCases(b, "Server/", "/telemetry="+tel, session, 1, 64)
		release()
	}
}
