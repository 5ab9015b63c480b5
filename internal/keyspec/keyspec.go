package keyspec

import (
	"errors"
	"fmt"
	"strconv"
)

// Class says how a namespaced client treats a command.
type Class uint8

const (
	// Unknown commands are not in the table; they are never sent.
	Unknown Class = iota
	// Keys commands get their key arguments prefixed.
	Keys
	// Keyless commands have no keys and are sent as they are.
	Keyless
	// Scoped commands are rewritten to see only the namespace (KEYS, SCAN).
	Scoped
	// Channels commands name pub/sub channels or patterns.
	Channels
	// Refused commands would cross the namespace; Command.Reason says why.
	Refused
)

func (c Class) String() string {
	switch c {
	case Keys:
		return "keys"
	case Keyless:
		return "keyless"
	case Scoped:
		return "scoped"
	case Channels:
		return "channels"
	case Refused:
		return "refused"
	}
	return "unknown"
}

// Spec is one Redis key spec: where the search for keys begins (an index,
// or the argument after a keyword) and how the keys are found from there
// (a range, or a count given in the arguments). Positions count the command
// name as 0.
type Spec struct {
	BeginIndex int
	Keyword    string
	// StartFrom is where the keyword search starts; a negative value counts
	// from the end and searches backwards.
	StartFrom int
	// KeyNum selects find_keys "keynum": the number of keys is the argument
	// KeyNumIdx after the beginning, and the keys start FirstKey after it.
	KeyNum    bool
	KeyNumIdx int
	FirstKey  int
	// Range: the last key is LastKey after the beginning; -1 is the last
	// argument, or with Limit > 1 the last of the first 1/Limit of what is
	// left (XREAD STREAMS k1 k2 id1 id2).
	LastKey int
	Limit   int
	KeyStep int
}

// Command is one entry of the table.
type Command struct {
	// Name is the command as Redis names it: "SET", "OBJECT ENCODING".
	Name  string
	Class Class
	Specs []Spec
	// Rule finds what Specs cannot (SORT, GEORADIUS, XREAD, COPY); NoRule for most.
	Rule RuleID
	// Reason explains a Refused command and names the alternative.
	Reason string
	// Transaction marks MULTI, EXEC, DISCARD, WATCH and UNWATCH: they act
	// on the connection's state, which a shared connection must not keep
	// between two requests.
	Transaction bool
	// Reply says where the reply names keys or channels.
	Reply Reply
	// Blocking marks the commands the server may block on (BLPOP, ...;
	// XREAD and XREADGROUP only with BLOCK): rueidis must send them on a
	// connection of their own, not on the one the parts share.
	Blocking bool
	// Subcommands of a container command (OBJECT, XINFO, ...), by upper-case
	// name.
	Subcommands map[string]*Command
	// Bare is a container sent without a subcommand, for the one whose
	// arity allows it (COMMAND).
	Bare *Command
}

// RuleID names a hand-written rule of rules.go. An enum rather than a func
// value: calling through a func value would move Positions to the heap on
// every command.
type RuleID uint8

// The rules.
const (
	NoRule        RuleID = iota
	SortRule             // SORT, SORT_RO: BY/GET patterns, STORE
	GeoRadiusRule        // GEORADIUS, GEORADIUSBYMEMBER: every STORE and STOREDIST
	XreadRule            // XREAD, XREADGROUP: the streams after the STREAMS the server reaches
	CopyRule             // COPY: refuses the DB option
)

// Reply says where a command's reply names keys or channels, which a part
// gives back without its prefix. Every keyed command's errors may quote a
// key name too (NOGROUP No such key 'k' ...).
type Reply uint8

// The places of names in replies.
const (
	NoNames     Reply = iota
	AllNames          // every element: KEYS, PUBSUB CHANNELS
	ScanNames         // the elements of the second element: SCAN
	FirstName         // the first element: BLPOP, LMPOP, ZMPOP, BZPOPMIN, ...
	StreamNames       // each stream's name: XREAD, XREADGROUP (a map in RESP3)
	PairNames         // every other element, or a map's keys: PUBSUB NUMSUB
	RoleOnly          // ROLE: the first element alone (the rest is the server's replication)
)

// Kind tells what an argument position holds.
type Kind uint8

const (
	// Key is a key name: prefixed, and part of the cluster slot.
	Key Kind = iota + 1
	// Pattern is a key pattern (SORT BY/GET): prefixed, no slot.
	Pattern
)

