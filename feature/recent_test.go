package feature

import (
	"testing"
	"unsafe"

	"github.com/wireredis/wireredis/internal/keyspec"
	"github.com/wireredis/wireredis/internal/rueidisx"
)

// TestRecentCommandsAssumption: the memory of recent commands finds an
// entry by the address of the command's name, which pays only because
// rueidis's builders spell each command with one string constant. If a
// rueidis release builds the name anew each time, this fails (the memory
// would still be right, never used).
func TestRecentCommandsAssumption(t *testing.T) {
	b := rueidisx.SingleNodeBuilder()
	c1, c2 := b.Get().Key("x").Build(), b.Get().Key("y").Build()
	a1, a2 := c1.Commands(), c2.Commands()
	if unsafe.StringData(a1[0]) != unsafe.StringData(a2[0]) {
		t.Fatal("two GETs of rueidis's builder do not share the string of their name: the memory of recent commands no longer pays")
	}
	var r recentCommands
	spec, _, _ := keyspec.Lookup(a1)
	r.remember(a1[0], spec)
	if r.find(a2[0]) != spec || r.find("GET") != spec || r.find("SET") != nil {
		t.Error("the memory does not find what it remembered by name")
	}
}

// BenchmarkLookup compares the key table's map with the memory of recent
// commands, for the name rueidis's builder gives GET. Between the network
// writes of real traffic the map is seldom in the CPU's cache, which makes
// the difference larger there than in this loop (BenchmarkDo/GET of a part
// measured 13% slower without the memory, BenchmarkServer SetGet at 64
// goroutines 7%).
func BenchmarkLookup(b *testing.B) {
	cmd := rueidisx.SingleNodeBuilder().Get().Key("user:1").Build()
	args := cmd.Commands()
	b.Run("table", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := keyspec.Lookup(args); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("recent", func(b *testing.B) {
		var r recentCommands
		spec, _, _ := keyspec.Lookup(args)
		r.remember(args[0], spec)
		for b.Loop() {
			if r.find(args[0]) == nil {
				b.Fatal("not found")
			}
		}
	})
}
