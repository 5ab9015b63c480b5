//go:build wireinject

package wireredis

import (
	"context"

	"github.com/google/wire"

	"github.com/wireredis/wireredis/feature"
)

// initializeExample is the injector of Example: what a service's own
// wire.go holds, with its services in place of exampleService.
func initializeExample(ctx context.Context) (*exampleService, func(), error) {
	wire.Build(ProviderSet, feature.Set, newExampleService)
	return nil, nil, nil
}
