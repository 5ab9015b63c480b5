// Package wireredis gives each part of a Go service (sessions, cache,
// queues, ...) its own namespaced, typed Redis client, shares one
// connection between parts whose settings match, and is assembled at
// compile time by [google/wire].
//
// This package holds the provider sets an injector needs. The work is done
// by three packages, one layer each (see docs/architecture.md):
//
//   - [github.com/wireredis/wireredis/provider]: REDIS_* environment
//     variables to [provider.Options], per part (REDIS_<PART>_*), with
//     *_FILE secrets;
//   - [github.com/wireredis/wireredis/registry]: shared,
//     reference-counted connections, their start-up policy, graceful
//     close, stats and health;
//   - [github.com/wireredis/wireredis/feature]: the namespaced
//     [rueidis.Client] of each part, and the typed parts
//     [feature.SessionRedis] and [feature.CacheRedis].
//
// # Usage
//
// Take a typed part in a constructor, and add [ProviderSet] and the parts'
// set to wire.Build:
//
//	func NewSessionService(r feature.SessionRedis) *SessionService { ... }
//
//	// wire.go (build tag wireinject)
//	func InitializeApp(ctx context.Context) (*App, func(), error) {
//		wire.Build(wireredis.ProviderSet, feature.Set, NewSessionService, NewApp)
//		return nil, nil, nil
//	}
//
// Run `go tool wire ./...` (or go generate). The injector loads the
// settings once, opens each part (a fail-fast part dials and PINGs, and
// the injector fails with an error naming the part and the variable,
// never the password), and returns a cleanup that releases every part in
// reverse order: each connection closes, after the commands in flight,
// when its last part is released.
//
// Parts of your own come from `wireredis gen` (cmd/wireredis), or from
// [feature.Part]:
//
//	type QueueRedis struct{ *feature.Client }
//
//	func ProvideQueueRedis(ctx context.Context, reg *registry.Registry, opts provider.Options) (QueueRedis, func(), error) {
//		c, release, err := feature.Part{Namespace: "queue"}.Open(ctx, reg, opts)
//		return QueueRedis{c}, release, err
//	}
//
// # Provider sets
//
// [ProviderSet] provides [provider.Options] from the process environment
// and a [*registry.Registry] logging to [log/slog.Default];
// [ProviderSetWithLogger] is the same for an injector that provides its own
// [*log/slog.Logger].
//
// # Isolation
//
// A part prefixes every key and channel it sends with its namespace, for
// every Redis command, takes the prefix off the names in replies, and
// refuses what would reach outside its namespace (FLUSHALL, CONFIG,
// SELECT, ...). What it refuses, and what only the server's ACLs can
// enforce, is in the feature package's documentation and
// docs/namespacing.md.
//
// [google/wire]: https://github.com/google/wire
// [rueidis.Client]: https://pkg.go.dev/github.com/redis/rueidis#Client
package wireredis
