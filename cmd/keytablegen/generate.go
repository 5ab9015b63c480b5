package main

import (
	"bytes"
	"context"
	"fmt"
	"go/format"
	"iter"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/keyspec"
)

// Command is one entry of a server's COMMAND reply, with what Generate
// decides about it.
type Command struct {
	keyspec.Info
	Subs []Command

	class       string // keyspec.Class constant name
	reason      string
	rule        string
	transaction bool
	blocking    bool     // the server may block on it
	bare        *Command // a container that may be sent without a subcommand
	servers     []string // the servers that have it, where merge knows
	subServers  int      // how many of servers list subcommands (0: all)
}

// Source is what one server says of its commands.
type Source struct {
	// Server is its name and version: "redis 7.0.15", "valkey 8.0.1".
	Server string
	Cmds   []Command
	// Legacy is true for a server without key specs (Redis 6.2): its
	// entries give only first/last/step, and no subcommands.
	Legacy bool
}

// Fetch reads the server's version and COMMAND reply.
func Fetch(ctx context.Context, c rueidis.Client) (Source, error) {
	info, err := c.Do(ctx, c.B().Info().Section("server").Build()).ToString()
	if err != nil {
		return Source{}, fmt.Errorf("INFO: %w", err)
	}
	entries, err := c.Do(ctx, c.B().Command().Build()).ToArray()
	if err != nil {
		return Source{}, fmt.Errorf("COMMAND: %w", err)
	}
	legacy := false
	for i := range entries {
		if f, err := entries[i].ToArray(); err == nil && len(f) < 10 {
			legacy = true
		}
	}
	infos, err := keyspec.ParseInfo(entries)
	if err != nil {
		return Source{}, err
	}
	return Source{Server: serverName(info), Cmds: wrap(infos), Legacy: legacy}, nil
}

// serverName reads "redis 7.0.15" or "valkey 8.0.1" from INFO server
// (Valkey reports a redis_version too: the Redis it is compatible with).
func serverName(info string) string {
	version, server := "", "redis"
	for _, line := range strings.Split(info, "\n") {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "redis_version:"); ok && server == "redis" {
			version = v
		}
		if v, ok := strings.CutPrefix(line, "valkey_version:"); ok {
			version, server = v, "valkey"
		}
	}
	return server + " " + version
}

func wrap(infos []keyspec.Info) []Command {
	out := make([]Command, len(infos))
	for i, info := range infos {
		out[i] = Command{Info: info, Subs: wrap(info.Subs)}
	}
	return out
}

// classify sets class, reason and rule of c and its subcommands.
func classify(c *Command) error {
	if len(c.Subs) > 0 {
		for i := range c.Subs {
			if err := classify(&c.Subs[i]); err != nil {
				return err
			}
		}
		if c.Arity == -1 {
			// Sent bare too (COMMAND): classified as a command of its own.
			bare := Command{Info: keyspec.Info{Name: c.Name, Flags: c.Flags, First: c.First, Last: c.Last, Step: c.Step, Specs: c.Specs}}
			if err := classify(&bare); err != nil {
				return fmt.Errorf("%s without a subcommand: %w", c.Name, err)
			}
			c.bare = &bare
		}
		return nil
	}
	if why := refused[c.Name]; why != "" {
		// Never sent: where its keys are does not matter.
		c.class, c.reason, c.Specs = "Refused", why, nil
		return nil
	}
	if r, ok := rules[c.Name]; ok {
		c.rule = r.fn
		kept := c.Specs[:0:0]
		for i, s := range c.Specs {
			if !slices.Contains(r.replaces, i) {
				kept = append(kept, s)
			}
		}
		c.Specs = kept
	}
	for _, s := range c.Specs {
		if !s.Complete() {
			return fmt.Errorf("%s has a key spec that COMMAND cannot complete (%s/%s %v): give it a rule in classes.go", c.Name, s.BeginType, s.FindType, s.Flags)
		}
	}
	c.transaction = transactions[c.Name]
	c.blocking = slices.Contains(c.Flags, "blocking")
	switch {
	case scoped[c.Name]:
		c.class = "Scoped"
	case channels[c.Name]:
		c.class = "Channels"
	case slices.ContainsFunc(c.Specs, keyspec.RawSpec.NotKey):
		return fmt.Errorf("%s has not_key key specs: classify it in classes.go", c.Name)
	case len(c.Specs) > 0 || c.rule != "":
		c.class = "Keys"
	case tenantKeyless[c.Name] || c.transaction || strings.HasSuffix(c.Name, " HELP"):
		c.class = "Keyless"
	case adminReason(c.Name) != "":
		c.class, c.reason = "Refused", adminReason(c.Name)
	default:
		return fmt.Errorf("%s has no keys: a part may send it only when classes.go allows it (tenantKeyless) or says why not (admin)", c.Name)
	}
	return nil
}

// adminReason is why a part refuses name, a command without keys: by the
// subcommand itself, or by its container.
func adminReason(name string) string {
	if why := admin[name]; why != "" {
		return why
	}
	container, _, _ := strings.Cut(name, " ")
	return admin[container]
}

