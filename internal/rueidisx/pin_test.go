package rueidisx_test

import (
	"testing"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/rueidisx"
)

// TestPinVerified fails when a rueidis upgrade changes the command layout:
// the namespaced client would still be correct, but every command would
// take the copying path, and the allocation targets would be lost.
func TestPinVerified(t *testing.T) {
	if !rueidisx.PinVerified() {
		t.Fatal("the layout of rueidis's commands is not the one rueidisx mirrors: update the mirror in pin.go")
	}
}

func TestUnpinned(t *testing.T) {
	b := rueidisx.SingleNodeBuilder()
	cmd := b.Ping().Build()
	if !rueidisx.Unpinned(&cmd) {
		t.Error("a fresh command reads as pinned")
	}
	pinned := b.Echo().Message("x").Build().Pin()
	if rueidisx.Unpinned(&pinned) {
		t.Error("a pinned command reads as unpinned")
	}
	// Pin marks the shared command slice: a copy made before Pin is pinned too.
	orig := b.Ping().Build()
	cp := orig
	_ = orig.Pin()
	if rueidisx.Unpinned(&cp) {
		t.Error("a copy of a command pinned later reads as unpinned")
	}
	cache := b.Get().Key("k").Cache()
	if !rueidisx.Unpinned((*rueidis.Completed)(&cache)) {
		t.Error("a fresh cacheable command reads as pinned")
	}
	cache = cache.Pin()
	if rueidisx.Unpinned((*rueidis.Completed)(&cache)) {
		t.Error("a pinned cacheable command reads as unpinned")
	}
	var empty rueidis.Completed
	if rueidisx.Unpinned(&empty) {
		t.Error("the zero command reads as unpinned")
	}
}
