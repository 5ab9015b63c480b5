package feature_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/redis/rueidis"
)

// The corpus: argument lists for every command of the server, made from
// its own COMMAND DOCS. Both oracles use it: the key-spec oracle
// (oracle_test.go) asks the server which arguments are keys, the effect
// oracle (effect_test.go) watches what a command does to the server.

// docArg is one argument of COMMAND DOCS.
type docArg struct {
	name, typ, token string
	optional, many   bool
	manyToken        bool
	subs             []docArg
}

func parseDocArgs(m rueidis.RedisMessage) []docArg {
	arr, _ := m.ToArray()
	out := make([]docArg, 0, len(arr))
	for i := range arr {
		kv, _ := arr[i].AsMap()
		get := func(k string) string { v := kv[k]; s, _ := v.ToString(); return s }
		a := docArg{name: get("name"), typ: get("type"), token: get("token")}
		if f, ok := kv["flags"]; ok {
			flags, _ := f.AsStrSlice()
			a.optional = slices.Contains(flags, "optional")
			a.many = slices.Contains(flags, "multiple")
			a.manyToken = slices.Contains(flags, "multiple_token")
		}
		if subs, ok := kv["arguments"]; ok {
			a.subs = parseDocArgs(subs)
		}
		out = append(out, a)
	}
	return out
}

// docCommand is one command of the server, with what COMMAND DOCS and
// COMMAND INFO say of it.
type docCommand struct {
	name  []string // "OBJECT", "ENCODING"
	group string   // "string", "list", ... from COMMAND DOCS
	args  []docArg
	flags []string // from COMMAND INFO: "readonly", "blocking", ...
}

func (d docCommand) String() string { return strings.Join(d.name, " ") }

func (d docCommand) has(flag string) bool { return slices.Contains(d.flags, flag) }

