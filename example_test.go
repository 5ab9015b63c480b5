package wireredis

import (
	"context"
	"fmt"
	"log"
)

// A service's wire.go (build tag wireinject) names what it needs, and
// `go tool wire` writes the injector into wire_gen.go:
//
//	func initializeExample(ctx context.Context) (*exampleService, func(), error) {
//		wire.Build(wireredis.ProviderSet, feature.Set, newExampleService)
//		return nil, nil, nil
//	}
//
// The injector reads the REDIS_* variables, opens one connection for the
// session and cache parts (their settings are equal), and returns a
// cleanup that releases the parts and closes the registry, in reverse
// order.
func Example() {
	ctx := context.Background()
	svc, cleanup, err := initializeExample(ctx)
	if err != nil {
		log.Fatal(err) // names the variable or the address at fault, never a password
	}
	defer cleanup()
	s := svc.session
	if err := s.Do(ctx, s.B().Set().Key("user:1").Value("token").Build()).Error(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Key("user:1")) // the name the server stores: session:user:1
}
