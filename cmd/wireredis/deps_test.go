package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestToolLinksNoDemo keeps the operator's tool small: consumers add it
// with go tool, so what only the demo needs (an embedded Redis, the
// OpenTelemetry SDK and its test recorders) must stay in
// cmd/wireredis-demo.
func TestToolLinksNoDemo(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/alicebob/miniredis", "go.opentelemetry.io/", "github.com/wireredis/wireredis/cmd/wireredis-demo", "github.com/wireredis/wireredis/telemetry"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("cmd/wireredis links %s, which only the demo needs", dep)
			}
		}
	}
}
