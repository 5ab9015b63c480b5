package telemetry_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"

	"github.com/alicebob/miniredis/v2"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/telemetry"
)

// With wire, a service's wire.go names telemetry.ProviderSet where it
// named wireredis.ProviderSet, and otelsdk.Set makes the SDK's providers
// from the application's exporters (docs/operations.md, compiled):
//
//	func InitializeApp(ctx context.Context) (*App, func(), error) {
//		wire.Build(telemetry.ProviderSet, otelsdk.Set, feature.Set,
//			NewSpanExporter, NewMetricExporter, resource.Default, NewApp)
//		return nil, nil, nil
//	}
//
// Without wire, New returns the registry to open the parts from. Here the
// SDK's in-memory readers show what a part records: a span per command,
// the refused one an error that never reached the server, and the
// duration of each.
func ExampleNew() {
	ctx := context.Background()
	redis, err := miniredis.Run()
	if err != nil {
		log.Fatal(err)
	}
	defer redis.Close()
	opts, err := provider.LoadFrom([]string{
		"REDIS_URL=redis://" + redis.Addr(),
		"REDIS_DISABLE_CACHE=true", "REDIS_FORCE_SINGLE_CLIENT=true", "REDIS_PROTOCOL=2", // for miniredis
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))

	reg, closeReg, err := telemetry.New(opts, telemetry.Config{TracerProvider: tp, MeterProvider: mp, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer closeReg()
	session, release, err := feature.ProvideSessionRedis(ctx, reg, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer release()

	_ = session.Do(ctx, session.B().Set().Key("user:1").Value("token").Build()).Error()
	_ = session.Do(ctx, session.B().Get().Key("user:1").Build()).Error()
	_ = session.Do(ctx, session.B().Flushdb().Build()).Error() // refused: it would cross the namespace

	for _, s := range spans.Ended() {
		line := s.Name() + " " + s.Status().Code.String()
		for _, kv := range s.Attributes() {
			switch kv.Key {
			case telemetry.PartKey, "error.type":
				line += " " + string(kv.Key) + "=" + kv.Value.String()
			}
		}
		fmt.Println(line)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if h, ok := m.Data.(metricdata.Histogram[float64]); ok && m.Name == telemetry.OperationDuration {
			fmt.Println(m.Name, "points:", len(h.DataPoints))
		}
	}
	// Output:
	// SET Unset wireredis.part=session
	// GET Unset wireredis.part=session
	// FLUSHDB Error wireredis.part=session error.type=refused
	// db.client.operation.duration points: 3
}
