package telemetry

// The registry's connections: registry.Stats read by one callback,
// whenever a reader collects, as observable instruments (no second set of
// counters).

import (
	"context"
	"strconv"

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
	// The adaptive batching of the parts' single commands (REDIS_BATCH).
	ConnectionBatches         = "wireredis.connection.batches"
	ConnectionBatchedCommands = "wireredis.connection.batched_commands"
	ConnectionBatchSizes      = "wireredis.connection.batch_sizes"
)

// BatchSizeKey names the bucket of ConnectionBatchSizes: the commands per
// batch, as a range ("3-4", "257+") of registry.BatchSizeBounds.
const BatchSizeKey = attribute.Key("wireredis.batch.size")

// connInstruments are the instruments of the connections.
type connInstruments struct {
	count, inFlight                            metric.Int64ObservableUpDownCounter
	parts                                      metric.Int64ObservableGauge
	commands, errors, dialFailures, reconnects metric.Int64ObservableCounter
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
	return []metric.Observable{ci.count, ci.inFlight, ci.parts, ci.commands, ci.errors, ci.dialFailures, ci.reconnects, ci.batches, ci.batched, ci.batchSizes}
}

// connTotals are one connection's numbers; connections that differ only
// in a password share a fingerprint, and are added up.
type connTotals struct {
	kvs                                                                  []attribute.KeyValue
	sockets, parts, commands, errors, inFlight, dialFailures, reconnects int64
	batches, batched                                                     int64
	batchSizes                                                           [len(registry.BatchSizeBounds) + 1]int64
}

// observeConnections registers the callback that reads r.Stats; the func
// unregisters it.
func observeConnections(m metric.Meter, r *registry.Registry) (func() error, error) {
	ci, err := newConnInstruments(m)
	if err != nil {
		return nil, err
	}
	reg, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		byConn := map[string]*connTotals{}
		var order []string
		for _, s := range r.Stats() {
			key := s.Fingerprint + "\x00" + s.Addr + "\x00" + strconv.Itoa(s.DB)
			t := byConn[key]
			if t == nil {
				t = &connTotals{kvs: connAttrs(s)}
				byConn[key] = t
				order = append(order, key)
			}
			t.sockets += int64(s.Sockets)
			t.parts += int64(len(s.Parts))
			t.commands += s.Commands
			t.errors += s.Errors
			t.inFlight += s.InFlight
			t.dialFailures += s.DialFailures
			t.reconnects += s.Reconnects
			t.batches += s.Batches
			t.batched += s.BatchedCommands
			for i, n := range s.BatchSizes {
				t.batchSizes[min(i, len(t.batchSizes)-1)] += n
			}
		}
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
			o.ObserveInt64(ci.batches, t.batches, attrs)
			o.ObserveInt64(ci.batched, t.batched, attrs)
			for i, n := range t.batchSizes {
				o.ObserveInt64(ci.batchSizes, n, metric.WithAttributeSet(attribute.NewSet(append(t.kvs, BatchSizeKey.String(batchSizes[i]))...)))
			}
		}
		return nil
	}, ci.all()...)
	if err != nil {
		return nil, err
	}
	return reg.Unregister, nil
}

// batchSizes name the buckets of registry.ConnStats.BatchSizes: "1-2",
// "3-4", ... "257+".
var batchSizes = func() []string {
	out := make([]string, 0, len(registry.BatchSizeBounds)+1)
	low := 1
	for _, b := range registry.BatchSizeBounds {
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
