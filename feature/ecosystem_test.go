package feature_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/rueidis/rueidiscompat"
	"github.com/redis/rueidis/rueidislock"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/redistest"
)

// TestCompat: rueidiscompat's go-redis-style API over a part, as its own
// adapter builds it (a part is a rueidis.Client): keys prefixed, replies
// without the prefix. (feature does not import rueidiscompat: who wants
// it, imports it.)
func TestCompat(t *testing.T) {
	srv := redistest.Start(t)
	s := feature.New(srv.NewClient(t, nil), "session")
	ctx := context.Background()
	compat := rueidiscompat.NewAdapter(s)
	if err := compat.Set(ctx, "k", "v", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if err := compat.HSet(ctx, "h", "f", "1").Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := compat.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Errorf("Get = %q, %v", v, err)
	}
	if n, err := compat.HIncrBy(ctx, "h", "f", 2).Result(); err != nil || n != 3 {
		t.Errorf("HIncrBy = %d, %v", n, err)
	}
	if got := sortedString(serverKeys(t, srv)); got != "[session:h session:k]" {
		t.Errorf("server keys = %s", got)
	}
	if keys, err := compat.Keys(ctx, "*").Result(); err != nil || sortedString(keys) != "[h k]" {
		t.Errorf("Keys * = %v %v, want [h k] (without the prefix)", keys, err)
	}
	// rueidiscompat asks each node its ROLE before KEYS: a part tells the
	// role, and nothing more of the server's replication.
	if role, err := s.Do(ctx, s.B().Role().Build()).ToArray(); err != nil || len(role) != 1 {
		t.Errorf("ROLE through a part = %v %v, want the role alone", role, err)
	}
	if err := compat.FlushDB(ctx).Err(); !errors.Is(err, feature.ErrRefused) {
		t.Errorf("FlushDB through Compat: %v, want ErrRefused", err)
	}
}

func TestRueidislock(t *testing.T) {
	srv := redistest.Start(t)
	shared := srv.NewClient(t, nil)
	s, c := feature.New(shared, "session"), feature.New(shared, "cache")
	newLocker := func(part *feature.Client) rueidislock.Locker {
		// TryNextAfter also bounds each attempt's round trip: a tight one
		// turns "held by another" into a deadline error on a loaded machine.
		l, err := rueidislock.NewLocker(part.LockerOption(rueidislock.LockerOption{KeyMajority: 1, TryNextAfter: time.Second}))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	ctx := context.Background()
	l1, l2, other := newLocker(s), newLocker(s), newLocker(c)

	held, release, err := l1.WithContext(ctx, "job")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := l2.TryWithContext(ctx, "job"); !errors.Is(err, rueidislock.ErrNotLocked) {
		t.Errorf("a second session locker took the held lock: %v", err)
	}
	// Another namespace has its own lock of that name.
	_, releaseOther, err := other.TryWithContext(ctx, "job")
	if err != nil {
		t.Errorf("the cache part could not take its own lock: %v", err)
	} else {
		releaseOther()
	}
	keys := serverKeys(t, srv)
	if len(keys) == 0 || fmt.Sprint(keys) != fmt.Sprint(filterPrefix(keys, "session:rueidislock:")) {
		t.Errorf("lock keys = %v, want them all under session:rueidislock:", keys)
	}
	release()
	<-held.Done()
	// The waiting locker gets it after the release.
	waitCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, release2, err := l2.WithContext(waitCtx, "job")
	if err != nil {
		t.Fatalf("the second locker did not get the released lock: %v", err)
	}
	release2()
	for _, l := range []rueidislock.Locker{l1, l2, other} {
		l.Close()
	}
	if err := s.Do(ctx, s.B().Ping().Build()).Error(); err != nil {
		t.Errorf("the shared connection did not survive the lockers' Close: %v", err)
	}
}

func filterPrefix(keys []string, prefix string) []string {
	var out []string
	for _, k := range keys {
		if len(k) >= len(prefix) && k[:len(prefix)] == prefix {
			out = append(out, k)
		}
	}
	return out
}
