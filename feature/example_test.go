package feature_test

import (
	"context"
	"fmt"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/registry"
)

// A service asks for its part by type; wire calls the provider.
type SessionService struct{ redis feature.SessionRedis }

func NewSessionService(r feature.SessionRedis) *SessionService { return &SessionService{redis: r} }

func (s *SessionService) Save(ctx context.Context, user, token string) error {
	r := s.redis
	// Stored as session:user:<user>.
	return r.Do(ctx, r.B().Set().Key("user:"+user).Value(token).ExSeconds(1800).Build()).Error()
}

func ExampleOpen() {
	ctx := context.Background()
	base, err := provider.Load() // REDIS_URL, REDIS_HOST, ...
	if err != nil {
		panic(err)
	}
	reg, closeAll := registry.New(nil)
	defer closeAll()

	// Namespace "reports", REDIS_REPORTS_* overrides, then a code override.
	reports, release, err := feature.Open(ctx, reg, base, "reports", func(o *provider.Options) { o.ClientName = "reports" })
	if err != nil {
		panic(err)
	}
	defer release()
	_ = reports.Do(ctx, reports.B().Incr().Key("daily").Build()) // INCR reports:daily
}

func ExampleClient_Key() {
	part := feature.New(nil, "session") // the shared client is not used here
	fmt.Println(part.Key("user:1"))
	fmt.Println(part.StripKey("session:user:1"))
	fmt.Println(part.StripKey("cache:user:1"))
	// Output:
	// session:user:1
	// user:1 true
	// cache:user:1 false
}
