package feature_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/redistest"
)

func TestScan(t *testing.T) {
	srv := redistest.Start(t)
	shared := srv.NewClient(t, nil)
	s, c := feature.New(shared, "session"), feature.New(shared, "cache")
	ctx := context.Background()
	var want []string
	for i := range 250 {
		k := fmt.Sprintf("user:%03d", i)
		must(t, s.Do(ctx, s.B().Set().Key(k).Value("v").Build()))
		must(t, c.Do(ctx, c.B().Set().Key(k).Value("v").Build()))
		want = append(want, k)
	}
	must(t, s.Do(ctx, s.B().Hset().Key("profile").FieldValue().FieldValue("f", "v").Build()))
	must(t, srv.Client.Do(ctx, srv.Client.B().Set().Key("session-not:x").Value("v").Build()))

	collect := func(opts feature.ScanOptions) []string {
		var got []string
		for k, err := range s.Scan(ctx, opts) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, k)
		}
		slices.Sort(got)
		return slices.Compact(got)
	}
	if got := collect(feature.ScanOptions{Match: "user:*", Count: 50}); !slices.Equal(got, want) {
		t.Errorf("Scan user:* = %d keys, want %d (first %v)", len(got), len(want), got[:min(3, len(got))])
	}
	if got := collect(feature.ScanOptions{Type: "hash"}); fmt.Sprint(got) != "[profile]" {
		t.Errorf("Scan of hashes = %v", got)
	}
	if got := collect(feature.ScanOptions{}); len(got) != 251 {
		t.Errorf("Scan of everything = %d keys, want 251 (250 users and a profile)", len(got))
	}
	n := 0
	for _, err := range s.Scan(ctx, feature.ScanOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if n == 3 {
			break
		}
	}
	if n != 3 {
		t.Errorf("break after 3 yielded %d", n)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for k, err := range s.Scan(cancelled, feature.ScanOptions{}) {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Scan with a cancelled context yielded %q, %v", k, err)
		}
	}
}
