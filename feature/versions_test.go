package feature_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/redistest"
)

// TestHashFieldExpiry: a part sends Redis 7.4's hash field expiry with no
// setting (the key table is the union of the supported servers'
// commands), with its key prefixed; a server without it answers with its
// own error, which the part passes on without its prefix.
func TestHashFieldExpiry(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	s := feature.New(srv.NewClient(t, nil), "session")
	b := s.B()
	must(t, s.Do(ctx, b.Hset().Key("h").FieldValue().FieldValue("f", "v").FieldValue("g", "w").Build()))
	hexpire := b.Arbitrary("HEXPIRE").Keys("h").Args("100", "FIELDS", "1", "f").Build()
	if !srv.HasCommand(ctx, "HEXPIRE") {
		err := s.Do(ctx, hexpire).Error()
		if err == nil || errors.Is(err, feature.ErrUnknownCommand) || !strings.Contains(err.Error(), "unknown command") || strings.Contains(err.Error(), "session:") {
			t.Errorf("HEXPIRE on %s: %v, want the server's own error, without the prefix", srv.Version(t), err)
		}
		t.Run("sent and applied", func(t *testing.T) { srv.Require(t, redistest.HashFieldExpiry) })
		return
	}
	if got, err := s.Do(ctx, hexpire).AsIntSlice(); err != nil || len(got) != 1 || got[0] != 1 {
		t.Fatalf("HEXPIRE h 100 FIELDS 1 f: %v %v", got, err)
	}
	admin := srv.Client
	ttl, err := admin.Do(ctx, admin.B().Arbitrary("HTTL", "session:h", "FIELDS", "1", "f").Build()).AsIntSlice()
	if err != nil || len(ttl) != 1 || ttl[0] <= 0 || ttl[0] > 100 {
		t.Errorf("HTTL session:h on the server: %v %v, want the TTL the part set", ttl, err)
	}
	for _, args := range [][]string{
		{"HPEXPIRE", "h", "200000", "FIELDS", "1", "g"},
		{"HTTL", "h", "FIELDS", "2", "f", "g"},
		{"HPTTL", "h", "FIELDS", "1", "g"},
		{"HEXPIRETIME", "h", "FIELDS", "1", "f"},
		{"HPEXPIRETIME", "h", "FIELDS", "1", "f"},
		{"HPERSIST", "h", "FIELDS", "1", "f"},
		{"HEXPIREAT", "h", "4102444800", "FIELDS", "1", "g"},
		{"HPEXPIREAT", "h", "4102444800000", "FIELDS", "1", "g"},
	} {
		got, err := s.Do(ctx, b.Arbitrary(args[0]).Keys(args[1]).Args(args[2:]...).Build()).AsIntSlice()
		if err != nil || len(got) == 0 || got[0] < 0 {
			t.Errorf("%q through the part: %v %v", args, got, err)
		}
	}
	if ttl, err := admin.Do(ctx, admin.B().Arbitrary("HTTL", "session:h", "FIELDS", "1", "f").Build()).AsIntSlice(); err != nil || len(ttl) != 1 || ttl[0] != -1 {
		t.Errorf("HTTL session:h f after HPERSIST: %v %v, want -1", ttl, err)
	}
	if et, err := admin.Do(ctx, admin.B().Arbitrary("HEXPIRETIME", "session:h", "FIELDS", "1", "g").Build()).AsIntSlice(); err != nil || len(et) != 1 || et[0] != 4102444800 {
		t.Errorf("HEXPIRETIME session:h g after HPEXPIREAT: %v %v", et, err)
	}
	if n, _ := admin.Do(ctx, admin.B().Exists().Key("h").Build()).AsInt64(); n != 0 {
		t.Error("the unprefixed h exists on the server")
	}
}
