package telemetry_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/rueidis"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/internal/seam"
	"github.com/wireredis/wireredis/internal/testsupport"
	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/redistest"
	"github.com/wireredis/wireredis/registry"
	"github.com/wireredis/wireredis/telemetry"
)

// set sends SET key v through c, and fails t on an error.
func set(t *testing.T, c rueidis.Client, key string) {
	t.Helper()
	if err := c.Do(context.Background(), c.B().Set().Key(key).Value("v").Build()).Error(); err != nil {
		t.Fatal(err)
	}
}

// TestOff: REDIS_OTEL=off yields no span and no metric at all, and a part
// whose own REDIS_<PART>_OTEL is off sends unobserved while the others
// are observed.
func TestOff(t *testing.T) {
	srv := redistest.Start(t)
	off := newRig(t, "REDIS_URL="+srv.URL(), "REDIS_OTEL=off")
	if seam.Of(off.reg).Hooks() != nil {
		t.Error("REDIS_OTEL=off: the registry has hooks")
	}
	set(t, off.open(t, "session"), "k")
	if n := len(off.spans.Ended()); n != 0 {
		t.Errorf("REDIS_OTEL=off: %d spans", n)
	}
	if rm := off.collect(t); len(rm.ScopeMetrics) != 0 {
		t.Errorf("REDIS_OTEL=off: metrics %+v", rm.ScopeMetrics)
	}

	// The API's no-op providers record nothing: the registry gets no
	// hooks, and the parts cost what they cost without telemetry.
	noops, closeNoops, err := telemetry.New(newRig(t, "REDIS_URL="+srv.URL()).base, telemetry.Config{TracerProvider: tracenoop.NewTracerProvider(), MeterProvider: metricnoop.NewMeterProvider()})
	if err != nil {
		t.Fatal(err)
	}
	closeNoops()
	if seam.Of(noops).Hooks() != nil {
		t.Error("no-op providers: the registry has hooks")
	}

	r := newRig(t, "REDIS_URL="+srv.URL(), "REDIS_CACHE_OTEL=off")
	session, cache := r.open(t, "session"), r.open(t, "cache")
	set(t, cache, "k")
	set(t, session, "k")
	got := r.ended()
	if len(got) != 1 || got[0].Attrs["wireredis.part"] != "session" {
		t.Errorf("REDIS_CACHE_OTEL=off: spans %+v, want the session part's SET alone", got)
	}
	if d := points(r.collect(t))[telemetry.OperationDuration]; len(d) != 1 {
		t.Errorf("REDIS_CACHE_OTEL=off: durations %v, want the session part's alone", d)
	}
	if n := len(r.reg.Stats()); n != 1 {
		t.Errorf("the parts share %d connections, want 1: OTel is not identity", n)
	}
}

// TestOneProvider: a TracerProvider alone gives spans and no metric; a
// MeterProvider alone metrics and no span.
func TestOneProvider(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	base, err := provider.LoadFrom([]string{"REDIS_URL=" + srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = tp.Shutdown(ctx); _ = mp.Shutdown(ctx) }()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, cfg := range []telemetry.Config{{TracerProvider: tp, Logger: quiet}, {MeterProvider: mp, Logger: quiet}} {
		reg, closeReg, err := telemetry.New(base, cfg)
		if err != nil {
			t.Fatal(err)
		}
		part, release, err := feature.Open(ctx, reg, base, "session")
		if err != nil {
			t.Fatal(err)
		}
		set(t, part, "k")
		release()
		closeReg()
	}
	if n := len(spans.Ended()); n != 1 {
		t.Errorf("%d spans, want the first registry's SET", n)
	}
	r := &rig{reader: reader}
	if d := points(r.collect(t))[telemetry.OperationDuration]; len(d) != 1 {
		t.Errorf("durations %v, want the second registry's SET", d)
	}
}

// TestParentSpan: a command's span is a child of the span in its context,
// and the context the connection gets carries the command's span.
func TestParentSpan(t *testing.T) {
	srv := redistest.Start(t)
	r := newRig(t, "REDIS_URL="+srv.URL())
	part := r.open(t, "session")
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(r.spans))
	ctx, parent := tp.Tracer("test").Start(context.Background(), "handler")
	if err := part.Do(ctx, part.B().Get().Key("k").Build()).Error(); err != nil && !rueidis.IsRedisNil(err) {
		t.Fatal(err)
	}
	parent.End()
	ended := r.spans.Ended()
	if len(ended) != 2 || ended[0].Name() != "GET" || ended[0].Parent().SpanID() != parent.SpanContext().SpanID() || ended[0].SpanContext().TraceID() != parent.SpanContext().TraceID() {
		t.Fatalf("spans %v: want GET, a child of handler", ended)
	}
}

