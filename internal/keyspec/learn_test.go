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
	// Redis 6.2 gives first/last/step only: TestLearnFromLegacyServer.
	srv.Require(t, redistest.KeySpecs)
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

// TestLearnFromLegacyServer learns every command of the server from its
// COMMAND reply where it gives no key specs (Redis 6.2): the keys a
// learned entry finds in a sample of arguments are those the table's
// entry finds, and those the server's COMMAND GETKEYS names; commands
// with movable keys are refused.
func TestLearnFromLegacyServer(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	if srv.HasCommand(ctx, "COMMAND DOCS") {
		t.Skipf("this test is for a server without key specs (Redis 6.2); this one (%s) has them: TestLearnAgreesWithTheTable", srv.Version(t))
	}
	entries, err := srv.Client.Do(ctx, srv.Client.B().Command().Build()).ToArray()
	if err != nil {
		t.Fatal(err)
	}
	infos, err := keyspec.ParseInfo(entries)
	if err != nil {
		t.Fatal(err)
	}
	learned := map[string]*keyspec.Command{}
	for _, info := range infos {
		if len(info.Subs) > 0 || len(info.Specs) > 0 {
			t.Fatalf("%s: a legacy COMMAND reply with subcommands or key specs", info.Name)
		}
		learned[info.Name] = keyspec.Learn(info)
		if slices.Contains(info.Flags, "movablekeys") && learned[info.Name].Class != keyspec.Refused {
			t.Errorf("%s has movable keys, but learning it gave %v", info.Name, learned[info.Name].Class)
		}
	}
	for _, args := range [][]string{
		{"SET", "k", "v"}, {"MSET", "a", "1", "b", "2"}, {"SMOVE", "a", "b", "m"},
		{"RENAME", "a", "b"}, {"PFMERGE", "dst", "a", "b"}, {"BLPOP", "a", "b", "0"},
		{"BITOP", "AND", "dst", "a", "b"}, {"LMOVE", "a", "b", "LEFT", "RIGHT"},
	} {
		c := learned[args[0]]
		if c == nil || c.Class != keyspec.Keys {
			t.Errorf("%s: learned %v", args[0], c)
			continue
		}
		table, _, err := keyspec.Lookup(args)
		if err != nil {
			t.Fatal(err)
		}
		got, fromTable := keysOf(t, c, args), keysOf(t, table, args)
		want, err := srv.Client.Do(ctx, srv.Client.B().CommandGetkeys().Command(args[0]).Arg(args[1:]...).Build()).AsStrSlice()
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(want)
		if !slices.Equal(got, want) || !slices.Equal(fromTable, want) {
			t.Errorf("%q: learned %q, table %q, server %q", args, got, fromTable, want)
		}
	}
}

func keysOf(t *testing.T, c *keyspec.Command, args []string) []string {
	t.Helper()
	var p keyspec.Positions
	if err := c.Find(args, &p); err != nil {
		t.Fatalf("%q: %v", args, err)
	}
	var keys []string
	for i, a := range args {
		if p.At(i) == keyspec.Key {
			keys = append(keys, a)
		}
	}
	slices.Sort(keys)
	return keys
}
