package telemetry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/internal/testsupport"
	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/redistest"
	"github.com/wireredis/wireredis/registry"
	"github.com/wireredis/wireredis/telemetry"
)

func TestMain(m *testing.M) { testsupport.VerifyTestMain(m) }

// rig is a registry with telemetry into the SDK's in-memory readers.
type rig struct {
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
	reg    *registry.Registry
	base   provider.Options
}

func newRig(t *testing.T, environ ...string) *rig {
	t.Helper()
	ctx := context.Background()
	r := &rig{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(r.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r.reader))
	t.Cleanup(func() {
		_ = tp.Shutdown(ctx)
		_ = mp.Shutdown(ctx)
	})
	var err error
	if r.base, err = provider.LoadFrom(environ); err != nil {
		t.Fatal(err)
	}
	reg, closeReg, err := telemetry.New(r.base, telemetry.Config{TracerProvider: tp, MeterProvider: mp, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeReg)
	r.reg = reg
	return r
}

func (r *rig) open(t *testing.T, namespace string) *feature.Client {
	t.Helper()
	c, release, err := feature.Open(context.Background(), r.reg, r.base, namespace)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	return c
}

// span is what a test compares of a span.
type span struct {
	Name   string
	Error  bool
	Attrs  map[string]string
	Parent bool
}

func (r *rig) ended() []span {
	var out []span
	for _, s := range r.spans.Ended() {
		out = append(out, spanOf(s))
	}
	return out
}

func spanOf(s sdktrace.ReadOnlySpan) span {
	return span{Name: s.Name(), Error: s.Status().Code == codes.Error, Attrs: attrMap(s.Attributes()), Parent: s.Parent().IsValid()}
}

func attrMap(kvs []attribute.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.String()
	}
	return m
}

// with returns base's attributes and more.
func with(base map[string]string, kv ...string) map[string]string {
	m := map[string]string{}
	for k, v := range base {
		m[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func (r *rig) collect(t *testing.T) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	return rm
}

// points flattens a collection: instrument name → attributes (as
// "k=v,k=v", sorted) → the count (histogram) or value (sum, gauge).
func points(rm metricdata.ResourceMetrics) map[string]map[string]int64 {
	out := map[string]map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			byAttrs := map[string]int64{}
			switch d := m.Data.(type) {
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					byAttrs[setString(p.Attributes)] += int64(p.Count)
				}
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					byAttrs[setString(p.Attributes)] += p.Value
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					byAttrs[setString(p.Attributes)] += p.Value
				}
			default:
				panic(fmt.Sprintf("metric %s: %T", m.Name, m.Data))
			}
			out[m.Name] = byAttrs
		}
	}
	return out
}

func setString(s attribute.Set) string {
	var parts []string
	for _, kv := range s.ToSlice() {
		parts = append(parts, string(kv.Key)+"="+kv.Value.String())
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

func attrString(m map[string]string) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, k+"="+v)
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// commandCalls is the server's count of calls of each command
// (INFO commandstats): cmdstat_set → "set".
func commandCalls(t *testing.T, c rueidis.Client) map[string]int64 {
	t.Helper()
	info, err := c.Do(context.Background(), c.B().Info().Section("commandstats").Build()).ToString()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":calls=")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(rest[:strings.IndexByte(rest, ',')], 10, 64)
		out[strings.TrimPrefix(name, "cmdstat_")] = n
	}
	return out
}

// The secrets of TestSpansAndMetrics: every key, value and the password
// hold one of these, and no span or metric may.
const (
	keyMark   = "kq7"
	valueMark = "vq7"
	password  = "pq7-s3cr3t/+?"
)

