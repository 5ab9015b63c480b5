package telemetry_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/rueidis"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/redistest"
	"github.com/wireredis/wireredis/telemetry"
)

// only returns the value of the one point of an instrument.
func only(t *testing.T, pts map[string]map[string]int64, name string) int64 {
	t.Helper()
	if len(pts[name]) != 1 {
		t.Fatalf("%s: %v, want one point (one connection)", name, pts[name])
	}
	for _, v := range pts[name] {
		return v
	}
	return 0
}

// sendSets sends n SETs through part.
func sendSets(t *testing.T, part rueidis.Client, n int) {
	t.Helper()
	for range n {
		if err := part.Do(context.Background(), part.B().Set().Key("k").Value("v").Build()).Error(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLastExportHasTheConnections: a short-lived process shuts down in
// wire's order (the parts released, then the registry closed, then the
// MeterProvider, which the registry was built from, shut down: its
// periodic reader's last export). That export has the connection's
// metrics, with the counts of every command the parts sent and no socket
// open. It used to have none of them: the connection was gone from
// registry.Stats when the reader collected.
func TestLastExportHasTheConnections(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	base, err := provider.LoadFrom([]string{"REDIS_URL=" + srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	exporter := &memoryExporter{}
	// Exports only when it shuts down.
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exporter, sdkmetric.WithInterval(time.Hour))))
	reg, closeReg, err := telemetry.New(base, telemetry.Config{MeterProvider: mp, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	session, releaseSession, err := feature.Open(ctx, reg, base, "session")
	if err != nil {
		t.Fatal(err)
	}
	cache, releaseCache, err := feature.Open(ctx, reg, base, "cache")
	if err != nil {
		t.Fatal(err)
	}
	sendSets(t, session, 3)
	sendSets(t, cache, 2)
	if err := session.Do(ctx, session.B().Hget().Key("k").Field("f").Build()).Error(); err == nil || rueidis.IsRedisNil(err) {
		t.Fatalf("HGET on a string: %v, want WRONGTYPE", err)
	}
	stats := reg.Stats()
	if len(stats) != 1 || stats[0].Commands != 6 || stats[0].Errors != 1 {
		t.Fatalf("stats: %+v", stats)
	}

	releaseCache()
	releaseSession()
	closeReg()
	if err := mp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	if n := exporter.exports.Load(); n != 1 {
		t.Fatalf("%d exports, want the one at shutdown", n)
	}
	last := exporter.lastExport()
	for name, want := range map[string]int64{
		telemetry.ConnectionCommands: stats[0].Commands,
		telemetry.ConnectionErrors:   1,
		telemetry.ConnectionCount:    0,
		telemetry.ConnectionParts:    0,
		telemetry.ConnectionInFlight: 0,
	} {
		if got := only(t, last, name); got != want {
			t.Errorf("last export: %s = %d, want %d", name, got, want)
		}
	}
	var durations int64
	for _, n := range last[telemetry.OperationDuration] {
		durations += n
	}
	if durations != 6 {
		t.Errorf("last export: %s counts %d commands, want 6", telemetry.OperationDuration, durations)
	}
}

// TestConnectionCountersSurviveReopening: a connection closed when its
// last part released it, and dialled again for the next part, continues
// its counters where they were (a counter that fell back to zero would
// read as a reset), and while it is closed they stay as they were.
func TestConnectionCountersSurviveReopening(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	r := newRig(t, "REDIS_URL="+srv.URL())
	useOnce := func(sets int) {
		part, release, err := feature.Open(ctx, r.reg, r.base, "session")
		if err != nil {
			t.Fatal(err)
		}
		sendSets(t, part, sets)
		release()
	}
	check := func(when string, want int64) {
		t.Helper()
		pts := points(r.collect(t))
		if got := only(t, pts, telemetry.ConnectionCommands); got != want {
			t.Errorf("%s: %s = %d, want %d", when, telemetry.ConnectionCommands, got, want)
		}
		if got := only(t, pts, telemetry.ConnectionCount); got != 0 {
			t.Errorf("%s: %s = %d, want 0 once released", when, telemetry.ConnectionCount, got)
		}
	}
	useOnce(2)
	check("released", 2)
	check("collected again", 2)
	useOnce(3)
	check("dialled again and released", 5)
}