// serverCommands reads every command (and subcommand) of the server, sorted
// by name.
func serverCommands(t testing.TB, c rueidis.Client) []docCommand {
	t.Helper()
	ctx := context.Background()
	docs, err := c.Do(ctx, c.B().CommandDocs().Build()).AsMap()
	if err != nil {
		t.Fatal(err)
	}
	infos, err := c.Do(ctx, c.B().Command().Build()).ToArray()
	if err != nil {
		t.Fatal(err)
	}
	flags := map[string][]string{}
	var readFlags func([]rueidis.RedisMessage)
	readFlags = func(entries []rueidis.RedisMessage) {
		for i := range entries {
			f, err := entries[i].ToArray()
			if err != nil || len(f) < 10 {
				continue
			}
			name, _ := f[0].ToString()
			flags[strings.ToUpper(strings.ReplaceAll(name, "|", " "))], _ = f[2].AsStrSlice()
			subs, _ := f[9].ToArray()
			readFlags(subs)
		}
	}
	readFlags(infos)
	var out []docCommand
	for name, d := range docs {
		kv, _ := d.AsMap()
		group := kv["group"]
		g, _ := group.ToString()
		if subs, ok := kv["subcommands"]; ok {
			sm, _ := subs.AsMap()
			for subName, sd := range sm {
				skv, _ := sd.AsMap()
				full := strings.ToUpper(strings.ReplaceAll(subName, "|", " "))
				out = append(out, docCommand{name: strings.SplitN(full, " ", 2), group: g, args: parseDocArgs(skv["arguments"]), flags: flags[full]})
			}
			continue
		}
		full := strings.ToUpper(name)
		out = append(out, docCommand{name: []string{full}, group: g, args: parseDocArgs(kv["arguments"]), flags: flags[full]})
	}
	slices.SortFunc(out, func(a, b docCommand) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// values name what the synthesised arguments hold. Key arguments name a
// key of the command's type, which exists twice: inside the namespace,
// and outside it as a victim. Other string arguments name the string
// victim too, so that an argument the server takes for a key, while the
// docs say it is not one, lands on a victim.
type values struct {
	keyOf func(group string) string
	str   string // string arguments
	// channel is the name given to channel arguments.
	channel string
}

// plan says which choices a synthesised argument list makes: every
// optional argument present (full) or none, which alternative of each
// oneof, and how often each repeatable argument appears.
type plan struct {
	full    bool
	choice  map[string]int // by argument path: which alternative of a oneof
	repeat  map[string]int // by argument path: how many times (0: absent)
	decided []decision     // filled while walking: the choices met
}

// decision is one place where an argument list can differ.
type decision struct {
	path    string
	kind    string // "choice" or "repeat"
	options int    // alternatives, or the largest repeat count
}

// synth writes an argument list from the docs.
type synth struct {
	cmd  docCommand
	v    values
	p    *plan
	args []string
	kind []string // "key", "numkeys" or ""
	n    int
}

func (s *synth) emit(v, kind string) {
	s.args = append(s.args, v)
	s.kind = append(s.kind, kind)
}

func (s *synth) arg(a docArg, path string) {
	reps := 1
	if a.many {
		reps = 2
	}
	if a.optional && !s.p.full {
		reps = 0
	}
	canRepeat := a.many || (a.optional && a.token != "")
	if canRepeat {
		s.p.decided = append(s.p.decided, decision{path: path, kind: "repeat", options: 3})
		if r, ok := s.p.repeat[path]; ok {
			reps = r
		}
	}
	for r := range reps {
		if a.token != "" && (r == 0 || a.manyToken || !a.many) {
			s.emit(a.token, "")
		}
		s.value(a, path)
	}
}

func (s *synth) value(a docArg, path string) {
	s.n++
	switch a.typ {
	case "key":
		s.emit(s.v.keyOf(s.cmd.group), "key")
	case "integer":
		if strings.Contains(strings.ToLower(a.name), "numkeys") {
			s.emit("?", "numkeys")
		} else {
			s.emit("1", "")
		}
	case "double":
		s.emit("0.05", "") // blocking timeouts stay short
	case "unix-time":
		s.emit("4102444800", "")
	case "pattern":
		s.emit("*", "")
	case "pure-token":
		// the token was emitted already
	case "oneof":
		if len(a.subs) == 0 {
			return
		}
		s.p.decided = append(s.p.decided, decision{path: path, kind: "choice", options: len(a.subs)})
		pick := s.p.choice[path]
		sub := a.subs[min(pick, len(a.subs)-1)]
		sub.optional = false
		s.arg(sub, fmt.Sprintf("%s/%d", path, pick))
	case "block":
		for i, sub := range a.subs {
			s.arg(sub, fmt.Sprintf("%s.%d", path, i))
		}
	default: // string
		switch lower := strings.ToLower(a.name); {
		case strings.Contains(lower, "channel"):
			s.emit(s.v.channel, "")
		case lower == "id" && s.cmd.String() == "XADD":
			s.emit("*", "")
		default:
			s.emit(s.v.str, "")
		}
	}
}

// fixNumkeys sets each numkeys to the count of keys right after it.
func (s *synth) fixNumkeys() {
	for i, k := range s.kind {
		if k != "numkeys" {
			continue
		}
		n := 0
		for j := i + 1; j < len(s.kind) && s.kind[j] == "key"; j++ {
			n++
		}
		s.args[i] = fmt.Sprint(n)
	}
}

func (d docCommand) synthesize(v values, p *plan) []string {
	s := &synth{cmd: d, v: v, p: p}
	for _, tok := range d.name {
		s.emit(tok, "")
	}
	for i, a := range d.args {
		s.arg(a, fmt.Sprint(i))
	}
	s.fixNumkeys()
	return s.args
}

// shapes returns the argument lists of a command: none of the optional
// arguments; all of them; then, from all of them, each alternative of
// each oneof, and each repeatable or optional keyword argument absent,
// once and three times (GEORADIUS ... STORE a STORE b STORE c), one
// decision at a time. The lists are distinct; at most limit of them.
func (d docCommand) shapes(v values, limit int) [][]string {
	var out [][]string
	seen := map[string]bool{}
	add := func(args []string) {
		if k := strings.Join(args, "\x00"); !seen[k] && len(out) < limit {
			seen[k] = true
			out = append(out, args)
		}
	}
	add(d.synthesize(v, &plan{}))
	full := &plan{full: true}
	add(d.synthesize(v, full))
	for _, dec := range full.decided {
		for o := range dec.options + 1 {
			p := &plan{full: true, choice: map[string]int{}, repeat: map[string]int{}}
			if dec.kind == "choice" {
				if o >= dec.options {
					continue
				}
				p.choice[dec.path] = o
			} else {
				p.repeat[dec.path] = o
			}
			add(d.synthesize(v, p))
		}
	}
	return out
}

// build makes a command of args; the SUBSCRIBE family needs rueidis's typed
// builders, which Arbitrary refuses.
func build(b rueidis.Builder, args []string) rueidis.Completed {
	names := args[1:]
	switch strings.ToUpper(args[0]) {
	case "SUBSCRIBE":
		return b.Subscribe().Channel(names...).Build()
	case "SSUBSCRIBE":
		return b.Ssubscribe().Channel(names...).Build()
	case "PSUBSCRIBE":
		return b.Psubscribe().Pattern(names...).Build()
	case "UNSUBSCRIBE":
		return b.Unsubscribe().Channel(names...).Build()
	case "SUNSUBSCRIBE":
		return b.Sunsubscribe().Channel(names...).Build()
	case "PUNSUBSCRIBE":
		return b.Punsubscribe().Pattern(names...).Build()
	}
	return b.Arbitrary(args[0]).Args(args[1:]...).Build()
}