type span struct {
	first, last, step int
	kind              Kind
}

// Positions collects where the keys are. Most commands need no more than
// the fixed room; more spills into a slice.
type Positions struct {
	fixed [6]span
	n     int
	more  []span
}

// Reset empties p for reuse.
func (p *Positions) Reset() { p.n, p.more = 0, p.more[:0] }

func (p *Positions) add(first, last, step int, kind Kind) {
	s := span{first, last, max(step, 1), kind}
	if p.n < len(p.fixed) {
		p.fixed[p.n] = s
		p.n++
		return
	}
	p.more = append(p.more, s)
}

// Add marks args[i] as holding kind.
func (p *Positions) Add(i int, kind Kind) { p.add(i, i, 1, kind) }

// At reports what args[i] holds; 0 when it is neither a key nor a pattern.
func (p *Positions) At(i int) Kind {
	for j := 0; j < p.n; j++ {
		if s := &p.fixed[j]; i >= s.first && i <= s.last && (i-s.first)%s.step == 0 {
			return s.kind
		}
	}
	for j := range p.more {
		if s := &p.more[j]; i >= s.first && i <= s.last && (i-s.first)%s.step == 0 {
			return s.kind
		}
	}
	return 0
}

// Kinds is what Positions holds for each argument of one command, laid out
// for repeated lookups: a bit per argument when there are at most 64.
type Kinds struct {
	keys, patterns uint64
	spill          *Positions // more than 64 arguments: ask it
}

// Kinds returns the kinds of the argc arguments p describes.
func (p *Positions) Kinds(argc int) Kinds {
	if argc > 64 {
		return Kinds{spill: p}
	}
	var k Kinds
	mark := func(s *span) {
		for i := s.first; i <= s.last && i < argc; i += s.step {
			bit := uint64(1) << i
			if (k.keys|k.patterns)&bit != 0 {
				continue // the first span to claim an argument decides, as in At
			}
			if s.kind == Key {
				k.keys |= bit
			} else {
				k.patterns |= bit
			}
		}
	}
	for j := 0; j < p.n; j++ {
		mark(&p.fixed[j])
	}
	for j := range p.more {
		mark(&p.more[j])
	}
	return k
}

// At reports what argument i holds, as Positions.At does.
func (k *Kinds) At(i int) Kind {
	if k.spill != nil {
		return k.spill.At(i)
	}
	bit := uint64(1) << i
	switch {
	case k.keys&bit != 0:
		return Key
	case k.patterns&bit != 0:
		return Pattern
	}
	return 0
}

// Empty is true when no position was added.
func (p *Positions) Empty() bool { return p.n == 0 }

// ErrUnknownCommand is matched (errors.Is) by lookups of commands missing
// from the table.
var ErrUnknownCommand = errors.New("command not in the key table")

// ErrBadArguments is matched by errors from arguments whose keys cannot be
// located (a missing or non-numeric numkeys, too few arguments).
var ErrBadArguments = errors.New("cannot locate the keys")

// ErrRefused is matched by errors for commands, or options of commands,
// that would cross the namespace.
var ErrRefused = errors.New("refused: it would cross the namespace")

// Lookup finds the table entry for args (args[0] is the command name,
// args[1] the subcommand of a container) and how many leading arguments
// name it. Names match case-insensitively.
func Lookup(args []string) (*Command, int, error) {
	if len(args) == 0 {
		return nil, 0, fmt.Errorf("%w: empty command", ErrBadArguments)
	}
	if HasNUL(args[0]) || len(args) > 1 && HasNUL(args[1]) && IsContainer(args[0]) {
		// The server might run a real command under such a name (see
		// HasNUL); no registration or learned entry may stand for it.
		return nil, 0, fmt.Errorf("%w: a command or subcommand name holds a NUL byte, which the server may read as another command", ErrRefused)
	}
	c := find(table, args[0])
	if c == nil {
		return nil, 0, fmt.Errorf("%w: %s", ErrUnknownCommand, args[0])
	}
	if c.Subcommands == nil {
		return c, 1, nil
	}
	if len(args) < 2 {
		if c.Bare != nil {
			return c.Bare, 1, nil
		}
		return nil, 0, fmt.Errorf("%w: %s needs a subcommand", ErrBadArguments, c.Name)
	}
	sub := find(c.Subcommands, args[1])
	if sub == nil {
		return nil, 0, fmt.Errorf("%w: %s %s", ErrUnknownCommand, c.Name, args[1])
	}
	return sub, 2, nil
}

