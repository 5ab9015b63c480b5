package feature_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/internal/testsupport"
	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/redistest"
	"github.com/wireredis/wireredis/registry"
)

// TestKPartsOpenWhatOneClientOpens: K parts with equal settings open
// exactly the connections one raw rueidis client with those settings
// opens (the server's CLIENT LIST), for K = 1, 10, 100.
func TestKPartsOpenWhatOneClientOpens(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	base, err := provider.LoadFrom([]string{"REDIS_URL=" + srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	settle := func(want int, what string) {
		t.Helper()
		testsupport.WaitFor(t, 5*time.Second, what, func() bool { return srv.ConnectedClients(t) == want })
	}
	co, err := base.ClientOption()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := rueidis.NewClient(co)
	if err != nil {
		t.Fatal(err)
	}
	must(t, raw.Do(ctx, raw.B().Ping().Build()))
	rawConns := srv.ConnectedClients(t)
	raw.Close()
	settle(0, "the raw client's connections to close")
	for _, k := range []int{1, 10, 100} {
		reg, closeAll := registry.New(nil)
		for i := range k {
			part, _, err := feature.Open(ctx, reg, base, fmt.Sprintf("part%d", i))
			if err != nil {
				t.Fatal(err)
			}
			must(t, part.Do(ctx, part.B().Ping().Build()))
		}
		settle(rawConns, fmt.Sprintf("%d parts to hold the %d server connections one raw client opens", k, rawConns))
		closeAll()
		settle(0, "the parts' connections to close")
	}
}
