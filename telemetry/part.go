package telemetry

// What a part reports: a span and a duration per command or batch, its
// client-side cache lookups, and the commands it refused.

import (
	"context"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/wireredis/wireredis/internal/seam"
)

// Attributes of the project's own.
const (
	// PartKey names the part (its namespace) that sent a command.
	PartKey = attribute.Key("wireredis.part")
	// CacheHitKey says whether the client-side cache answered a DoCache.
	CacheHitKey = attribute.Key("wireredis.cache.hit")
	// CacheHitsKey counts the commands of a DoMultiCache the client-side
	// cache answered.
	CacheHitsKey = attribute.Key("wireredis.cache.hits")
)

// Names of the instruments of the parts' commands.
const (
	OperationDuration = "db.client.operation.duration"
	CacheRequests     = "wireredis.client.cache.requests"
	Refused           = "wireredis.client.refused"
)

// durationBounds are the semantic conventions' advice for
// db.client.operation.duration, in seconds.
var durationBounds = []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10}

func (h *hooks) instruments(m metric.Meter) error {
	var err error
	if h.duration, err = m.Float64Histogram(OperationDuration, metric.WithUnit("s"),
		metric.WithDescription("Duration of the commands and batches the parts sent, refused ones included."),
		metric.WithExplicitBucketBoundaries(durationBounds...)); err != nil {
		return err
	}
	if h.cache, err = m.Int64Counter(CacheRequests, metric.WithUnit("{request}"),
		metric.WithDescription("Reads through the client-side cache (DoCache, DoMultiCache), by whether the cache answered.")); err != nil {
		return err
	}
	h.refused, err = m.Int64Counter(Refused, metric.WithUnit("{operation}"),
		metric.WithDescription("Commands and batches a part did not send, as refused (feature.CommandError)."))
	return err
}

// Part is the observer of the part called part.
func (h *hooks) Part(part string, conn seam.Conn) seam.Part {
	base := append([]attribute.KeyValue{semconv.DBSystemNameRedis, semconv.DBNamespace(strconv.Itoa(conn.DB))}, serverAttrs(conn.Addr)...)
	// Clipped: what is appended to it goes to a copy.
	base = slices.Clip(append(base, PartKey.String(part)))
	p := &partObserver{hooks: h, base: base}
	if h.cache != nil {
		p.cacheHit = addOptions(append(base, CacheHitKey.Bool(true)))
		p.cacheMiss = addOptions(append(base, CacheHitKey.Bool(false)))
	}
	return p
}

// serverAttrs are server.address and server.port of a connection to one
// address (provider.Options.Addr); none for several (a cluster's seeds,
// sentinels), where the server a command reaches is not known here.
func serverAttrs(addr string) []attribute.KeyValue {
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		return []attribute.KeyValue{semconv.ServerAddress(path)}
	}
	if strings.Contains(addr, ",") || strings.HasPrefix(addr, "sentinel:") {
		return nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil
	}
	n, _ := strconv.Atoi(port)
	return []attribute.KeyValue{semconv.ServerAddress(host), semconv.ServerPort(n)}
}

// partObserver is one part's observer.
type partObserver struct {
	*hooks
	base                []attribute.KeyValue // of every span and measurement
	cacheHit, cacheMiss []metric.AddOption

	// ops holds what each kind of operation records, made once: read
	// without a lock, copied on write (a part sends few kinds).
	mu  sync.Mutex
	ops atomic.Pointer[map[opKey]*opAttrs]
}

// opKey is a kind of operation: a command or batch, and how it ended.
type opKey struct {
	name  string // as given to Begin
	batch bool
	class string // error.type; "" for a success
}

// opAttrs is what an operation of one kind records.
type opAttrs struct {
	spanName string
	start    []trace.SpanStartOption
	failed   []attribute.KeyValue // error.type and status code, on the span
	record   []metric.RecordOption
	refused  []metric.AddOption // for the refused
}

