package telemetry

// The registry's connections: registry.Stats read by one callback,
// whenever a reader collects, as observable instruments (no second set of
// counters).

import (
	"context"
	"slices"
	"strconv"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/wireredis/wireredis/registry"
)

// Names of the instruments of the registry's connections.
const (
	ConnectionCount        = "db.client.connection.count"
	ConnectionParts        = "wireredis.connection.parts"
	ConnectionCommands     = "wireredis.connection.commands"
	ConnectionErrors       = "wireredis.connection.errors"
	ConnectionInFlight     = "wireredis.connection.in_flight"
	ConnectionDialFailures = "wireredis.connection.dial_failures"
	ConnectionReconnects   = "wireredis.connection.reconnects"
	ConnectionBadReplies   = "wireredis.connection.bad_replies"
	// The adaptive batching of the parts' single commands (REDIS_BATCH).
	ConnectionBatches         = "wireredis.connection.batches"
	ConnectionBatchedCommands = "wireredis.connection.batched_commands"
	ConnectionBatchSizes      = "wireredis.connection.batch_sizes"
)

// BatchSizeKey names the bucket of ConnectionBatchSizes: the commands per
// batch, as a range ("3-4", "257+") of registry.BatchSizeBounds().
const BatchSizeKey = attribute.Key("wireredis.batch.size")

// connInstruments are the instruments of the connections.
type connInstruments struct {
	count, inFlight                            metric.Int64ObservableUpDownCounter
	parts                                      metric.Int64ObservableGauge
	commands, errors, dialFailures, reconnects metric.Int64ObservableCounter
	badReplies                                 metric.Int64ObservableCounter
	batches, batched, batchSizes               metric.Int64ObservableCounter
}

func newConnInstruments(m metric.Meter) (*connInstruments, error) {
	var ci connInstruments
	var err error
	upDown := func(name, unit, desc string) metric.Int64ObservableUpDownCounter {
		if err != nil {
			return nil
		}
		var i metric.Int64ObservableUpDownCounter
		i, err = m.Int64ObservableUpDownCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		return i
	}
	counter := func(name, unit, desc string) metric.Int64ObservableCounter {
		if err != nil {
			return nil
		}
		var i metric.Int64ObservableCounter
		i, err = m.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		return i
	}
	ci.count = upDown(ConnectionCount, "{connection}", "Network connections open, by shared connection (pool name: its fingerprint); rueidis multiplexes them, so each is in use.")
	ci.inFlight = upDown(ConnectionInFlight, "{command}", "Commands under way on the shared connection.")
	ci.commands = counter(ConnectionCommands, "{command}", "Commands the parts sent on the shared connection.")
	ci.errors = counter(ConnectionErrors, "{command}", "Commands sent on the shared connection whose reply was an error (a nil reply is not one).")
	ci.dialFailures = counter(ConnectionDialFailures, "{dial}", "Failed dials of the shared connection, retries included.")
	ci.reconnects = counter(ConnectionReconnects, "{reconnect}", "Times the shared connection came back after failed dials.")
	ci.badReplies = counter(ConnectionBadReplies, "{reply}", "Replies refused because they could not be read safely; each closed a socket.")
	ci.batches = counter(ConnectionBatches, "{batch}", "Pipelines the shared connection made of the parts' concurrent Do calls (REDIS_BATCH=adaptive).")
	ci.batched = counter(ConnectionBatchedCommands, "{command}", "Commands sent in those pipelines.")
	ci.batchSizes = counter(ConnectionBatchSizes, "{batch}", "Those pipelines by commands per batch (wireredis.batch.size: a range).")
	if err != nil {
		return nil, err
	}
	ci.parts, err = m.Int64ObservableGauge(ConnectionParts, metric.WithUnit("{part}"), metric.WithDescription("Parts holding the shared connection."))
	if err != nil {
		return nil, err
	}
	return &ci, nil
}

func (ci *connInstruments) all() []metric.Observable {
	return []metric.Observable{ci.count, ci.inFlight, ci.parts, ci.commands, ci.errors, ci.dialFailures, ci.reconnects, ci.badReplies, ci.batches, ci.batched, ci.batchSizes}
}

// connTotals are one connection's numbers; connections that differ only
// in a password share a fingerprint, and are added up.
type connTotals struct {
	kvs                                                                  []attribute.KeyValue
	sockets, parts, commands, errors, inFlight, dialFailures, reconnects int64
	badReplies                                                           int64
	batches, batched                                                     int64
	batchSizes                                                           []int64 // by bucket (batchSizes); nil: none yet
}

// connKey groups the connections the metrics do not tell apart.
func connKey(s registry.ConnStats) string {
	return s.Fingerprint + "\x00" + s.Addr + "\x00" + strconv.Itoa(s.DB)
}

// addCounts adds s's counters: what a connection did, which stays true
// once it is closed.
func (t *connTotals) addCounts(s registry.ConnStats) {
	t.commands += s.Commands
	t.errors += s.Errors
	t.dialFailures += s.DialFailures
	t.reconnects += s.Reconnects
	t.badReplies += s.BadReplies
	t.batches += s.Batches
	t.batched += s.BatchedCommands
	for i, n := range s.BatchSizes {
		sizes := t.sizes()
		sizes[min(i, len(sizes)-1)] += n
	}
}