func find(m map[string]*Command, name string) *Command {
	if c, ok := m[name]; ok { // builders send upper case: no allocation
		return c
	}
	return m[Upper(name)]
}

// Table returns every command of the table, containers' subcommands
// included (containers themselves are not listed).
func Table() []*Command {
	var out []*Command
	for _, c := range table {
		if c.Subcommands == nil {
			out = append(out, c)
			continue
		}
		for _, s := range c.Subcommands {
			out = append(out, s)
		}
	}
	return out
}

// Bare returns the containers that may be sent without a subcommand
// (COMMAND), as commands of their own; Table leaves them out.
func Bare() []*Command {
	var out []*Command
	for _, c := range table {
		if c.Bare != nil {
			out = append(out, c.Bare)
		}
	}
	return out
}

// ServerVersion names the servers the table was generated from ("redis
// 6.2.16, redis 7.0.15, ...").
func ServerVersion() string { return serverVersion }

// Find adds the key and pattern positions of args to p, following Redis's
// own algorithm for key specs (db.c getKeysUsingKeySpecs) and then the
// command's Rule. It fails rather than guess: a command whose keys cannot
// be located must not be sent.
func (c *Command) Find(args []string, p *Positions) error {
	argc := len(args)
	for i := range c.Specs {
		s := &c.Specs[i]
		first := s.BeginIndex
		if s.Keyword != "" {
			first = 0
			start, end, step := s.StartFrom, argc-1, 1
			if s.StartFrom < 0 {
				start, end, step = argc+s.StartFrom, 0, -1
			}
			for j := start; j >= 1 && j < argc && (step > 0 && j <= end || step < 0 && j >= end); j += step {
				if Keyword(args[j], s.Keyword) {
					first = j + 1
					break
				}
			}
			if first == 0 {
				continue // keyword absent: this spec names no keys
			}
		}
		var last, step int
		if s.KeyNum {
			step = s.KeyStep
			if first+s.KeyNumIdx >= argc {
				return c.badArgs("the number of keys is missing")
			}
			// Read as the server reads it (string2ll); a count larger
			// than the arguments the server refuses.
			n64, ok := ParseInt(args[first+s.KeyNumIdx])
			if !ok || n64 < 0 {
				return c.badArgs("the number of keys " + strconv.Quote(args[first+s.KeyNumIdx]) + " is not a number as the server reads one")
			}
			if n64 > int64(argc) {
				return c.badArgs("too few arguments")
			}
			n := int(n64)
			if n == 0 {
				continue
			}
			first += s.FirstKey
			last = first + (n-1)*step
		} else {
			step = s.KeyStep
			switch {
			case s.LastKey >= 0:
				last = first + s.LastKey
			case s.Limit <= 1:
				last = argc + s.LastKey
			default:
				last = first + (argc-first)/s.Limit + s.LastKey
			}
		}
		if first >= argc || last >= argc || last < first {
			return c.badArgs("too few arguments")
		}
		p.add(first, last, step, Key)
	}
	switch c.Rule {
	case SortRule:
		return sortRule(c.Name, args, p)
	case GeoRadiusRule:
		return geoRadiusRule(c.Name, args, p)
	case XreadRule:
		return xreadRule(c.Name, args, p)
	case CopyRule:
		return copyRule(args)
	}
	return nil
}

// SingleKey returns the position of the only key of a command whose one
// key always sits at a fixed position (GET, SET, HSET, INCR, ...), or 0
// when finding its keys takes Find. Commands whose arguments are too few
// for the position must still go through Find, which says so.
func (c *Command) SingleKey() int {
	if len(c.Specs) != 1 || c.Rule != NoRule {
		return 0
	}
	s := &c.Specs[0]
	if s.Keyword != "" || s.KeyNum || s.LastKey != 0 || s.BeginIndex < 1 {
		return 0
	}
	return s.BeginIndex
}

func (c *Command) badArgs(why string) error {
	return fmt.Errorf("%w of %s: %s", ErrBadArguments, c.Name, why)
}

// IsContainer reports whether name is a command with subcommands.
func IsContainer(name string) bool {
	c := find(table, name)
	return c != nil && c.Subcommands != nil
}

// IsUnknown reports whether err says a command is not in the table.
func IsUnknown(err error) bool { return errors.Is(err, ErrUnknownCommand) }
