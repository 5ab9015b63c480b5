package main

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/wireredis/wireredis/internal/keyspec"
	"github.com/wireredis/wireredis/redistest"
)

// TestTableIsCurrent regenerates the key table from the test server and
// compares it with the committed one.
func TestTableIsCurrent(t *testing.T) {
	srv := redistest.Start(t)
	version, cmds, err := Fetch(context.Background(), srv.Client)
	if err != nil {
		t.Fatal(err)
	}
	if version != keyspec.ServerVersion() {
		t.Skipf("the table comes from redis %s; this server is %s", keyspec.ServerVersion(), version)
	}
	got, err := Generate(version, cmds)
	if err != nil {
		t.Fatal(err)
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
	if _, err := Generate("9.9.9", cmds); err == nil {
		t.Error("Generate accepted a command with an unknown key spec and no rule")
	}
}
