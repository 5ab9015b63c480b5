package rueidisx_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/wireredis/wireredis/internal/rueidisx"
)

// TestCheckedVersionIsGoMods fails when go.mod's rueidis is not the
// release the mirrors were checked against: read the mirrors (message.go,
// pin.go) against the new release's types, then move CheckedVersion.
// (A test binary carries no module versions, so go.mod is asked.)
func TestCheckedVersionIsGoMods(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "github.com/redis/rueidis").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != rueidisx.CheckedVersion {
		t.Fatalf("go.mod requires rueidis %s, the mirrors were checked against %s: check internal/rueidisx's mirrors against it and update CheckedVersion", got, rueidisx.CheckedVersion)
	}
}

// TestCheckPasses fails with Check's own words when a mirror does not
// match the rueidis linked in.
func TestCheckPasses(t *testing.T) {
	if err := rueidisx.Check(); err != nil {
		t.Fatal(err)
	}
}