// TestPubSub: SUBSCRIBE is one span, from Receive to its end; each
// PUBLISH is one; the messages received are none.
func TestPubSub(t *testing.T) {
	srv := redistest.Start(t)
	r := newRig(t, "REDIS_URL="+srv.URL())
	part := r.open(t, "session")
	ctx, cancel := context.WithCancel(context.Background())
	received := make(chan string, 3)
	done := make(chan error, 1)
	go func() {
		done <- part.Receive(ctx, part.B().Subscribe().Channel("news").Build(), func(m rueidis.PubSubMessage) {
			received <- m.Message
			if len(received) == 3 {
				cancel()
			}
		})
	}()
	testsupport.WaitFor(t, 5*time.Second, "the subscription", func() bool {
		n, _ := srv.Client.Do(context.Background(), srv.Client.B().PubsubNumsub().Channel("session:news").Build()).AsIntMap()
		return n["session:news"] == 1
	})
	for i := range 3 {
		if err := part.Do(context.Background(), part.B().Publish().Channel("news").Message("m"+strconv.Itoa(i)).Build()).Error(); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Receive: %v", err)
	}
	var names []string
	for _, s := range r.ended() {
		names = append(names, s.Name)
		if s.Name == "SUBSCRIBE" && (!s.Error || s.Attrs["error.type"] != telemetry.ClassCanceled) {
			t.Errorf("SUBSCRIBE ended by its context: %+v", s)
		}
	}
	slices.Sort(names) // the last PUBLISH may end after the subscription
	if got := strings.Join(names, " "); got != "PUBLISH PUBLISH PUBLISH SUBSCRIBE" {
		t.Errorf("spans %s, want three PUBLISH and one SUBSCRIBE", got)
	}
}

