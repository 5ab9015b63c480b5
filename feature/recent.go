package feature

import (
	"sync/atomic"
	"unsafe"

	"github.com/wireredis/wireredis/internal/keyspec"
)

// recentSlots is how many command names a part remembers.
const (
	recentBits  = 6
	recentSlots = 1 << recentBits
)

// recentCommands remembers the key-table entries of the commands a part
// sent last, by the address of their names (BenchmarkLookup: 6 ns against
// the map's 24; a part's BenchmarkDo/GET is 13% slower without it). rueidis's builders spell each
// command with one string constant, so the next GET finds its entry with
// one comparison, not a map lookup: between network writes, the map's
// memory is seldom in the CPU's cache, and the lookup cost a part more
// than everything else it does to a command. A slot holds the last name
// that fell in it.
type recentCommands struct {
	slots [recentSlots]atomic.Pointer[recentCommand]
}

// recentCommand is immutable once stored.
type recentCommand struct {
	name string
	spec *keyspec.Command
}

func (r *recentCommands) slot(name string) *atomic.Pointer[recentCommand] {
	// The address only spreads the names over the slots; find compares
	// the names themselves, so a name at a reused address is not confused
	// with another. (Equal addresses make that comparison immediate.)
	p := uint64(uintptr(unsafe.Pointer(unsafe.StringData(name))))
	return &r.slots[p*0x9E3779B97F4A7C15>>(64-recentBits)]
}

// find returns the entry of a command named by its first argument alone.
func (r *recentCommands) find(name string) *keyspec.Command {
	if e := r.slot(name).Load(); e != nil && e.name == name {
		return e.spec
	}
	return nil
}

func (r *recentCommands) remember(name string, spec *keyspec.Command) {
	r.slot(name).Store(&recentCommand{name: name, spec: spec})
}
