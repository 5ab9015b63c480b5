package feature_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/redistest"
)

// TestHotKeysReadTheirOwnNamespace: a part's memory of the keys it read
// through DoCache (the last one, and the table) gives each read the
// caller's own key in the caller's own namespace, whichever key, command
// or part came before: two parts over one connection, the same key names
// in each and outside, read in turn with GET and STRLEN, handed over and
// pinned, each reply is the value stored in the reader's namespace.
func TestHotKeysReadTheirOwnNamespace(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	raw := srv.NewClient(t, nil)
	session, cache := feature.New(raw, "session"), feature.New(raw, "cache", feature.WithHashTag())
	values := map[string]string{}
	for _, k := range []string{"a", "b", "session:a", "session:b", "{cache}:a", "{cache}:b"} {
		values[k] = "value of " + k + " " + k // lengths differ by key
		must(t, raw.Do(ctx, raw.B().Set().Key(k).Value(values[k]).Build()))
	}
	for round := range 3 {
		for _, k := range []string{"a", "a", "b", "a", "b", "b"} {
			for _, p := range []*feature.Client{session, cache} {
				want := values[p.Key(k)]
				get := p.B().Get().Key(k).Cache()
				if round == 2 {
					get = rueidis.Cacheable(rueidis.Completed(get).Pin())
				}
				r := p.DoCache(ctx, get, time.Minute)
				if v, err := r.ToString(); err != nil || v != want {
					t.Fatalf("round %d: %s DoCache GET %s = %q, %v; want %q", round, p.Namespace(), k, v, err, want)
				}
				n, err := p.DoCache(ctx, p.B().Strlen().Key(k).Cache(), time.Minute).AsInt64()
				if err != nil || n != int64(len(want)) {
					t.Fatalf("round %d: %s DoCache STRLEN %s = %d, %v; want %d", round, p.Namespace(), k, n, err, len(want))
				}
			}
		}
	}
	if v, _ := raw.Do(ctx, raw.B().Get().Key("a").Build()).ToString(); v != values["a"] {
		t.Errorf("the key a outside the namespaces holds %q, want %q", v, values["a"])
	}
}
