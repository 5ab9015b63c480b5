package telemetry

import (
	"log/slog"

	"github.com/google/wire"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/wireredis/wireredis/internal/seam"
	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/registry"
)

// ProviderSet is wireredis.ProviderSet with telemetry, used in its place:
// provider.Options from the REDIS_* variables, and a *registry.Registry
// whose parts report to the trace.TracerProvider and metric.MeterProvider
// that the injector's other providers give.
var ProviderSet = wire.NewSet(provider.Set, Provide)

// ProviderSetWithLogger is wireredis.ProviderSetWithLogger with telemetry:
// ProviderSet for injectors that bind a *slog.Logger of their own.
var ProviderSetWithLogger = wire.NewSet(provider.Set, ProvideWithLogger)

// Provide is New with the registry logging to slog.Default(), for wire.
func Provide(opts provider.Options, tp trace.TracerProvider, mp metric.MeterProvider) (*registry.Registry, func(), error) {
	return New(opts, Config{TracerProvider: tp, MeterProvider: mp})
}

// ProvideWithLogger is New for wire, with the registry's logger.
func ProvideWithLogger(opts provider.Options, logger *slog.Logger, tp trace.TracerProvider, mp metric.MeterProvider) (*registry.Registry, func(), error) {
	return New(opts, Config{TracerProvider: tp, MeterProvider: mp, Logger: logger})
}

// Config says where the telemetry goes.
type Config struct {
	// TracerProvider gets a span for each command and batch a part sends;
	// nil: no spans.
	TracerProvider trace.TracerProvider
	// MeterProvider gets the metrics of the parts' commands and of the
	// registry's connections; nil: no metrics.
	MeterProvider metric.MeterProvider
	// Logger is the registry's (registry.New); nil: slog.Default().
	Logger *slog.Logger
}

// ScopeName names the instrumentation scope of the tracer and the meter.
const ScopeName = "github.com/wireredis/wireredis/telemetry"

// New returns a registry whose parts report their commands to cfg's
// providers, and whose connections are observed by cfg's meter, and a
// func that closes the registry. With REDIS_OTEL=off (opts.OTel), or
// neither provider (the API's no-op providers count as none), it is
// registry.New's registry: nothing is recorded, and commands cost what
// they cost without telemetry. A part whose own REDIS_<PART>_OTEL is off
// is not observed.
//
// A connection's counters outlive it: once closed (its last part
// released, or the registry closed) it is reported with its final counts
// and no socket until the MeterProvider shuts down. A MeterProvider that
// the registry is built from shuts down after it (wire's cleanups run in
// reverse order), and its last export, that of a short-lived process
// too, has them.
func New(opts provider.Options, cfg Config) (*registry.Registry, func(), error) {
	// The API's no-op providers record nothing: without them the parts
	// skip the work (and allocations) of feeding them.
	if _, ok := cfg.TracerProvider.(tracenoop.TracerProvider); ok {
		cfg.TracerProvider = nil
	}
	if _, ok := cfg.MeterProvider.(metricnoop.MeterProvider); ok {
		cfg.MeterProvider = nil
	}
	if !opts.OTelEnabled() || cfg.TracerProvider == nil && cfg.MeterProvider == nil {
		r, closeAll := registry.New(cfg.Logger)
		return r, closeAll, nil
	}
	h := &hooks{}
	if cfg.TracerProvider != nil {
		h.tracer = cfg.TracerProvider.Tracer(ScopeName, trace.WithSchemaURL(semconv.SchemaURL))
	}
	if cfg.MeterProvider == nil {
		r, closeAll := observed(cfg.Logger, h)
		return r, closeAll, nil
	}
	meter := cfg.MeterProvider.Meter(ScopeName, metric.WithSchemaURL(semconv.SchemaURL))
	if err := h.instruments(meter); err != nil {
		return nil, nil, err
	}
	h.closed = &closedConns{}
	r, closeAll := observed(cfg.Logger, h)
	if err := observeConnections(meter, r, h.closed); err != nil {
		closeAll()
		return nil, nil, err
	}
	return r, closeAll, nil
}

// hooks make each part's observer; they hold what the parts share.
type hooks struct {
	tracer trace.Tracer // nil: no spans
	// The instruments of the parts' commands; nil without a meter.
	duration metric.Float64Histogram
	cache    metric.Int64Counter
	refused  metric.Int64Counter
	// closed keeps the counters of closed connections; nil without a
	// meter.
	closed *closedConns
}

// observed is a registry whose parts report to h.
func observed(logger *slog.Logger, h *hooks) (*registry.Registry, func()) {
	r, closeAll := registry.New(logger)
	seam.Of(r).Observe(h)
	return r, closeAll
}

// The registry gives the hooks the final numbers of each connection it
// closes (its closedObserver): without ConnectionClosed, the counters of
// closed connections would vanish from the metrics.
var _ interface {
	seam.Hooks
	ConnectionClosed(registry.ConnStats)
} = (*hooks)(nil)

// ConnectionClosed keeps a closed connection's counters for the metrics.
func (h *hooks) ConnectionClosed(s registry.ConnStats) {
	if h.closed != nil {
		h.closed.add(s)
	}
}
