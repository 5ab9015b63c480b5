package keyspec_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/wireredis/wireredis/internal/keyspec"
	"github.com/wireredis/wireredis/redistest"
)

// TestFindAgreesWithTheServer compares the positions Find reports with
// those of the server's COMMAND GETKEYS, over the key spec shapes.
func TestFindAgreesWithTheServer(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	for _, args := range [][]string{
		{"SET", "k", "v", "EX", "10"},
		{"GET", "k"},
		{"MSET", "a", "1", "b", "2", "c", "3"},
		{"MGET", "a", "b", "c"},
		{"DEL", "a", "b"},
		{"LMOVE", "src", "dst", "LEFT", "RIGHT"},
		{"BLPOP", "a", "b", "0"},
		{"BZMPOP", "0", "2", "a", "b", "MIN"},
		{"LMPOP", "2", "a", "b", "LEFT", "COUNT", "2"},
		{"EVAL", "return 1", "2", "k1", "k2", "a1"},
		{"EVALSHA_RO", "abc", "1", "k1", "a1", "a2"},
		{"FCALL", "f", "1", "k1", "a1"},
		{"ZUNIONSTORE", "dst", "2", "a", "b", "WEIGHTS", "1", "2"},
		{"ZINTERCARD", "2", "a", "b", "LIMIT", "1"},
		{"XREAD", "COUNT", "2", "STREAMS", "s1", "s2", "0", "0"},
		{"XREADGROUP", "GROUP", "g", "c", "STREAMS", "s1", "s2", "s3", ">", ">", ">"},
		{"GEORADIUS", "src", "0", "0", "10", "km", "STORE", "dst"},
		{"GEORADIUS", "src", "0", "0", "10", "km", "STOREDIST", "dst"},
		{"GEOSEARCHSTORE", "dst", "src", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"},
		{"OBJECT", "ENCODING", "k"},
		{"XINFO", "STREAM", "s"},
		{"MEMORY", "USAGE", "k", "SAMPLES", "5"},
		{"COPY", "a", "b", "REPLACE"},
		{"SORT", "k", "STORE", "dst"},
		{"SINTERCARD", "3", "a", "b", "c"},
		{"WATCH", "a", "b"},
		{"BITOP", "AND", "dst", "a", "b"},
		{"PFMERGE", "dst", "a", "b"},
		{"RENAME", "a", "b"},
		{"SMOVE", "a", "b", "m"},
	} {
		t.Run(fmt.Sprint(args), func(t *testing.T) {
			srv.Require(t, redistest.Commands("Redis 7.0", args[0]))
			cmd, _, err := keyspec.Lookup(args)
			if err != nil {
				t.Fatal(err)
			}
			var p keyspec.Positions
			if err := cmd.Find(args, &p); err != nil {
				t.Fatal(err)
			}
			var got []string
			for i, a := range args {
				if p.At(i) == keyspec.Key {
					got = append(got, a)
				}
			}
			want, err := srv.Client.Do(ctx, srv.Client.B().CommandGetkeys().Command(args[0]).Arg(args[1:]...).Build()).AsStrSlice()
			if err != nil {
				t.Fatalf("COMMAND GETKEYS: %v", err)
			}
			// Redis 6.2 lists a command's keys in its own order
			// (ZUNIONSTORE's destination last).
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("keys %q, server says %q", got, want)
			}
		})
	}
}

// TestRules covers the hand-written rules. Where a rule corrects key specs
// the server does not follow (GEORADIUS, XREAD), the effect oracle
// (feature/effect_test.go) judges it against the server's behaviour.
func TestRules(t *testing.T) {
	for _, tt := range []struct {
		args     []string
		keys     []string
		patterns []string
	}{
		{[]string{"SORT", "l", "BY", "w_*", "LIMIT", "0", "1", "GET", "#", "GET", "d_*->f", "ALPHA", "STORE", "out"}, []string{"l", "out"}, []string{"w_*", "d_*->f"}},
		{[]string{"SORT_RO", "l", "by", "nosort", "get", "x_*"}, []string{"l"}, []string{"nosort", "x_*"}},
		{[]string{"SORT", "l", "STORE", "a", "STORE", "b"}, []string{"l", "a", "b"}, nil},
		{[]string{"GEORADIUS", "g", "15", "37", "500", "km", "STORE", "a", "STORE", "b"}, []string{"g", "a", "b"}, nil},
		{[]string{"GEORADIUS", "g", "15", "37", "500", "km", "COUNT", "STORE", "STOREDIST", "d"}, []string{"g", "d"}, nil},
		{[]string{"GEORADIUS", "g", "15", "37", "500", "km", "STORE", "STORE"}, []string{"g", "STORE"}, nil},
		{[]string{"GEORADIUSBYMEMBER", "g", "STORE", "500", "km", "STOREDIST", "a", "STORE", "b"}, []string{"g", "a", "b"}, nil},
		{[]string{"XREAD", "COUNT", "1", "BLOCK", "0", "STREAMS", "a", "b", "0", "0"}, []string{"a", "b"}, nil},
		{[]string{"XREAD", "COUNT", "STREAMS", "STREAMS", "a", "0"}, []string{"a"}, nil},
		{[]string{"XREADGROUP", "COUNT", "1", "GROUP", "STREAMS", "c", "STREAMS", "s", ">"}, []string{"s"}, nil},
		{[]string{"XREADGROUP", "GROUP", "g", "STREAMS", "NOACK", "STREAMS", "s", "t", ">", ">"}, []string{"s", "t"}, nil},
		{[]string{"COPY", "a", "b", "REPLACE"}, []string{"a", "b"}, nil},
	} {
		cmd, _, _ := keyspec.Lookup(tt.args)
		var p keyspec.Positions
		if err := cmd.Find(tt.args, &p); err != nil {
			t.Fatalf("%q: %v", tt.args, err)
		}
		var keys, patterns []string
		for i, a := range tt.args {
			switch p.At(i) {
			case keyspec.Key:
				keys = append(keys, a)
			case keyspec.Pattern:
				patterns = append(patterns, a)
			}
		}
		if !slices.Equal(keys, tt.keys) || !slices.Equal(patterns, tt.patterns) {
			t.Errorf("%q: keys %q patterns %q, want %q %q", tt.args, keys, patterns, tt.keys, tt.patterns)
		}
	}
	for _, tt := range []struct {
		args []string
		want error
	}{
		{[]string{"EVAL", "s", "-1"}, keyspec.ErrBadArguments},
		{[]string{"GET"}, keyspec.ErrBadArguments},
		{[]string{"COPY", "a", "b", "DB", "5"}, keyspec.ErrRefused},
		{[]string{"COPY", "a", "b", "REPLACE", "db", "0"}, keyspec.ErrRefused},
	} {
		cmd, _, _ := keyspec.Lookup(tt.args)
		var p keyspec.Positions
		if err := cmd.Find(tt.args, &p); !errors.Is(err, tt.want) {
			t.Errorf("%q: %v, want %v", tt.args, err, tt.want)
		}
	}
}

func TestEveryCommandIsClassified(t *testing.T) {
	counts := map[keyspec.Class]int{}
	for _, c := range keyspec.Table() {
		if c.Class == keyspec.Unknown {
			t.Errorf("%s has no class", c.Name)
		}
		if c.Class == keyspec.Refused && c.Reason == "" {
			t.Errorf("%s is refused without a reason", c.Name)
		}
		counts[c.Class]++
	}
	t.Logf("classes: %v", counts)
}
