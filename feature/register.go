package feature

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/wireredis/wireredis/internal/keyspec"
)

// KeySpec is one Redis key spec, as COMMAND DOCS gives it: where the
// search for keys begins (an index, or the argument after a keyword) and
// how the keys are found from there (a range, or a count given in the
// arguments). Positions count the command name as 0. KeyAt, KeysFrom and
// KeysCounted build the usual ones.
type KeySpec struct {
	// BeginIndex is where the search begins, when Keyword is "".
	BeginIndex int
	// Keyword begins the search after the argument equal to it (as the
	// server compares: case aside), looked for from StartFrom; a negative
	// StartFrom counts from the end and searches backwards.
	Keyword   string
	StartFrom int
	// KeyNum selects a count: the number of keys is the argument
	// KeyNumIdx after the beginning, and the keys start FirstKey after it.
	KeyNum    bool
	KeyNumIdx int
	FirstKey  int
	// Otherwise the keys are a range: the last key is LastKey after the
	// beginning (-1: the last argument; with Limit > 1, the last of the
	// first 1/Limit of what is left), every KeyStep-th argument.
	LastKey int
	Limit   int
	KeyStep int
}

// KeyAt is one key at position i (the command name is position 0).
func KeyAt(i int) KeySpec { return KeySpec{BeginIndex: i, LastKey: 0, KeyStep: 1} }

// KeysFrom is every argument from position i to the last.
func KeysFrom(i int) KeySpec { return KeySpec{BeginIndex: i, LastKey: -1, KeyStep: 1} }

// KeysCounted is a count at position i followed by that many keys, as in
// EVAL script numkeys key...: KeysCounted(2).
func KeysCounted(i int) KeySpec {
	return KeySpec{BeginIndex: i, KeyNum: true, KeyNumIdx: 0, FirstKey: 1, KeyStep: 1}
}

// CommandSpec describes a command the key table does not have, for
// RegisterCommand.
type CommandSpec struct {
	// Keys locate the command's keys.
	Keys []KeySpec
	// Keyless declares a command without keys: it is sent as it is.
	Keyless bool
}

// registered holds the commands given to RegisterCommand: the one piece of
// package state, filled at start-up like database/sql's drivers.
var registered = struct {
	sync.RWMutex
	m map[string]*keyspec.Command
}{m: map[string]*keyspec.Command{}}

// ErrRegister is matched by RegisterCommand's errors.
var ErrRegister = errors.New("cannot register the command")

// RegisterCommand teaches every part where the keys of a command are that
// the key table lacks: module commands (RedisJSON, RediSearch, ...) or
// commands newer than the table. name is the command ("JSON.SET") or a
// container and its subcommand ("FT.CONFIG GET"). Call it at start-up,
// before the parts send the command; registering a name twice, or a name
// the table has, is an error.
//
//	feature.RegisterCommand("JSON.SET", feature.CommandSpec{Keys: []feature.KeySpec{feature.KeyAt(1)}})
func RegisterCommand(name string, spec CommandSpec) error {
	if why := badName(name); why != "" {
		return fmt.Errorf("wireredis: %w %q: %s", ErrRegister, name, why)
	}
	name = keyspec.Upper(strings.Join(strings.Fields(name), " "))
	fail := func(why string) error { return fmt.Errorf("wireredis: %w %q: %s", ErrRegister, name, why) }
	if name == "" {
		return fail("the name is empty")
	}
	words := strings.Fields(name)
	if _, _, err := keyspec.Lookup(words); err == nil {
		return fail("the key table has it already")
	}
	if len(words) == 1 && keyspec.IsContainer(name) {
		return fail("the key table has subcommands of it; register a subcommand the table lacks (\"" + name + " NEWSUB\")")
	}
	if len(words) > 2 {
		return fail("name a command, or a container and its subcommand")
	}
	if spec.Keyless == (len(spec.Keys) > 0) {
		return fail("give key specs, or Keyless for a command without keys")
	}
	cmd := &keyspec.Command{Name: name, Class: keyspec.Keyless}
	if !spec.Keyless {
		cmd.Class = keyspec.Keys
		for i, s := range spec.Keys {
			if err := validSpec(s); err != "" {
				return fail(fmt.Sprintf("key spec %d: %s", i, err))
			}
		}
		cmd.Specs = make([]keyspec.Spec, len(spec.Keys))
		for i, k := range spec.Keys {
			cmd.Specs[i] = keyspec.Spec(k) // the same fields: a drift does not compile
		}
	}
	registered.Lock()
	defer registered.Unlock()
	if _, dup := registered.m[name]; dup {
		return fail("registered twice")
	}
	registered.m[name] = cmd
	return nil
}

// badName says why name cannot be a command the server holds: its words
// are separated by spaces and hold no NUL byte (the server may read
// "DBSIZE\x00..." as DBSIZE), no white space and no control byte.
func badName(name string) string {
	for i, r := range name {
		switch {
		case r == ' ':
		case r == 0:
			return fmt.Sprintf("a command name holds no NUL byte (one at byte %d): the server may take such a name for another command", i)
		case r == utf8.RuneError:
			return fmt.Sprintf("a command name is valid UTF-8 (not at byte %d)", i)
		case unicode.IsSpace(r):
			return fmt.Sprintf("a command name holds no white space but the spaces between a container and its subcommand (%U at byte %d)", r, i)
		case unicode.IsControl(r):
			return fmt.Sprintf("a command name holds no control byte (%U at byte %d)", r, i)
		}
	}
	return ""
}

func validSpec(s KeySpec) string {
	switch {
	case s.Keyword == "" && s.BeginIndex < 1:
		return "BeginIndex must be 1 or more (0 is the command name), or give a Keyword"
	case s.Keyword != "" && s.BeginIndex != 0:
		return "give BeginIndex or Keyword, not both"
	case s.KeyStep < 1:
		return "KeyStep must be 1 or more"
	case s.KeyNum && (s.KeyNumIdx < 0 || s.FirstKey < 1):
		return "KeyNumIdx must be 0 or more and FirstKey 1 or more"
	case !s.KeyNum && s.Limit < 0:
		return "Limit must be 0 or more"
	}
	return ""
}

// lookupRegistered finds args among the registered commands: a container
// and subcommand first, then the command alone. n is how many arguments
// name it.
func lookupRegistered(args []string) (*keyspec.Command, int) {
	registered.RLock()
	defer registered.RUnlock()
	if len(registered.m) == 0 || len(args) == 0 {
		return nil, 0
	}
	if len(args) > 1 {
		if c := registered.m[keyspec.Upper(args[0]+" "+args[1])]; c != nil {
			return c, 2
		}
	}
	if c := registered.m[keyspec.Upper(args[0])]; c != nil {
		return c, 1
	}
	return nil, 0
}