// Generate renders table_gen.go for package keyspec from the union of
// the sources' commands (merge.go).
func Generate(sources []Source) ([]byte, error) { return generate(sources, true) }

// generate is Generate; tests of a few made-up commands leave out the
// check that classes.go names only commands that exist.
func generate(sources []Source, checkClasses bool) ([]byte, error) {
	cmds, names, err := merge(sources)
	if err != nil {
		return nil, err
	}
	if checkClasses {
		if err := checkOverrides(cmds); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(cmds, func(a, b Command) int { return strings.Compare(a.Name, b.Name) })
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by cmd/keytablegen from the COMMAND replies of %s. DO NOT EDIT.\n\n", strings.Join(names, ", "))
	b.WriteString("package keyspec\n\n")
	b.WriteString("// serverVersion names the servers the table comes from. An entry that\n")
	b.WriteString("// not all of them have says which do.\n")
	fmt.Fprintf(&b, "const serverVersion = %q\n\n", strings.Join(names, ", "))
	b.WriteString("var table = map[string]*Command{\n")
	for _, c := range cmds {
		writeServers(&b, c, names)
		fmt.Fprintf(&b, "%q: ", c.Name)
		writeCommand(&b, c, names)
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}

// writeServers writes a comment naming the servers that have c, when not
// all of them do.
func writeServers(b *bytes.Buffer, c Command, all []string) {
	if len(c.servers) > 0 && len(c.servers) < len(all) {
		fmt.Fprintf(b, "// %s\n", strings.Join(c.servers, ", "))
	}
}

func writeCommand(b *bytes.Buffer, c Command, all []string) {
	fmt.Fprintf(b, "{Name: %q", c.Name)
	if len(c.Subs) > 0 {
		subs := slices.Clone(c.Subs)
		slices.SortFunc(subs, func(a, b Command) int { return strings.Compare(a.Name, b.Name) })
		b.WriteString(", Subcommands: map[string]*Command{\n")
		for _, s := range subs {
			if n := len(c.servers); len(s.servers) < n && (c.subServers == 0 || len(s.servers) < c.subServers) {
				writeServers(b, s, all)
			}
			fmt.Fprintf(b, "%q: ", strings.TrimPrefix(s.Name, c.Name+" "))
			writeCommand(b, s, all)
		}
		b.WriteString("}")
		if c.bare != nil {
			b.WriteString(", Bare: &Command")
			writeCommand(b, *c.bare, all)
			b.Truncate(b.Len() - 2) // writeCommand's ",\n"
		}
		b.WriteString("},\n")
		return
	}
	fmt.Fprintf(b, ", Class: %s", c.class)
	if len(c.Specs) > 0 {
		b.WriteString(", Specs: []Spec{")
		for _, s := range c.Specs {
			b.WriteString(specLiteral(s) + ", ")
		}
		b.WriteString("}")
	}
	if c.rule != "" {
		fmt.Fprintf(b, ", Rule: %s", c.rule)
	}
	if c.transaction {
		b.WriteString(", Transaction: true")
	}
	if c.blocking && c.class != "Refused" {
		b.WriteString(", Blocking: true")
	}
	if r := replies[c.Name]; r != "" {
		fmt.Fprintf(b, ", Reply: %s", r)
	}
	if c.reason != "" {
		fmt.Fprintf(b, ", Reason: %q", c.reason)
	}
	b.WriteString("},\n")
}

func specLiteral(raw keyspec.RawSpec) string {
	s := raw.Spec()
	var f []string
	if s.Keyword == "" {
		f = append(f, "BeginIndex: "+strconv.Itoa(s.BeginIndex))
	} else {
		f = append(f, "Keyword: "+strconv.Quote(s.Keyword), "StartFrom: "+strconv.Itoa(s.StartFrom))
	}
	if s.KeyNum {
		f = append(f, "KeyNum: true", "KeyNumIdx: "+strconv.Itoa(s.KeyNumIdx), "FirstKey: "+strconv.Itoa(s.FirstKey))
	} else {
		f = append(f, "LastKey: "+strconv.Itoa(s.LastKey))
		if s.Limit != 0 {
			f = append(f, "Limit: "+strconv.Itoa(s.Limit))
		}
	}
	f = append(f, "KeyStep: "+strconv.Itoa(s.KeyStep))
	return "{" + strings.Join(f, ", ") + "}"
}

// checkOverrides fails when classes.go names a command no server has: a typo there would silently leave a command in the wrong class.
func checkOverrides(cmds []Command) error {
	have := map[string]bool{}
	var walk func([]Command)
	walk = func(cs []Command) {
		for _, c := range cs {
			have[c.Name] = true
			walk(c.Subs)
		}
	}
	walk(cmds)
	var names []string
	for _, keys := range []iter.Seq[string]{
		maps.Keys(refused), maps.Keys(scoped), maps.Keys(channels), maps.Keys(rules),
		maps.Keys(tenantKeyless), maps.Keys(transactions), maps.Keys(admin), maps.Keys(replies),
	} {
		names = slices.AppendSeq(names, keys)
	}
	slices.Sort(names)
	for _, n := range names {
		if !have[n] {
			return fmt.Errorf("classes.go names %s, which no server has", n)
		}
	}
	return nil
}
