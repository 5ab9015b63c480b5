package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemoPartsAreCurrent re-runs the go:generate line of the demo's
// parts (cmd/wireredis-demo/internal/demo) and compares with the
// committed wireredis_gen.go.
func TestDemoPartsAreCurrent(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "cmd", "wireredis-demo", "internal", "demo")
	doc, err := os.ReadFile(filepath.Join(dir, "doc.go"))
	if err != nil {
		t.Fatal(err)
	}
	const directive = "//go:generate go run ../../../wireredis gen "
	var args []string
	for _, line := range strings.Split(string(doc), "\n") {
		if rest, ok := strings.CutPrefix(line, directive); ok {
			args = strings.Fields(rest)
		}
	}
	if args == nil {
		t.Fatal("the demo's doc.go has no wireredis gen directive")
	}
	out := filepath.Join(t.TempDir(), "gen.go")
	var stderr bytes.Buffer
	if code := run(context.Background(), append([]string{"gen", "-package", "demo", "-o", out}, args...), io.Discard, &stderr); code != 0 {
		t.Fatalf("gen: exit %d: %s", code, &stderr)
	}
	got, _ := os.ReadFile(out)
	want, err := os.ReadFile(filepath.Join(dir, "wireredis_gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("cmd/wireredis-demo/internal/demo/wireredis_gen.go is stale; run 'make generate'\n--- generated now:\n%s", got)
	}
}