// TestCluster: on a cluster the spans name no server (which node a
// command reaches is rueidis's choice), batches span slots, and Scan's
// CLUSTER SLOTS and SCAN of each primary are the part's spans, as many
// as the cluster ran.
func TestCluster(t *testing.T) {
	ctx := context.Background()
	cl := redistest.StartCluster(t, 3, 0)
	r := newRig(t, "REDIS_ADDRS="+strings.Join(cl.Addrs, ","))
	part := r.open(t, "session")
	for i := range 10 {
		set(t, part, "k"+strconv.Itoa(i))
	}
	for _, res := range part.DoMulti(ctx, part.B().Get().Key("k1").Build(), part.B().Get().Key("k2").Build(), part.B().Get().Key("k3").Build()) {
		if err := res.Error(); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for _, err := range part.Scan(ctx, feature.ScanOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 10 {
		t.Fatalf("Scan found %d keys, want 10", n)
	}
	count := map[string]int{}
	for _, s := range r.ended() {
		count[s.Name]++
		if _, ok := s.Attrs["server.address"]; ok || s.Attrs["db.namespace"] != "0" || s.Attrs["wireredis.part"] != "session" {
			t.Errorf("span %+v", s)
		}
	}
	scans := 0
	for _, addr := range cl.Primaries() {
		scans += int(commandCalls(t, cl.Node(t, addr))["scan"])
	}
	if count["SET"] != 10 || count["BATCH GET"] != 1 || count["CLUSTER SLOTS"] != 1 || count["SCAN"] != scans || scans < 3 {
		t.Errorf("spans %v; the primaries ran %d SCANs", count, scans)
	}
}

// TestNotReadyAndDialFailures: a background part whose server is down
// gets not_ready spans, sent nowhere; its connection's failed dials are
// the metric's, and Stats's.
func TestNotReadyAndDialFailures(t *testing.T) {
	srv := redistest.Start(t)
	srv.Kill()
	r := newRig(t, "REDIS_URL="+srv.URL(), "REDIS_STARTUP=background", "REDIS_PING_TIMEOUT=200ms")
	part := r.open(t, "session")
	if err := part.Do(context.Background(), part.B().Get().Key("k").Build()).Error(); !errors.Is(err, registry.ErrNotReady) {
		t.Fatalf("GET with the server down: %v", err)
	}
	got := r.ended()
	if len(got) != 1 || !got[0].Error || got[0].Attrs["error.type"] != telemetry.ClassNotReady {
		t.Errorf("spans %+v, want GET failed not_ready", got)
	}
	testsupport.WaitFor(t, 10*time.Second, "two failed dials", func() bool { return r.reg.Stats()[0].DialFailures >= 2 })
	pts := points(r.collect(t))
	st := r.reg.Stats()[0]
	if len(pts[telemetry.ConnectionDialFailures]) != 1 {
		t.Fatalf("%s: %v", telemetry.ConnectionDialFailures, pts[telemetry.ConnectionDialFailures])
	}
	for _, v := range pts[telemetry.ConnectionDialFailures] {
		if v < 2 || v > st.DialFailures {
			t.Errorf("%s = %d, Stats says %d", telemetry.ConnectionDialFailures, v, st.DialFailures)
		}
	}
	for _, v := range pts[telemetry.ConnectionCount] {
		if v != 0 {
			t.Errorf("%s = %d with the server down", telemetry.ConnectionCount, v)
		}
	}
}

// TestReconnects: a server killed under a part, and restarted once a dial
// failed: the connection's reconnect is counted once, as it is logged.
func TestReconnects(t *testing.T) {
	srv := redistest.Start(t)
	r := newRig(t, "REDIS_URL="+srv.URL(), "REDIS_PING_TIMEOUT=500ms")
	part := r.open(t, "session")
	set(t, part, "k")
	srv.Kill()
	// rueidis retries a command until its context ends.
	send := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		return part.Do(ctx, part.B().Set().Key("k").Value("v").Build()).Error()
	}
	testsupport.WaitFor(t, 10*time.Second, "a failed dial", func() bool { return send() != nil && r.reg.Stats()[0].DialFailures > 0 })
	srv.Restart()
	testsupport.WaitFor(t, 10*time.Second, "the reconnect", func() bool { return send() == nil })
	pts := points(r.collect(t))
	for _, v := range pts[telemetry.ConnectionReconnects] {
		if st := r.reg.Stats()[0]; v != 1 || st.Reconnects != 1 || st.DialFailures == 0 {
			t.Errorf("%s = %d; Stats: %d reconnects, %d failed dials", telemetry.ConnectionReconnects, v, st.Reconnects, st.DialFailures)
		}
	}
	if len(pts[telemetry.ConnectionReconnects]) != 1 {
		t.Errorf("%s: %v", telemetry.ConnectionReconnects, pts[telemetry.ConnectionReconnects])
	}
	failed := 0
	for _, s := range r.ended() {
		if s.Error {
			failed++
			if c := s.Attrs["error.type"]; c == "" || strings.Contains(c, srv.Addr) {
				t.Errorf("a failure's error.type: %q", c)
			}
		}
	}
	if failed == 0 {
		t.Error("no span failed while the server was down")
	}
}

// TestBadReplies: a server that sends a reply the client cannot read
// safely (a negative length) fails the command, which its span says, and
// each socket the refusal closed is counted, as the registry's Stats count
// it.
func TestBadReplies(t *testing.T) {
	r := newRig(t, "REDIS_URL=redis://"+testsupport.FakeRedis(t, "$-2\r\n"))
	part := r.open(t, "session")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := part.Do(ctx, part.B().Get().Key("evil").Build()).Error(); err == nil {
		t.Fatal("GET evil succeeded")
	}
	if v, err := part.Do(context.Background(), part.B().Get().Key("good").Build()).ToString(); err != nil || v != "value" {
		t.Fatalf("GET good: %q, %v", v, err)
	}
	pts := points(r.collect(t))
	st := r.reg.Stats()[0]
	if len(pts[telemetry.ConnectionBadReplies]) != 1 || st.BadReplies == 0 {
		t.Fatalf("%s: %v; Stats: %d", telemetry.ConnectionBadReplies, pts[telemetry.ConnectionBadReplies], st.BadReplies)
	}
	for _, v := range pts[telemetry.ConnectionBadReplies] {
		if v != st.BadReplies {
			t.Errorf("%s = %d; Stats: %d", telemetry.ConnectionBadReplies, v, st.BadReplies)
		}
	}
	failed := 0
	for _, s := range r.ended() {
		if s.Error {
			failed++
		}
	}
	if failed != 1 {
		t.Errorf("%d spans failed, want the GET of evil", failed)
	}
}

// TestConcurrentParts: 64 goroutines over two parts of one batching
// connection: one span per command, each in its part; the batch metrics
// are the connection's Stats, and the server ran what the spans say.
func TestConcurrentParts(t *testing.T) {
	srv := redistest.Start(t)
	r := newRig(t, "REDIS_URL="+srv.URL())
	parts := []*feature.Client{r.open(t, "session"), r.open(t, "cache")}
	if err := srv.Client.Do(context.Background(), srv.Client.B().ConfigResetstat().Build()).Error(); err != nil {
		t.Fatal(err)
	}
	const goroutines, each = 64, 50
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := parts[g%2]
			for i := range each {
				if err := p.Do(context.Background(), p.B().Set().Key("k"+strconv.Itoa(g)).Value(strconv.Itoa(i)).Build()).Error(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	perPart := map[string]int{}
	for _, s := range r.ended() {
		if s.Name != "SET" || s.Error {
			t.Fatalf("span %+v", s)
		}
		perPart[s.Attrs["wireredis.part"]]++
	}
	if perPart["session"] != goroutines/2*each || perPart["cache"] != goroutines/2*each {
		t.Errorf("spans per part %v, want %d each", perPart, goroutines/2*each)
	}
	if calls := commandCalls(t, srv.Client)["set"]; calls != goroutines*each {
		t.Errorf("the server ran %d SETs, the spans say %d", calls, goroutines*each)
	}
	st := r.reg.Stats()[0]
	pts := points(r.collect(t))
	sum := func(name string) (n int64) {
		for _, v := range pts[name] {
			n += v
		}
		return n
	}
	if st.Batches == 0 || sum(telemetry.ConnectionBatches) != st.Batches || sum(telemetry.ConnectionBatchedCommands) != st.BatchedCommands || sum(telemetry.ConnectionBatchSizes) != st.Batches {
		t.Errorf("batches: metrics %d of %d commands (buckets %v); Stats %d of %d", sum(telemetry.ConnectionBatches), sum(telemetry.ConnectionBatchedCommands), pts[telemetry.ConnectionBatchSizes], st.Batches, st.BatchedCommands)
	}
	if len(pts[telemetry.ConnectionBatchSizes]) != len(registry.BatchSizeBounds())+1 {
		t.Errorf("%d buckets: %v", len(pts[telemetry.ConnectionBatchSizes]), pts[telemetry.ConnectionBatchSizes])
	}
	for a := range pts[telemetry.ConnectionBatchSizes] {
		if !strings.Contains(a, "wireredis.batch.size=") {
			t.Errorf("bucket %s", a)
		}
	}
}
