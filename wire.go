//go:build wireinject

package wireredis

import (
	"context"

	"github.com/google/wire"

	"github.com/wireredis/wireredis/feature"
)

// InitializeParts builds the registry and the session and cache parts from
// the REDIS_* environment. The func releases the parts and closes the
// registry, in reverse order of construction.
func InitializeParts(ctx context.Context) (*Parts, func(), error) {
	wire.Build(ProviderSet, feature.Set, NewParts)
	return nil, nil, nil
}
