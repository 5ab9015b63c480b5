// Allocation counts need the race detector off (alloc_test.go says why).

//go:build !race

package feature_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/redis/rueidis"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/internal/seam"
	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/redistest"
	"github.com/wireredis/wireredis/registry"
	"github.com/wireredis/wireredis/telemetry"
)

// TestAttackTelemetryOffAllocations: without providers a part's round
// trip allocates what it allocates from a plain registry (issue 17,
// promise 4): telemetry.New with no provider, with the API's no-op ones,
// with the SDK's under REDIS_OTEL=off, and the part whose own
// REDIS_<PART>_OTEL is off.
func TestAttackTelemetryOffAllocations(t *testing.T) {
	ctx := context.Background()
	load, perGet, baseline := getAllocations(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	tp := sdktrace.NewTracerProvider()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer func() { _ = tp.Shutdown(ctx); _ = mp.Shutdown(ctx) }()
	for _, tc := range []struct {
		name string
		cfg  telemetry.Config
		env  []string
		// hooks: the registry observes other parts (its own switch is
		// the session part's).
		hooks bool
	}{
		{"no providers", telemetry.Config{Logger: quiet}, nil, false},
		{"no-op providers", telemetryConfig(t, "noop"), nil, false},
		{"REDIS_OTEL=off", telemetry.Config{TracerProvider: tp, MeterProvider: mp, Logger: quiet}, []string{"REDIS_OTEL=off"}, false},
		{"REDIS_SESSION_OTEL=off", telemetry.Config{TracerProvider: tp, MeterProvider: mp, Logger: quiet}, []string{"REDIS_SESSION_OTEL=off"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := load(tc.env...)
			reg, closeReg, err := telemetry.New(base, tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer closeReg()
			got := perGet(reg, base)
			t.Logf("GET: %.0f allocations, %.0f from a plain registry", got, baseline)
			if got > baseline || (seam.Of(reg).Hooks() != nil) != tc.hooks {
				t.Errorf("%s: %.0f allocations per GET against %.0f from a plain registry (hooks %v): telemetry costs a part that records nothing", tc.name, got, baseline, seam.Of(reg).Hooks() != nil)
			}
		})
	}
}

// getAllocations starts a server and returns: the settings of environ
// for it, the allocations of a SessionRedis GET round trip from a
// registry, and that count from a plain registry.
func getAllocations(t *testing.T) (load func(environ ...string) provider.Options, perGet func(*registry.Registry, provider.Options) float64, baseline float64) {
	t.Helper()
	ctx := context.Background()
	srv := redistest.Start(t)
	load = func(environ ...string) provider.Options {
		base, err := provider.LoadFrom(append([]string{"REDIS_URL=" + srv.URL()}, environ...))
		if err != nil {
			t.Fatal(err)
		}
		return base
	}
	perGet = func(reg *registry.Registry, base provider.Options) float64 {
		part, release, err := feature.ProvideSessionRedis(ctx, reg, base)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		send := func() {
			if err := part.Do(ctx, part.B().Get().Key("user:1").Build()).Error(); err != nil && !rueidis.IsRedisNil(err) {
				t.Fatal(err)
			}
		}
		for range 100 { // warm up the pools and the connection's buffers
			send()
		}
		return testing.AllocsPerRun(500, send)
	}
	plain, closePlain := registry.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(closePlain)
	return load, perGet, perGet(plain, load())
}
