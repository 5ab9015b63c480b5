// Package wireredis gives each part of a Go service its own namespaced,
// typed Redis client, shares connections between parts with equal
// settings, and is assembled at compile time by google/wire.
//
//	// wire.go (build tag wireinject)
//	func InitializeApp(ctx context.Context) (*App, func(), error) {
//		wire.Build(wireredis.ProviderSet, feature.Set, NewSessionService, NewApp)
//		return nil, nil, nil
//	}
//
//	func NewSessionService(r feature.SessionRedis) *SessionService { ... }
//
// ProviderSet provides provider.Options (from REDIS_* variables) and the
// *registry.Registry; feature.Set provides feature.SessionRedis and
// feature.CacheRedis. The cleanup that wire returns releases every part and
// closes each connection when its last part is released.
package wireredis
