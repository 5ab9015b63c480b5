package keyspec_test

import (
	"context"
	"slices"
	"testing"

	"github.com/wireredis/wireredis/internal/keyspec"
	"github.com/wireredis/wireredis/redistest"
)

// TestLearnAgreesWithTheTable learns every command of the server from its
// COMMAND reply and compares with the generated table: the key specs must
// be the same wherever the table did not need a hand-written class.
func TestLearnAgreesWithTheTable(t *testing.T) {
	srv := redistest.Start(t)
	entries, err := srv.Client.Do(context.Background(), srv.Client.B().Command().Build()).ToArray()
	if err != nil {
		t.Fatal(err)
	}
	infos, err := keyspec.ParseInfo(entries)
	if err != nil {
		t.Fatal(err)
	}
	var flat []keyspec.Info
	for _, info := range infos {
		if len(info.Subs) == 0 {
			flat = append(flat, info)
		}
		flat = append(flat, info.Subs...)
	}
	compared := 0
	for _, info := range flat {
		learned := keyspec.Learn(info)
		table, _, err := keyspec.Lookup(splitName(info.Name))
		if err != nil {
			t.Errorf("%s: %v", info.Name, err)
			continue
		}
		switch {
		case table.Class == keyspec.Keys && table.Rule == keyspec.NoRule:
			if learned.Class != keyspec.Keys || !slices.Equal(learned.Specs, table.Specs) {
				t.Errorf("%s: learned %v %v, table %v %v", info.Name, learned.Class, learned.Specs, table.Class, table.Specs)
			}
			compared++
		case table.Rule != keyspec.NoRule && slices.ContainsFunc(info.Specs, incomplete):
			// A rule for what the specs cannot say. (Other rules correct
			// specs the server does not follow, GEORADIUS's STORE say;
			// the learner is never asked about what the table has.)
			if learned.Class != keyspec.Refused {
				t.Errorf("%s needs a hand rule, but learning it gave %v", info.Name, learned.Class)
			}
		}
	}
	if compared < 150 {
		t.Errorf("compared only %d commands", compared)
	}
}

func incomplete(s keyspec.RawSpec) bool { return !s.Complete() }

func splitName(name string) []string {
	for i := range len(name) {
		if name[i] == ' ' {
			return []string{name[:i], name[i+1:]}
		}
	}
	return []string{name}
}

func TestLearnFromLegacyPositions(t *testing.T) {
	for _, tc := range []struct {
		info  keyspec.Info
		class keyspec.Class
		args  []string
		keys  []string
	}{
		{keyspec.Info{Name: "MOD.GET", First: 1, Last: 1, Step: 1}, keyspec.Keys, []string{"MOD.GET", "k", "x"}, []string{"k"}},
		{keyspec.Info{Name: "MOD.MSET", First: 1, Last: -1, Step: 2}, keyspec.Keys, []string{"MOD.MSET", "a", "1", "b", "2"}, []string{"a", "b"}},
		{keyspec.Info{Name: "MOD.INFO"}, keyspec.Refused, []string{"MOD.INFO"}, nil},
		// Movable keys: the legacy positions name only some (SORT has first=1).
		{keyspec.Info{Name: "MOD.MOVE", First: 1, Last: 1, Step: 1, Flags: []string{"movablekeys"}}, keyspec.Refused, nil, nil},
		{keyspec.Info{Name: "MOD.MOVABLE", Flags: []string{"movablekeys"}}, keyspec.Refused, nil, nil},
		{keyspec.Info{Name: "MOD.PUB", Specs: []keyspec.RawSpec{{Flags: []string{"not_key"}, BeginType: "index", Index: 1, FindType: "range", KeyStep: 1}}}, keyspec.Refused, nil, nil},
	} {
		c := keyspec.Learn(tc.info)
		if c.Class != tc.class {
			t.Errorf("%s: class %v, want %v (%s)", tc.info.Name, c.Class, tc.class, c.Reason)
			continue
		}
		if tc.args == nil {
			continue
		}
		var p keyspec.Positions
		if err := c.Find(tc.args, &p); err != nil {
			t.Fatalf("%s: %v", tc.info.Name, err)
		}
		var keys []string
		for i, a := range tc.args {
			if p.At(i) == keyspec.Key {
				keys = append(keys, a)
			}
		}
		if !slices.Equal(keys, tc.keys) {
			t.Errorf("%s: keys %q, want %q", tc.info.Name, keys, tc.keys)
		}
	}
}
