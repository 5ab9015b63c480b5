package otelsdk_test

import (
	"context"
	"sync"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/internal/testsupport"
	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/redistest"
	"github.com/wireredis/wireredis/telemetry"
	"github.com/wireredis/wireredis/telemetry/otelsdk"
)

func TestMain(m *testing.M) { testsupport.VerifyTestMain(m) }

// spanExporter keeps the names of the spans it exported (the SDK's
// in-memory exporter forgets them when it shuts down).
type spanExporter struct {
	mu    sync.Mutex
	names []string
	shut  bool
}

func (e *spanExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range spans {
		e.names = append(e.names, s.Name())
	}
	return nil
}

func (e *spanExporter) Shutdown(context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.shut = true
	return nil
}

// metricExporter keeps the connections' command counts of each export
// (the reader reuses what it exports).
type metricExporter struct {
	mu       sync.Mutex
	commands []int64 // per export: wireredis.connection.commands, -1 when absent
}

func (*metricExporter) Temporality(k sdkmetric.InstrumentKind) metricdata.Temporality {
	return sdkmetric.DefaultTemporalitySelector(k)
}

func (*metricExporter) Aggregation(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	return sdkmetric.DefaultAggregationSelector(k)
}

func (e *metricExporter) Export(_ context.Context, rm *metricdata.ResourceMetrics) error {
	n := int64(-1)
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name == telemetry.ConnectionCommands {
				n = 0
				for _, p := range sum.DataPoints {
					n += p.Value
				}
			}
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.commands = append(e.commands, n)
	return nil
}

func (*metricExporter) ForceFlush(context.Context) error { return nil }
func (*metricExporter) Shutdown(context.Context) error   { return nil }

// TestSetInWireOrder builds what an injector of otelsdk.Set,
// telemetry.ProviderSet and feature.Set builds, in wire's order, and runs
// its cleanups in wire's order (the reverse): the spans reach the span
// exporter, and the one export of the metrics (at shutdown) has the
// connection's commands.
func TestSetInWireOrder(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	spans := &spanExporter{}
	metrics := &metricExporter{}

	// What wire generates for
	// wire.Build(telemetry.ProviderSet, otelsdk.Set, feature.Set, ...).
	opts, err := provider.LoadFrom([]string{"REDIS_URL=" + srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	res := resource.Default()
	tp, cleanupTP := otelsdk.TracerProvider(spans, res)
	mp, cleanupMP := otelsdk.MeterProvider(otelsdk.PeriodicReader(metrics), res)
	reg, cleanupReg, err := telemetry.Provide(opts, tp, mp)
	if err != nil {
		t.Fatal(err)
	}
	session, cleanupSession, err := feature.ProvideSessionRedis(ctx, reg, opts)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := session.Do(ctx, session.B().Set().Key("k").Value("v").Build()).Error(); err != nil {
			t.Fatal(err)
		}
	}
	cleanupSession()
	cleanupReg()
	cleanupMP()
	cleanupTP()

	spans.mu.Lock()
	defer spans.mu.Unlock()
	if n := len(spans.names); n != 3 || !spans.shut {
		t.Errorf("%d spans exported (%v), shut down: %v; want 3, shut down", n, spans.names, spans.shut)
	}
	metrics.mu.Lock()
	defer metrics.mu.Unlock()
	if len(metrics.commands) != 1 || metrics.commands[0] != 3 {
		t.Errorf("exports' %s: %v, want one export with 3", telemetry.ConnectionCommands, metrics.commands)
	}
}
