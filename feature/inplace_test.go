package feature_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/redistest"
)

// A part rewrites a command in place only once nothing can stop it from
// being sent: a command it refuses, or one of a batch it refuses, is left
// as it was.
func TestRefusedCommandsAreLeftAsTheyWere(t *testing.T) {
	rec := &recorder{b: clusterBuilder(t)}
	s := feature.New(rec, "session")
	b := rec.b
	ctx := context.Background()

	// On a cluster, keys that hash to two slots once prefixed.
	mset := b.Arbitrary("MSET").Args("a", "1", "b", "2").Build()
	if err := s.Do(ctx, mset).Error(); !errors.Is(err, feature.ErrBadArguments) {
		t.Fatalf("MSET across slots: %v, want ErrBadArguments", err)
	}
	if got := mset.Commands(); !slices.Equal(got, []string{"MSET", "a", "1", "b", "2"}) {
		t.Errorf("refused MSET became %q", got)
	}

	// A batch whose last command is refused.
	batch := []rueidis.Completed{
		b.Set().Key("a").Value("1").Build(),
		b.Mset().KeyValue().KeyValue("{u}x", "1").KeyValue("{u}y", "2").Build(),
		b.Scan().Cursor(0).Match("u*").Build(),
		b.Keys().Pattern("u*").Build(),
		b.Flushall().Build(),
	}
	want := make([][]string, len(batch))
	for i, c := range batch {
		want[i] = slices.Clone(c.Commands())
	}
	results := s.DoMulti(ctx, batch...)
	if !errors.Is(results[4].Error(), feature.ErrRefused) || !errors.Is(results[0].Error(), feature.ErrNotSent) {
		t.Fatalf("batch results %v, %v", results[0].Error(), results[4].Error())
	}
	for i, c := range batch {
		if !slices.Equal(c.Commands(), want[i]) {
			t.Errorf("command %d of the refused batch became %q, want %q", i+1, c.Commands(), want[i])
		}
	}
	if len(rec.sent) != 0 {
		t.Errorf("sent %d commands", len(rec.sent))
	}
}

// TestPinnedCommandsAreCopied sends one pinned command from many
// goroutines, as callers of Pin do, and through rueidis's helpers, which
// pin the commands they build: each send is prefixed once, and the
// caller's command never changes (run with -race).
func TestPinnedCommandsAreCopied(t *testing.T) {
	srv := redistest.Start(t)
	s := feature.New(srv.NewClient(t, nil), "session")
	ctx := context.Background()

	incr := s.B().Incr().Key("n").Build().Pin()
	const goroutines, each = 8, 50
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				if err := s.Do(ctx, incr).Error(); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := str(t, srv.Client.Do(ctx, srv.Client.B().Get().Key("session:n").Build())); got != fmt.Sprint(goroutines*each) {
		t.Errorf("session:n = %s, want %d", got, goroutines*each)
	}
	if got := incr.Commands(); !slices.Equal(got, []string{"INCR", "n"}) {
		t.Errorf("the pinned command became %q", got)
	}

	// A batch mixing pinned and unpinned commands.
	get := s.B().Get().Key("n").Build().Pin()
	for range 2 {
		res := s.DoMulti(ctx, incr, s.B().Incr().Key("m").Build(), get)
		for i, r := range res {
			if err := r.Error(); err != nil {
				t.Fatalf("batch result %d: %v", i+1, err)
			}
		}
	}
	if got := str(t, s.Do(ctx, get)); got != fmt.Sprint(goroutines*each+2) {
		t.Errorf("GET n = %s, want %d", got, goroutines*each+2)
	}

	for _, err := range rueidis.MSet(s, ctx, map[string]string{"x": "1", "y": "2"}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := serverKeys(t, srv); fmt.Sprint(got) != "[session:m session:n session:x session:y]" {
		t.Errorf("server keys = %v", got)
	}
}