// maxOps bounds the kinds of operation a part remembers; past it, the
// attributes of a new kind are made for each operation.
const maxOps = 512

func (p *partObserver) attrs(key opKey) *opAttrs {
	if m := p.ops.Load(); m != nil {
		if a, ok := (*m)[key]; ok {
			return a
		}
	}
	a := p.makeAttrs(key)
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.ops.Load()
	if old != nil && len(*old) >= maxOps {
		return a
	}
	m := make(map[opKey]*opAttrs, 1+lenOf(old))
	if old != nil {
		for k, v := range *old {
			m[k] = v
		}
	}
	m[key] = a
	p.ops.Store(&m)
	return a
}

func lenOf(m *map[opKey]*opAttrs) int {
	if m == nil {
		return 0
	}
	return len(*m)
}

func (p *partObserver) makeAttrs(key opKey) *opAttrs {
	name := key.name
	switch {
	case key.batch && name == "":
		name = "PIPELINE" // commands of several kinds: Redis's word for it
	case key.batch:
		name = "BATCH " + name
	}
	kvs := append(slices.Clip(p.base), semconv.DBOperationName(name)) // never p.base's own array
	a := &opAttrs{spanName: name}
	a.start = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(kvs...)}
	if key.class != "" {
		a.failed = append(a.failed, semconv.ErrorTypeKey.String(key.class))
		if isStatusCode(key.class) {
			a.failed = append(a.failed, semconv.DBResponseStatusCode(key.class))
		}
		kvs = append(kvs, a.failed...)
	}
	set := attribute.NewSet(kvs...)
	a.record = []metric.RecordOption{metric.WithAttributeSet(set)}
	a.refused = []metric.AddOption{metric.WithAttributeSet(set)}
	return a
}

func addOptions(kvs []attribute.KeyValue) []metric.AddOption {
	return []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(kvs...))}
}

// Begin starts a span, when there is a tracer.
func (p *partObserver) Begin(ctx context.Context, name string, batch int) (context.Context, seam.Op) {
	a := p.attrs(opKey{name: name, batch: batch > 0})
	op := seam.Op{Name: name, Batch: batch, Kind: a}
	if p.tracer != nil {
		var span trace.Span
		ctx, span = p.tracer.Start(ctx, a.spanName, a.start...)
		if batch > 0 && span.IsRecording() {
			span.SetAttributes(semconv.DBOperationBatchSize(batch))
		}
		op.Span = span
	}
	if p.duration != nil {
		op.Start = time.Now()
	}
	return ctx, op
}

// End ends the span and records the measurements.
func (p *partObserver) End(ctx context.Context, op seam.Op, out seam.Outcome) {
	class := errorClass(out.Err)
	a, _ := op.Kind.(*opAttrs) // a success's
	if class != "" || a == nil {
		a = p.attrs(opKey{name: op.Name, batch: op.Batch > 0, class: class})
	}
	if span, ok := op.Span.(trace.Span); ok {
		if span.IsRecording() {
			switch {
			case out.Cached && op.Batch > 0:
				span.SetAttributes(CacheHitsKey.Int(out.CacheHits))
			case out.Cached && out.Failed == 0:
				span.SetAttributes(CacheHitKey.Bool(out.CacheHits > 0))
			}
			if class != "" {
				span.SetAttributes(a.failed...)
				span.SetStatus(codes.Error, class)
			}
		}
		span.End()
	}
	if p.duration == nil {
		return
	}
	p.duration.Record(ctx, time.Since(op.Start).Seconds(), a.record...)
	if out.Cached {
		n := max(op.Batch, 1)
		if out.CacheHits > 0 {
			p.cache.Add(ctx, int64(out.CacheHits), p.cacheHit...)
		}
		if misses := n - out.CacheHits - out.Failed; misses > 0 {
			p.cache.Add(ctx, int64(misses), p.cacheMiss...)
		}
	}
	if isRefusal(class) {
		p.refused.Add(ctx, 1, a.refused...)
	}
}
