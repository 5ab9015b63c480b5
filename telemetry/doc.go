// Package telemetry records what the parts of a service send to Redis as
// OpenTelemetry spans and metrics, by part: which namespace a command
// belonged to, which parts share a connection, how a batch was formed.
//
// It is the only package of wireredis that imports OpenTelemetry; a
// service that does not use it builds without it, and its commands cost
// what they cost before (one comparison each).
//
// # Wiring
//
// ProviderSet is wireredis.ProviderSet with telemetry: use it in its
// place, and let the injector's other providers give a
// trace.TracerProvider and a metric.MeterProvider (the application's own;
// nothing global is read or set):
//
//	wire.Build(telemetry.ProviderSet, feature.Set, otelProviders, NewApp)
//
// Package otelsdk (telemetry/otelsdk) provides them from the SDK, made
// from the application's exporters, with cleanups that shut them down
// after the registry has closed:
//
//	wire.Build(telemetry.ProviderSet, otelsdk.Set, feature.Set,
//		NewSpanExporter, NewMetricExporter, resource.Default, NewApp)
//
// Without wire, New returns the registry to open parts from:
//
//	reg, closeReg, err := telemetry.New(opts, telemetry.Config{TracerProvider: tp, MeterProvider: mp})
//	session, release, err := feature.ProvideSessionRedis(ctx, reg, opts)
//
// REDIS_OTEL=off turns it all off at run time; REDIS_<PART>_OTEL=off one
// part's commands. Tracing is off without a TracerProvider, metrics
// without a MeterProvider.
//
// # Spans
//
// One span of kind client for each command a part sends, named by the
// command as the key table spells it (GET, CLIENT SETNAME), and one for
// each batch (DoMulti, DoMultiCache, DoMultiStream): "BATCH GET" when its
// commands are all GETs, else "PIPELINE", with db.operation.batch.size.
// The attributes are those of OpenTelemetry's semantic conventions for
// Redis (db.system.name=redis, db.operation.name, db.namespace = the
// database index, server.address and server.port for a connection to one
// server), and wireredis.part, the part's namespace. No key, value,
// argument or password is recorded, nor the text of an error (a Redis
// error may quote a key): a failed command's span has status Error and
// error.type, the Redis error prefix (WRONGTYPE, also its
// db.response.status_code) or a class of this package (refused,
// unknown_command, bad_arguments, not_ready, timeout ...). A command the
// part refused is a span with an error and no round trip. DoCache marks
// whether the client-side cache answered (wireredis.cache.hit). A
// subscription (Receive) is one span, until Receive returns; the messages
// it receives are not spans. Scan's SCAN round trips are spans too.
//
// # Metrics
//
// Of the parts' commands: db.client.operation.duration (seconds, by part,
// command and error.type), wireredis.client.cache.requests (by
// wireredis.cache.hit) and wireredis.client.refused. Of the registry's
// connections, read from registry.Stats when a reader collects:
// db.client.connection.count (network connections open, by fingerprint
// as db.client.connection.pool.name: no password enters it),
// wireredis.connection.parts, .commands, .errors, .in_flight,
// .dial_failures and .reconnects. A closed connection keeps its counts
// until the MeterProvider shuts down, so the last export of a short-lived
// process has them. docs/operations.md has the tables, and what telemetry
// costs.
package telemetry