// sizes returns t's batch-size buckets, made on first use.
func (t *connTotals) sizes() []int64 {
	if t.batchSizes == nil {
		t.batchSizes = make([]int64, len(batchSizes))
	}
	return t.batchSizes
}

// addState adds what s has now: sockets, parts, commands in flight.
func (t *connTotals) addState(s registry.ConnStats) {
	t.sockets += int64(s.Sockets)
	t.parts += int64(len(s.Parts))
	t.inFlight += s.InFlight
}

// closedConns keep the counters of the connections the registry closed
// (the registry calls hooks.ConnectionClosed), by connKey. Without them a connection's
// counters would vanish when its last part releases it, fall back to zero
// when its settings are dialled again, and be missing from the export a
// MeterProvider makes when it shuts down after the registry: the last one
// of a short-lived process. The keys are the distinct connections the
// settings name, so the map stays small.
type closedConns struct {
	mu    sync.Mutex
	byKey map[string]*connTotals
	order []string
}

func (cc *closedConns) add(s registry.ConnStats) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	key := connKey(s)
	t := cc.byKey[key]
	if t == nil {
		if cc.byKey == nil {
			cc.byKey = map[string]*connTotals{}
		}
		t = &connTotals{kvs: connAttrs(s)}
		cc.byKey[key] = t
		cc.order = append(cc.order, key)
	}
	t.addCounts(s)
}

// observeConnections registers the callback that reads r.Stats, and adds
// what closed holds. It stays registered once the registry is closed,
// reporting the closed connections' final counters until the
// MeterProvider shuts down.
func observeConnections(m metric.Meter, r *registry.Registry, closed *closedConns) error {
	ci, err := newConnInstruments(m)
	if err != nil {
		return err
	}
	_, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		byConn := map[string]*connTotals{}
		var order []string
		for _, s := range r.Stats() {
			key := connKey(s)
			t := byConn[key]
			if t == nil {
				t = &connTotals{kvs: connAttrs(s)}
				byConn[key] = t
				order = append(order, key)
			}
			t.addCounts(s)
			t.addState(s)
		}
		closed.mu.Lock()
		for _, key := range closed.order {
			c := closed.byKey[key]
			t := byConn[key]
			if t == nil {
				// NewSet sorts the slice it is given: a copy of ours.
				t = &connTotals{kvs: slices.Clip(slices.Clone(c.kvs))}
				byConn[key] = t
				order = append(order, key)
			}
			t.commands += c.commands
			t.errors += c.errors
			t.dialFailures += c.dialFailures
			t.reconnects += c.reconnects
			t.badReplies += c.badReplies
			t.batches += c.batches
			t.batched += c.batched
			sizes := t.sizes()
			for i, n := range c.batchSizes {
				sizes[i] += n
			}
		}
		closed.mu.Unlock()
		for _, key := range order {
			t := byConn[key]
			attrs := metric.WithAttributeSet(attribute.NewSet(t.kvs...))
			o.ObserveInt64(ci.count, t.sockets, metric.WithAttributeSet(attribute.NewSet(append(t.kvs, semconv.DBClientConnectionStateUsed)...)))
			o.ObserveInt64(ci.parts, t.parts, attrs)
			o.ObserveInt64(ci.commands, t.commands, attrs)
			o.ObserveInt64(ci.errors, t.errors, attrs)
			o.ObserveInt64(ci.inFlight, t.inFlight, attrs)
			o.ObserveInt64(ci.dialFailures, t.dialFailures, attrs)
			o.ObserveInt64(ci.reconnects, t.reconnects, attrs)
			o.ObserveInt64(ci.badReplies, t.badReplies, attrs)
			o.ObserveInt64(ci.batches, t.batches, attrs)
			o.ObserveInt64(ci.batched, t.batched, attrs)
			for i, n := range t.sizes() {
				o.ObserveInt64(ci.batchSizes, n, metric.WithAttributeSet(attribute.NewSet(append(t.kvs, BatchSizeKey.String(batchSizes[i]))...)))
			}
		}
		return nil
	}, ci.all()...)
	return err
}

// batchSizes name the buckets of registry.ConnStats.BatchSizes: "1-2",
// "3-4", ... "257+".
var batchSizes = func() []string {
	bounds := registry.BatchSizeBounds()
	out := make([]string, 0, len(bounds)+1)
	low := 1
	for _, b := range bounds {
		out = append(out, strconv.Itoa(low)+"-"+strconv.Itoa(b))
		low = b + 1
	}
	return append(out, strconv.Itoa(low)+"+")
}()

// connAttrs describe a connection: its fingerprint (which no password
// enters) as the pool's name, its database and its server.
func connAttrs(s registry.ConnStats) []attribute.KeyValue {
	kvs := []attribute.KeyValue{
		semconv.DBSystemNameRedis,
		semconv.DBClientConnectionPoolName(s.Fingerprint),
		semconv.DBNamespace(strconv.Itoa(s.DB)),
	}
	return append(kvs, serverAttrs(s.Addr)...)
}
