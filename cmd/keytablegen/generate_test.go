package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/wireredis/wireredis/internal/keyspec"
)

// TestTableIsCurrent regenerates the key table from every server it was
// made from (redis-server from PATH and the builds in REDIS_SERVERS_DIR)
// and compares it with the committed one. Without those servers it
// cannot, and says so.
func TestTableIsCurrent(t *testing.T) {
	bins, err := ServerPrograms("")
	if errors.Is(err, ErrNoServers) {
		t.Skipf("cannot check internal/keyspec/table_gen.go: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	sources, err := FetchPrograms(context.Background(), bins)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Generate(sources)
	if err != nil {
		t.Fatal(err)
	}
	_, names, _ := merge(sources)
	if have := strings.Join(names, ", "); have != keyspec.ServerVersion() {
		t.Skipf("the table comes from %s; the servers here are %s", keyspec.ServerVersion(), have)
	}
	want, err := os.ReadFile("../../internal/keyspec/table_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("internal/keyspec/table_gen.go is stale; run 'make generate'")
	}
	if !bytes.HasPrefix(want, []byte("// Code generated ")) || !bytes.Contains(want, []byte("DO NOT EDIT.\n")) {
		t.Error("table_gen.go lacks the generated-code header")
	}
}

func TestGenerateRefusesWhatItCannotClassify(t *testing.T) {
	cmds := []Command{{Info: keyspec.Info{Name: "NEWCMD", Specs: []keyspec.RawSpec{{BeginType: "unknown", FindType: "unknown"}}}}}
	if _, err := Generate([]Source{{Server: "redis 9.9.9", Cmds: cmds}}); err == nil {
		t.Error("Generate accepted a command with an unknown key spec and no rule")
	}
}

func get(first int64, specs ...keyspec.RawSpec) Command {
	return Command{Info: keyspec.Info{Name: "GET", Arity: 2, First: first, Last: first, Step: 1, Flags: []string{"readonly"}, Specs: specs}}
}

var keyAt1 = keyspec.RawSpec{BeginType: "index", Index: 1, FindType: "range", KeyStep: 1}

// TestMergeRefusesDisagreement: two servers that place a command's keys
// differently make the generator fail, naming the command and the
// servers, rather than pick one.
func TestMergeRefusesDisagreement(t *testing.T) {
	keyAt2 := keyAt1
	keyAt2.Index = 2
	_, err := Generate([]Source{
		{Server: "redis 7.0.15", Cmds: []Command{get(1, keyAt1)}},
		{Server: "redis 7.4.1", Cmds: []Command{get(2, keyAt2)}},
	})
	if err == nil || !strings.Contains(err.Error(), "GET: redis 7.0.15 has") || !strings.Contains(err.Error(), "redis 7.4.1 has") {
		t.Errorf("Generate over two servers that disagree: %v", err)
	}
	// A legacy server (no key specs) must agree with the first/last/step
	// of the others.
	_, err = Generate([]Source{
		{Server: "redis 7.0.15", Cmds: []Command{get(1, keyAt1)}},
		{Server: "redis 6.2.16", Cmds: []Command{get(2)}, Legacy: true},
	})
	if err == nil || !strings.Contains(err.Error(), "GET: redis 6.2.16 places keys at first=2") {
		t.Errorf("Generate over a legacy server that disagrees: %v", err)
	}
}

// TestMergeTakesTheUnion: a command only one server has gets its entry
// from that server, marked with its name; a legacy server's own commands
// come from first/last/step.
func TestMergeTakesTheUnion(t *testing.T) {
	hexpire := Command{Info: keyspec.Info{Name: "HEXPIRE", Arity: -6, First: 1, Last: 1, Step: 1, Specs: []keyspec.RawSpec{keyAt1}}}
	old := Command{Info: keyspec.Info{Name: "GETOLD", Arity: 2, First: 1, Last: 1, Step: 1}}
	src, err := generate([]Source{
		{Server: "redis 7.4.1", Cmds: []Command{get(1, keyAt1), hexpire}},
		{Server: "redis 7.0.15", Cmds: []Command{get(1, keyAt1)}},
		{Server: "redis 6.2.16", Cmds: []Command{get(1), old}, Legacy: true},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"from the COMMAND replies of redis 6.2.16, redis 7.0.15, redis 7.4.1.",
		"// redis 7.4.1\n\t\"HEXPIRE\":",
		"// redis 6.2.16\n\t\"GETOLD\": {Name: \"GETOLD\", Class: Keys, Specs: []Spec{{BeginIndex: 1, LastKey: 0, KeyStep: 1}}}",
		"\t\"GET\": {Name: \"GET\", Class: Keys",
	} {
		if !strings.Contains(string(src), want) {
			t.Errorf("the table lacks %q:\n%s", want, src)
		}
	}
}
