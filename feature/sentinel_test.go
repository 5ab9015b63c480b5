package feature_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/internal/testsupport"
	"github.com/wireredis/wireredis/redistest"
)

// TestSentinelFailover: the primary is killed; after the sentinels promote
// a replica, the same client writes again.
func TestSentinelFailover(t *testing.T) {
	t.Parallel() // servers of its own and no globals: runs beside the other slow tests
	ctx := context.Background()
	s := redistest.StartSentinel(t, 2)
	reg, base := parts(t, "REDIS_ADDRS="+strings.Join(s.Sentinels, ","), "REDIS_SENTINEL_MASTER="+redistest.SentinelMaster)
	session, release, err := feature.ProvideSessionRedis(ctx, reg, base)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if session.Mode() != "sentinel" {
		t.Errorf("Mode = %s, want sentinel", session.Mode())
	}
	must(t, session.Do(ctx, session.B().Set().Key("before").Value("1").Build()))
	old := s.Primary()
	s.Kill(old)
	start := time.Now()
	testsupport.WaitFor(t, 60*time.Second, "a write after the primary was killed", func() bool {
		opCtx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		return session.Do(opCtx, session.B().Set().Key("after").Value("2").Build()).Error() == nil
	})
	recovered := time.Since(start)
	if now := s.Primary(); now == old {
		t.Errorf("the sentinels still name %s", old)
	}
	fmt.Printf("sentinel failover: writes through the same client again %s after the primary was killed\n", recovered.Round(time.Millisecond))
	if got := str(t, session.Do(ctx, session.B().Get().Key("after").Build())); got != "2" {
		t.Errorf("after = %q", got)
	}
}
