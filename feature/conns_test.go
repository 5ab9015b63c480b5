package feature_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/feature"
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
	settle := func(want int) int {
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := srv.ConnectedClients(t)
			if n == want || time.Now().After(deadline) {
				return n
			}
			time.Sleep(10 * time.Millisecond)
		}
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
	settle(0)
	for _, k := range []int{1, 10, 100} {
		reg, closeAll := registry.New(nil)
		for i := range k {
			part, _, err := feature.Open(ctx, reg, base, fmt.Sprintf("part%d", i))
			if err != nil {
				t.Fatal(err)
			}
			must(t, part.Do(ctx, part.B().Ping().Build()))
		}
		if got := settle(rawConns); got != rawConns {
			t.Errorf("%d parts: %d server connections, one raw client opens %d", k, got, rawConns)
		}
		closeAll()
		settle(0)
	}
}
