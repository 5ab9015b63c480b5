package feature

import (
	"hash/maphash"
	"sync/atomic"
)

// hotKeySlots is how many keys a part remembers for DoCache.
const hotKeySlots = 256

// hotKeys remembers the prefixed names of keys a part recently read with
// DoCache through a one-key command (GET k, HGETALL k, ...). A cached read
// is worth having only for keys read again and again; for those, the
// part then neither looks the command up nor allocates the prefixed name
// again. A slot holds the last key that hashed to it.
type hotKeys struct {
	// last is the key remembered last: a part that reads one key again
	// and again finds it here without hashing it (hashing cost a cache
	// hit about 5 % of its time, BenchmarkServer/CacheHit).
	last  atomic.Pointer[hotKey]
	seed  maphash.Seed
	slots [hotKeySlots]atomic.Pointer[hotKey]
}

// hotKey is immutable once stored.
type hotKey struct {
	command, key, prefixed string
}

func newHotKeys() *hotKeys { return &hotKeys{seed: maphash.MakeSeed()} }

func (h *hotKeys) slot(key string) *atomic.Pointer[hotKey] {
	return &h.slots[maphash.String(h.seed, key)%hotKeySlots]
}

// find returns the prefixed name of key when command key was remembered.
func (h *hotKeys) find(command, key string) (string, bool) {
	if e := h.last.Load(); e != nil && e.key == key && e.command == command {
		return e.prefixed, true
	}
	if e := h.slot(key).Load(); e != nil && e.key == key && e.command == command {
		return e.prefixed, true
	}
	return "", false
}

func (h *hotKeys) remember(command, key, prefixed string) {
	e := &hotKey{command: command, key: key, prefixed: prefixed}
	h.slot(key).Store(e)
	h.last.Store(e)
}
