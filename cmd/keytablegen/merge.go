package main

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/wireredis/wireredis/internal/keyspec"
)

// merge classifies every source's commands and returns their union, with
// the sources' names in version order. A command's entry must come out
// the same from every server that has it: where two servers place its
// keys differently (or one says it blocks and another not), merge fails
// and names them, so that a human decides (classes.go) rather than a part
// guessing by version.
//
// A legacy server (Redis 6.2: no key specs, no subcommands) adds the
// commands the others lack, from its first/last/step positions; for the
// commands the others have, its positions must agree with theirs.
func merge(sources []Source) ([]Command, []string, error) {
	sources = slices.Clone(sources)
	slices.SortFunc(sources, func(a, b Source) int { return compareServers(a.Server, b.Server) })
	var names []string
	for _, s := range sources {
		names = append(names, s.Server)
	}
	byName := map[string]*Command{}
	var order []string
	var conflicts []string
	for _, src := range sources {
		if src.Legacy {
			continue
		}
		for _, c := range src.Cmds {
			if err := classify(&c); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", src.Server, err)
			}
			if byName[c.Name] == nil {
				order = append(order, c.Name)
			}
			conflicts = append(conflicts, add(byName, c, src.Server)...)
		}
	}
	for _, src := range sources {
		if !src.Legacy {
			continue
		}
		for _, c := range src.Cmds {
			if have := byName[c.Name]; have != nil {
				if len(have.Subs) == 0 && (have.First != c.First || have.Last != c.Last || have.Step != c.Step) && have.class != "Refused" {
					conflicts = append(conflicts, fmt.Sprintf("%s: %s places keys at first=%d last=%d step=%d, %s at %d %d %d",
						c.Name, src.Server, c.First, c.Last, c.Step, strings.Join(have.servers, ", "), have.First, have.Last, have.Step))
				}
				if len(have.Subs) > 0 && have.subServers == 0 {
					have.subServers = len(have.servers) // a legacy server lists no subcommands
				}
				have.servers = append(have.servers, src.Server)
				continue
			}
			c.Specs = legacySpecs(c.Info)
			if err := classify(&c); err != nil {
				return nil, nil, fmt.Errorf("%s (only in %s, which gives no key specs): %w", c.Name, src.Server, err)
			}
			order = append(order, c.Name)
			conflicts = append(conflicts, add(byName, c, src.Server)...)
		}
	}
	if len(conflicts) > 0 {
		return nil, nil, fmt.Errorf("the servers disagree on where the keys of these commands are; handle them in classes.go:\n\t%s", strings.Join(conflicts, "\n\t"))
	}
	out := make([]Command, 0, len(order))
	for _, n := range order {
		c := byName[n]
		c.servers = sortServers(c.servers)
		for i := range c.Subs {
			c.Subs[i].servers = sortServers(c.Subs[i].servers)
		}
		out = append(out, *c)
	}
	return out, names, nil
}

// legacySpecs turns first/last/step into a key spec, as Redis 7.0 itself
// does for commands that declare none. Movable keys cannot be placed from
// them: the spec is marked incomplete, so that only a rule admits it.
func legacySpecs(info keyspec.Info) []keyspec.RawSpec {
	if info.First <= 0 {
		return nil
	}
	last := info.Last
	if last >= 0 {
		last -= info.First
	}
	s := keyspec.RawSpec{BeginType: "index", Index: info.First, FindType: "range", LastKey: last, KeyStep: max(info.Step, 1)}
	if slices.Contains(info.Flags, "movablekeys") {
		s.Flags = []string{"incomplete"}
	}
	return []keyspec.RawSpec{s}
}

// add puts c, as server has it, into byName, and returns how it differs
// from what another server said of it.
func add(byName map[string]*Command, c Command, server string) []string {
	have := byName[c.Name]
	if have == nil {
		c.servers = []string{server}
		for i := range c.Subs {
			c.Subs[i].servers = []string{server}
		}
		byName[c.Name] = &c
		return nil
	}
	var conflicts []string
	if (len(have.Subs) == 0) != (len(c.Subs) == 0) {
		return []string{fmt.Sprintf("%s: a container on one server and not on another", c.Name)}
	}
	if len(c.Subs) == 0 || c.bare != nil || have.bare != nil {
		if c.bare != nil && have.bare == nil || c.bare == nil && have.bare != nil {
			conflicts = append(conflicts, fmt.Sprintf("%s: sent bare on one server and not on another", c.Name))
		} else if a, b := render(*have), render(c); a != b {
			conflicts = append(conflicts, fmt.Sprintf("%s: %s has\n\t\t%s\n\t%s has\n\t\t%s", c.Name, strings.Join(have.servers, ", "), a, server, b))
		}
	}
	for _, sub := range c.Subs {
		i := slices.IndexFunc(have.Subs, func(h Command) bool { return h.Name == sub.Name })
		if i < 0 {
			sub.servers = []string{server}
			have.Subs = append(have.Subs, sub)
			continue
		}
		if a, b := render(have.Subs[i]), render(sub); a != b {
			conflicts = append(conflicts, fmt.Sprintf("%s: %s has\n\t\t%s\n\t%s has\n\t\t%s", sub.Name, strings.Join(have.Subs[i].servers, ", "), a, server, b))
		}
		have.Subs[i].servers = append(have.Subs[i].servers, server)
	}
	have.servers = append(have.servers, server)
	return conflicts
}

// render is the entry c gives in the table; for a container, its bare form.
func render(c Command) string {
	var b bytes.Buffer
	if c.bare != nil {
		writeCommand(&b, *c.bare, nil)
	} else if len(c.Subs) == 0 {
		writeCommand(&b, c, nil)
	}
	return strings.TrimSpace(b.String())
}

func sortServers(s []string) []string {
	slices.SortFunc(s, compareServers)
	return slices.Compact(s)
}

// compareServers orders "redis 6.2.16" before "redis 7.0.15" before
// "valkey 8.0.1".
func compareServers(a, b string) int {
	an, av, _ := strings.Cut(a, " ")
	bn, bv, _ := strings.Cut(b, " ")
	if c := strings.Compare(an, bn); c != 0 {
		return c
	}
	ap, bp := strings.Split(av, "."), strings.Split(bv, ".")
	for i := 0; i < len(ap) && i < len(bp); i++ {
		x, _ := strconv.Atoi(ap[i])
		y, _ := strconv.Atoi(bp[i])
		if c := cmp.Compare(x, y); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(ap), len(bp))
}
