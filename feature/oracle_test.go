package feature_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/internal/keyspec"
	"github.com/wireredis/wireredis/redistest"
)

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

// synth writes an argument list from the docs: full includes every
// optional argument (the first choice of each oneof), minimal none.
// numkeys arguments are fixed afterwards to count the keys that follow.
type synth struct {
	full bool
	args []string
	kind []string // "key", "numkeys" or ""
	n    int
}

func (s *synth) emit(v, kind string) {
	s.args = append(s.args, v)
	s.kind = append(s.kind, kind)
}

func (s *synth) arg(a docArg) {
	if a.optional && !s.full {
		return
	}
	reps := 1
	if a.many {
		reps = 2
	}
	for r := range reps {
		if a.token != "" && (r == 0 || a.manyToken) {
			s.emit(a.token, "")
		}
		s.value(a)
	}
}

func (s *synth) value(a docArg) {
	s.n++
	switch a.typ {
	case "key":
		s.emit(fmt.Sprintf("k%d", s.n), "key")
	case "integer":
		if strings.Contains(strings.ToLower(a.name), "numkeys") || a.name == "numkeys" {
			s.emit("?", "numkeys")
		} else {
			s.emit("1", "")
		}
	case "double":
		s.emit("1.5", "")
	case "unix-time":
		s.emit("1700000000", "")
	case "pattern":
		s.emit("p*", "")
	case "pure-token":
		// the token was emitted already
	case "oneof":
		if len(a.subs) > 0 {
			s.arg(withoutOptional(a.subs[0]))
		}
	case "block":
		for _, sub := range a.subs {
			s.arg(sub)
		}
	default: // string
		s.emit("s", "")
	}
}

func withoutOptional(a docArg) docArg { a.optional = false; return a }

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

// build makes a command of args; the SUBSCRIBE family needs rueidis's typed
// builders, which Arbitrary refuses.
func build(b rueidis.Builder, args []string) rueidis.Completed {
	names := args[1:]
	switch args[0] {
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

// TestOracle sends, for every command of the server, argument lists made
// from COMMAND DOCS through a namespaced client, and asks the server
// (COMMAND GETKEYS) which arguments of the rewritten command are keys:
// every one must carry the prefix, and there must be as many as in the
// original command.
func TestOracle(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	rec := &recorder{b: srv.Client.B()}
	s := feature.New(rec, "session")

	docs, err := srv.Client.Do(ctx, srv.Client.B().CommandDocs().Build()).AsMap()
	if err != nil {
		t.Fatal(err)
	}
	type entry struct {
		name []string
		args []docArg
	}
	var entries []entry
	for name, d := range docs {
		kv, _ := d.AsMap()
		if subs, ok := kv["subcommands"]; ok {
			sm, _ := subs.AsMap()
			for subName, sd := range sm {
				skv, _ := sd.AsMap()
				parts := strings.SplitN(strings.ToUpper(subName), "|", 2)
				entries = append(entries, entry{parts, parseDocArgs(skv["arguments"])})
			}
			continue
		}
		entries = append(entries, entry{[]string{strings.ToUpper(name)}, parseDocArgs(kv["arguments"])})
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(strings.Join(a.name, " "), strings.Join(b.name, " ")) })

	getkeys := func(args []string) ([]string, error) {
		return srv.Client.Do(ctx, srv.Client.B().CommandGetkeys().Command(args[0]).Arg(args[1:]...).Build()).AsStrSlice()
	}
	count := map[keyspec.Class]int{}
	for _, e := range entries {
		spec, _, err := keyspec.Lookup(e.name)
		if err != nil {
			t.Errorf("%s: the server has it, the key table does not: %v", strings.Join(e.name, " "), err)
			continue
		}
		count[spec.Class]++
		t.Run(spec.Name, func(t *testing.T) {
			checked := 0
			for _, full := range []bool{false, true} {
				sy := &synth{full: full}
				for _, tok := range e.name {
					sy.emit(tok, "")
				}
				for _, a := range e.args {
					sy.arg(a)
				}
				sy.fixNumkeys()
				args := sy.args
				rec.sent = rec.sent[:0]
				err := s.Do(ctx, build(rec.b, args)).Error()
				switch spec.Class {
				case keyspec.Refused:
					if !errors.Is(err, feature.ErrRefused) {
						t.Errorf("%q: %v, want ErrRefused", args, err)
					}
					return
				case keyspec.Keyless:
					if err != nil {
						t.Fatalf("%q: %v", args, err)
					}
					if !slices.Equal(rec.sent[0].Commands(), args) {
						t.Errorf("keyless %q was sent as %q", args, rec.sent[0].Commands())
					}
					if keys, err := getkeys(args); err == nil && len(keys) > 0 {
						t.Errorf("keyless %q: the server names keys %q", args, keys)
					}
					return
				case keyspec.Scoped, keyspec.Channels:
					if err != nil && len(args) == 1 && errors.Is(err, feature.ErrBadArguments) {
						continue // UNSUBSCRIBE without channels: refused on purpose
					}
					if err != nil {
						t.Fatalf("%q: %v", args, err)
					}
					sent := rec.sent[0].Commands()
					noChannels := (spec.Name == "PUBSUB NUMSUB" || spec.Name == "PUBSUB SHARDNUMSUB") && len(args) == len(e.name)
					inNamespace := slices.ContainsFunc(sent, func(a string) bool { return strings.HasPrefix(a, "session:") })
					if !noChannels && !inNamespace {
						t.Errorf("%q was sent as %q, with nothing in the namespace", args, sent)
					}
					return
				}
				want, gerr := getkeys(args)
				if gerr != nil {
					continue // this argument list does not parse; try the other
				}
				if err != nil {
					t.Errorf("%q: %v", args, err)
					continue
				}
				sent := rec.sent[0].Commands()
				got, gerr := getkeys(sent)
				if gerr != nil {
					t.Errorf("rewritten %q: COMMAND GETKEYS: %v", sent, gerr)
					continue
				}
				if len(got) != len(want) {
					t.Errorf("%q: the server names %d keys in the rewritten command %q, %d in the original", args, len(got), sent, len(want))
				}
				for i, k := range got {
					if !strings.HasPrefix(k, "session:") {
						t.Errorf("%q: key %q of the rewritten command is outside the namespace", args, k)
					} else if i < len(want) && k != "session:"+want[i] {
						t.Errorf("%q: key %d is %q, want session:%s", args, i, k, want[i])
					}
				}
				checked++
			}
			if checked == 0 {
				t.Errorf("no argument list made from COMMAND DOCS parses for %s", spec.Name)
			}
		})
	}
	total := 0
	for _, n := range count {
		total += n
	}
	t.Logf("coverage: prefixed %d / keyless %d / scoped %d / channels %d / refused %d / total %d",
		count[keyspec.Keys], count[keyspec.Keyless], count[keyspec.Scoped], count[keyspec.Channels], count[keyspec.Refused], total)
	if table := len(keyspec.Table()); total != table {
		t.Errorf("the server documents %d commands, the table has %d", total, table)
	}
}