// TestSpansAndMetrics runs a part through every kind of operation against
// a server with a password, and checks each span exactly, the metrics
// against the spans, the counts against the server's own, and that no
// key, value or password went anywhere.
func TestSpansAndMetrics(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t, "--requirepass", password)
	r := newRig(t, "REDIS_URL="+srv.URL(), "REDIS_PASSWORD="+password)
	session, cache := r.open(t, "session"), r.open(t, "cache")
	admin := srv.Client
	if err := admin.Do(ctx, admin.B().ConfigResetstat().Build()).Error(); err != nil {
		t.Fatal(err)
	}
	key := func(s string) string { return keyMark + "-" + s }
	val := func(s string) string { return valueMark + "-" + s }
	b := session.B()
	must := func(r rueidis.RedisResult) {
		t.Helper()
		if err := r.Error(); err != nil && !rueidis.IsRedisNil(err) {
			t.Fatal(err)
		}
	}
	must(session.Do(ctx, b.Set().Key(key("a")).Value(val("a")).Build()))
	must(session.Do(ctx, b.Get().Key(key("a")).Build()))
	must(session.Do(ctx, b.Get().Key(key("missing")).Build())) // nil: no error
	if err := session.Do(ctx, b.Lpush().Key(key("a")).Element(val("x")).Build()).Error(); err == nil {
		t.Fatal("LPUSH on a string: want WRONGTYPE")
	}
	// An error that quotes a key (without the prefix, feature strips it).
	if err := session.Do(ctx, b.Xreadgroup().Group("g", "c").Streams().Key(key("stream")).Id(">").Build()).Error(); err == nil || !strings.Contains(err.Error(), keyMark) {
		t.Fatalf("XREADGROUP without a group: %v, want NOGROUP quoting the key", err)
	}
	var ce *feature.CommandError
	for _, cmd := range []rueidis.Completed{
		b.Flushdb().Build(), // refused
		b.Arbitrary("NOSUCHCMD").Args(val("arg")).Build(),  // unknown
		b.Arbitrary(key("notacommand:"), val("v")).Build(), // a key where the name goes
	} {
		if err := session.Do(ctx, cmd).Error(); !errors.As(err, &ce) {
			t.Fatalf("want a CommandError, got %v", err)
		}
	}
	for _, res := range session.DoMulti(ctx, b.Set().Key(key("b")).Value(val("b")).Build(), b.Set().Key(key("c")).Value(val("c")).Build()) {
		must(res)
	}
	for _, res := range session.DoMulti(ctx, b.Set().Key(key("d")).Value(val("d")).Build(), b.Get().Key(key("d")).Build()) {
		must(res)
	}
	for _, res := range session.DoMulti(ctx, b.Get().Key(key("d")).Build()) {
		must(res)
	}
	cb := cache.B()
	must(cache.Do(ctx, cb.Set().Key(key("hot")).Value(val("hot")).Build()))
	for range 2 { // a miss, then a hit
		must(cache.DoCache(ctx, cb.Get().Key(key("hot")).Cache(), time.Minute))
	}
	for _, res := range cache.DoMultiCache(ctx,
		rueidis.CT(cb.Get().Key(key("hot")).Cache(), time.Minute),
		rueidis.CT(cb.Get().Key(key("cold")).Cache(), time.Minute)) {
		must(res)
	}
	err := session.Dedicated(func(d rueidis.DedicatedClient) error {
		if err := d.Do(ctx, d.B().Watch().Key(key("a")).Build()).Error(); err != nil {
			return err
		}
		for _, res := range d.DoMulti(ctx, d.B().Multi().Build(), d.B().Set().Key(key("a")).Value(val("t")).Build(), d.B().Exec().Build()) {
			if err := res.Error(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var scanned []string
	for k, err := range session.Scan(ctx, feature.ScanOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		scanned = append(scanned, k)
	}
	if len(scanned) != 4 {
		t.Fatalf("Scan found %v, want the session part's 4 keys", scanned)
	}

	server := map[string]string{
		"db.system.name": "redis", "db.namespace": "0",
		"server.address": "127.0.0.1", "server.port": strconv.Itoa(srv.Port()),
	}
	s := with(server, "wireredis.part", "session")
	c := with(server, "wireredis.part", "cache")
	op := func(base map[string]string, name string, kv ...string) span {
		return span{Name: name, Attrs: with(base, append([]string{"db.operation.name", name}, kv...)...)}
	}
	failed := func(sp span, class string, status bool) span {
		sp.Error = true
		sp.Attrs = with(sp.Attrs, "error.type", class)
		if status {
			sp.Attrs["db.response.status_code"] = class
		}
		return sp
	}
	want := []span{
		op(s, "SET"),
		op(s, "GET"),
		op(s, "GET"),
		failed(op(s, "LPUSH"), "WRONGTYPE", true),
		failed(op(s, "XREADGROUP"), "NOGROUP", true),
		failed(op(s, "FLUSHDB"), "refused", false),
		failed(op(s, "UNKNOWN"), "unknown_command", false), // NOSUCHCMD
		failed(op(s, "UNKNOWN"), "unknown_command", false),
		op(s, "BATCH SET", "db.operation.batch.size", "2"),
		op(s, "PIPELINE", "db.operation.batch.size", "2"),
		op(s, "GET"), // a batch of one is a command
		op(c, "SET"),
		op(c, "GET", "wireredis.cache.hit", "false"),
		op(c, "GET", "wireredis.cache.hit", "true"),
		op(c, "BATCH GET", "db.operation.batch.size", "2", "wireredis.cache.hits", "1"),
		op(s, "WATCH"),
		op(s, "PIPELINE", "db.operation.batch.size", "3"),
		op(s, "SCAN"),
	}
	got := r.ended()
	if len(got) != len(want) {
		t.Errorf("%d spans, want %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if got[i].Name != want[i].Name || got[i].Error != want[i].Error || attrString(got[i].Attrs) != attrString(want[i].Attrs) || got[i].Parent {
			t.Errorf("span %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	for _, s := range r.spans.Ended() {
		if s.SpanKind() != trace.SpanKindClient {
			t.Errorf("span %s: kind %v, want client", s.Name(), s.SpanKind())
		}
	}

	// What the server ran is what the spans say was sent: the refused
	// commands never reached it, and each SET, GET ... did once.
	calls := commandCalls(t, admin)
	if calls["flushdb"] != 0 || calls["nosuchcmd"] != 0 {
		t.Errorf("refused commands reached the server: %v", calls)
	}
	sent := map[string]int64{}
	for _, sp := range want {
		if sp.Error && sp.Attrs["db.response.status_code"] == "" {
			continue // not sent
		}
		n, _ := strconv.Atoi(sp.Attrs["db.operation.batch.size"])
		switch {
		case sp.Name == "PIPELINE":
			continue // counted below
		case strings.HasPrefix(sp.Name, "BATCH "):
			sent[strings.ToLower(strings.TrimPrefix(sp.Name, "BATCH "))] += int64(n)
		default:
			sent[strings.ToLower(sp.Name)]++
		}
	}
	sent["set"] += 2 // in the PIPELINEs: SET GET, and MULTI SET EXEC
	sent["get"]++
	sent["get"]-- // the cache hit never reached the server
	sent["get"]-- // nor the hit in BATCH GET
	for cmd, n := range sent {
		if calls[cmd] != n {
			t.Errorf("server ran %s %d times, the spans say %d", cmd, calls[cmd], n)
		}
	}

	pts := points(r.collect(t))
	durations := map[string]int64{}
	for _, sp := range got {
		a := with(sp.Attrs)
		delete(a, "db.operation.batch.size")
		delete(a, "wireredis.cache.hit")
		delete(a, "wireredis.cache.hits")
		durations[attrString(a)]++
	}
	if fmt.Sprint(pts[telemetry.OperationDuration]) != fmt.Sprint(durations) {
		t.Errorf("%s:\n got %v\nwant %v", telemetry.OperationDuration, pts[telemetry.OperationDuration], durations)
	}
	wantCache := map[string]int64{
		attrString(with(c, "wireredis.cache.hit", "true")):  2,
		attrString(with(c, "wireredis.cache.hit", "false")): 2,
	}
	if fmt.Sprint(pts[telemetry.CacheRequests]) != fmt.Sprint(wantCache) {
		t.Errorf("%s:\n got %v\nwant %v", telemetry.CacheRequests, pts[telemetry.CacheRequests], wantCache)
	}
	wantRefused := map[string]int64{
		attrString(with(s, "db.operation.name", "FLUSHDB", "error.type", "refused")):         1,
		attrString(with(s, "db.operation.name", "UNKNOWN", "error.type", "unknown_command")): 2,
	}
	if fmt.Sprint(pts[telemetry.Refused]) != fmt.Sprint(wantRefused) {
		t.Errorf("%s:\n got %v\nwant %v", telemetry.Refused, pts[telemetry.Refused], wantRefused)
	}

	// The connection the two parts share: its sockets are the server's
	// clients (but the test's own), its numbers registry.Stats's.
	stats := r.reg.Stats()
	if len(stats) != 1 {
		t.Fatalf("stats: %+v", stats)
	}
	st := stats[0]
	conn := with(server, "db.client.connection.pool.name", st.Fingerprint)
	delete(conn, "wireredis.part")
	list, err := admin.Do(ctx, admin.B().ClientList().Build()).ToString()
	if err != nil {
		t.Fatal(err)
	}
	clients := 0
	for _, line := range strings.Split(strings.TrimSpace(list), "\n") {
		if !strings.Contains(line, " name="+redistest.ClientName+" ") {
			clients++
		}
	}
	for name, want := range map[string]int64{
		telemetry.ConnectionParts:    2,
		telemetry.ConnectionCommands: st.Commands,
		telemetry.ConnectionErrors:   st.Errors,
		telemetry.ConnectionInFlight: 0,
	} {
		if got := pts[name][attrString(conn)]; got != want || len(pts[name]) != 1 {
			t.Errorf("%s: %v, want %d for %s", name, pts[name], want, attrString(conn))
		}
	}
	count := pts[telemetry.ConnectionCount][attrString(with(conn, "db.client.connection.state", "used"))]
	if count != int64(clients) || clients < 2 {
		t.Errorf("%s: %v, the server has %d clients of ours", telemetry.ConnectionCount, pts[telemetry.ConnectionCount], clients)
	}

	assertNoSecrets(t, r, keyMark, valueMark, password, "session:", "cache:")
}

// assertNoSecrets looks for each secret in every span's name, attributes,
// status, events and links, and in every metric's attributes.
func assertNoSecrets(t *testing.T, r *rig, secrets ...string) {
	t.Helper()
	for _, text := range secretsIn(t, r, secrets...) {
		t.Errorf("a secret found in telemetry: %s", text)
	}
}
