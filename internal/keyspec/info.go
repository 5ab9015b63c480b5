package keyspec

import (
	"fmt"
	"slices"
	"strings"

	"github.com/redis/rueidis"
)

// Info is one entry of a COMMAND or COMMAND INFO reply.
type Info struct {
	Name string // upper case, "OBJECT ENCODING" for a subcommand
	// Arity is the number of arguments, name included; negative: at
	// least that many.
	Arity int64
	// First, Last and Step are the legacy key positions.
	First, Last, Step int64
	Flags             []string
	Specs             []RawSpec
	Subs              []Info
}

// RawSpec is a key spec as COMMAND describes it.
type RawSpec struct {
	Flags               []string
	BeginType, FindType string
	Index, StartFrom    int64
	Keyword             string
	LastKey, KeyStep    int64
	Limit               int64
	KeyNumIdx, FirstKey int64
}

// Complete reports whether the spec locates its keys by itself.
func (s RawSpec) Complete() bool {
	return (s.BeginType == "index" || s.BeginType == "keyword") &&
		(s.FindType == "range" || s.FindType == "keynum") &&
		!slices.Contains(s.Flags, "incomplete")
}

// NotKey reports whether the spec names something other than keys (shard
// channels).
func (s RawSpec) NotKey() bool { return slices.Contains(s.Flags, "not_key") }

// Spec converts a complete spec.
func (s RawSpec) Spec() Spec {
	out := Spec{KeyStep: int(s.KeyStep)}
	if s.BeginType == "index" {
		out.BeginIndex = int(s.Index)
	} else {
		out.Keyword, out.StartFrom = s.Keyword, int(s.StartFrom)
	}
	if s.FindType == "keynum" {
		out.KeyNum, out.KeyNumIdx, out.FirstKey = true, int(s.KeyNumIdx), int(s.FirstKey)
	} else {
		out.LastKey, out.Limit = int(s.LastKey), int(s.Limit)
	}
	return out
}

// ParseInfo reads the entries of a COMMAND or COMMAND INFO reply; entries
// for unknown commands (nil) are skipped. Entries of Redis 6.2 and older
// (six or seven fields) have neither key specs nor subcommands.
func ParseInfo(entries []rueidis.RedisMessage) ([]Info, error) {
	out := make([]Info, 0, len(entries))
	for i := range entries {
		e := &entries[i]
		if e.IsNil() {
			continue
		}
		f, err := e.ToArray()
		if err != nil || len(f) < 6 {
			return nil, fmt.Errorf("unexpected COMMAND entry: %v", e)
		}
		name, _ := f[0].ToString()
		info := Info{Name: strings.ToUpper(strings.ReplaceAll(name, "|", " "))}
		info.Arity, _ = f[1].AsInt64()
		info.First, _ = f[3].AsInt64()
		info.Last, _ = f[4].AsInt64()
		info.Step, _ = f[5].AsInt64()
		info.Flags = strs(&f[2])
		if len(f) < 10 {
			// Redis 6.2 and older: no key specs, no subcommands; the
			// legacy positions are all it says.
			out = append(out, info)
			continue
		}
		specs, _ := f[8].ToArray()
		for j := range specs {
			spec, err := parseSpec(&specs[j])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", info.Name, err)
			}
			info.Specs = append(info.Specs, spec)
		}
		subs, _ := f[9].ToArray()
		if info.Subs, err = ParseInfo(subs); err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

func strs(m *rueidis.RedisMessage) []string {
	arr, _ := m.ToArray()
	out := make([]string, 0, len(arr))
	for i := range arr {
		v, _ := arr[i].ToString()
		out = append(out, v)
	}
	return out
}

func parseSpec(m *rueidis.RedisMessage) (RawSpec, error) {
	kv, err := m.AsMap()
	if err != nil {
		return RawSpec{}, fmt.Errorf("key spec: %w", err)
	}
	get := func(m map[string]rueidis.RedisMessage, k string) *rueidis.RedisMessage {
		v := m[k]
		return &v
	}
	part := func(name string) (string, map[string]rueidis.RedisMessage) {
		p, _ := get(kv, name).AsMap()
		typ, _ := get(p, "type").ToString()
		spec, _ := get(p, "spec").AsMap()
		return typ, spec
	}
	num := func(m map[string]rueidis.RedisMessage, k string) int64 {
		v, _ := get(m, k).AsInt64()
		return v
	}
	s := RawSpec{Flags: strs(get(kv, "flags"))}
	var bs, fk map[string]rueidis.RedisMessage
	s.BeginType, bs = part("begin_search")
	s.FindType, fk = part("find_keys")
	s.Index, s.StartFrom = num(bs, "index"), num(bs, "startfrom")
	s.Keyword, _ = get(bs, "keyword").ToString()
	s.LastKey, s.KeyStep, s.Limit = num(fk, "lastkey"), num(fk, "keystep"), num(fk, "limit")
	s.KeyNumIdx, s.FirstKey = num(fk, "keynumidx"), num(fk, "firstkey")
	return s, nil
}

// Learn turns what a server says of a command missing from the table into
// a table entry. It trusts the server's key specs, or its legacy key
// positions when there are none; a command whose keys they cannot locate
// (movable keys without complete specs, incomplete specs, channels), and
// a command without keys, is Refused, so that nothing is sent unprefixed
// or server-wide.
func Learn(info Info) *Command {
	c := &Command{Name: info.Name}
	if len(info.Subs) > 0 {
		c.Subcommands = make(map[string]*Command, len(info.Subs))
		for _, s := range info.Subs {
			c.Subcommands[strings.TrimPrefix(s.Name, info.Name+" ")] = Learn(s)
		}
		return c
	}
	refuse := func(why string) *Command {
		c.Class, c.Reason = Refused, why+"; describe it with feature.RegisterCommand"
		return c
	}
	for _, s := range info.Specs {
		if !s.Complete() {
			return refuse("the server's key specs for it are incomplete")
		}
		if s.NotKey() {
			return refuse("its key specs name channels, not keys")
		}
		c.Specs = append(c.Specs, s.Spec())
	}
	switch {
	case len(c.Specs) > 0:
		c.Class = Keys
	case slices.Contains(info.Flags, "movablekeys"):
		return refuse("the server does not say where its keys are")
	case info.First > 0:
		last := int(info.Last)
		if last >= 0 {
			last -= int(info.First)
		}
		c.Class, c.Specs = Keys, []Spec{{BeginIndex: int(info.First), LastKey: last, KeyStep: int(max(info.Step, 1))}}
	default:
		// A part sends a command without keys only when it reaches
		// nothing beyond the part (the table's allowlist); the server
		// cannot say that of a command it does not document.
		return refuse("it has no keys, and a command without keys may reach the whole server; if it does not, register it as Keyless")
	}
	return c
}
