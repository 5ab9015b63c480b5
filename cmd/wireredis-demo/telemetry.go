package main

// The demo's telemetry: the OpenTelemetry SDK with in-process readers,
// given to the injector as the application's providers, and printed
// compactly once the script has run.

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/wireredis/wireredis/telemetry"
)

// demoTelemetry holds the SDK's providers and what they recorded.
type demoTelemetry struct {
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
	tp     *sdktrace.TracerProvider
	mp     *sdkmetric.MeterProvider
}

func newDemoTelemetry() *demoTelemetry {
	t := &demoTelemetry{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	t.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(t.spans))
	t.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(t.reader))
	return t
}

func (t *demoTelemetry) shutdown() {
	_ = t.tp.Shutdown(context.Background())
	_ = t.mp.Shutdown(context.Background())
}

// printTrace prints the spans under the one named root, a line each, in
// the order they started: the command, its part, its duration, and what
// is worth noting (an error, a cache hit, a batch).
func (t *demoTelemetry) printTrace(out io.Writer, root string) {
	ended := t.spans.Ended()
	var top sdktrace.ReadOnlySpan
	for _, s := range ended {
		if s.Name() == root {
			top = s
		}
	}
	if top == nil {
		return
	}
	fmt.Fprintf(out, "\n== telemetry: the trace of the script (telemetry.ProviderSetWithLogger; the SDK with an in-memory span recorder)\n")
	fmt.Fprintln(out, "each command a span of kind client, db.system.name=redis; no key, value or password in any")
	fmt.Fprintf(out, "%-26s %8s  trace %s\n", root, top.EndTime().Sub(top.StartTime()).Round(time.Microsecond), top.SpanContext().TraceID())
	slices.SortFunc(ended, func(a, b sdktrace.ReadOnlySpan) int { return a.StartTime().Compare(b.StartTime()) })
	for _, s := range ended {
		if s.Parent().SpanID() != top.SpanContext().SpanID() {
			continue
		}
		attrs := map[attribute.Key]string{}
		for _, kv := range s.Attributes() {
			attrs[kv.Key] = kv.Value.String()
		}
		var notes []string
		for _, k := range []attribute.Key{"error.type", telemetry.CacheHitKey, telemetry.CacheHitsKey, "db.operation.batch.size"} {
			if v, ok := attrs[k]; ok {
				notes = append(notes, string(k)+"="+v)
			}
		}
		line := fmt.Sprintf("  %-10s part=%-10s %8s  db.namespace=%s server=%s:%s  %s", s.Name(), attrs[telemetry.PartKey], s.EndTime().Sub(s.StartTime()).Round(time.Microsecond),
			attrs["db.namespace"], attrs["server.address"], attrs["server.port"], strings.Join(notes, " "))
		fmt.Fprintln(out, strings.TrimRight(line, " "))
	}
}

// printMetrics collects the metrics now and prints each instrument's
// points on a line or two: the operations by part and command, the rest
// by connection (its fingerprint, shortened) or part.
func (t *demoTelemetry) printMetrics(out io.Writer) error {
	var rm metricdata.ResourceMetrics
	if err := t.reader.Collect(context.Background(), &rm); err != nil {
		return err
	}
	fmt.Fprintln(out, "\n== telemetry: metrics (a manual reader, collected now)")
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			var points []string
			switch d := m.Data.(type) {
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					points = append(points, fmt.Sprintf("%s %d×", pointName(p.Attributes), p.Count))
				}
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					if p.Value != 0 {
						points = append(points, fmt.Sprintf("%s %d", pointName(p.Attributes), p.Value))
					}
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					points = append(points, fmt.Sprintf("%s %d", pointName(p.Attributes), p.Value))
				}
			}
			if len(points) == 0 {
				continue
			}
			slices.Sort(points)
			fmt.Fprintf(out, "%s: %s\n", m.Name, strings.Join(points, ", "))
		}
	}
	return nil
}

// pointName is what tells a point from the others of its instrument.
func pointName(s attribute.Set) string {
	var parts []string
	if v, ok := s.Value(telemetry.PartKey); ok {
		parts = append(parts, v.String())
	}
	if v, ok := s.Value("db.client.connection.pool.name"); ok {
		parts = append(parts, "conn "+v.String()[:8]+" (db "+value(s, "db.namespace")+")")
	}
	for _, k := range []attribute.Key{"db.operation.name", "error.type", telemetry.CacheHitKey, telemetry.BatchSizeKey} {
		if v, ok := s.Value(k); ok {
			parts = append(parts, v.String())
		}
	}
	if v, ok := s.Value(telemetry.CacheHitKey); ok {
		parts[len(parts)-1] = map[string]string{"true": "hit", "false": "miss"}[v.String()]
	}
	return strings.Join(parts, " ")
}

func value(s attribute.Set, k attribute.Key) string {
	v, _ := s.Value(k)
	return v.String()
}
