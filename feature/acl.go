package feature

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/keyspec"
	"github.com/wireredis/wireredis/provider"
)

// ACLOptions narrow, or widen, ACLRules.
type ACLOptions struct {
	// NoListing leaves out what would let the user learn the names (not
	// the values) of keys and channels outside the prefix, which the
	// server's ACL cannot hold to it: KEYS, SCAN, PUBSUB CHANNELS and
	// SHARDCHANNELS, and client-side caching (CLIENT TRACKING ... BCAST
	// reports every key written on the server). Without them, Scan and
	// those commands fail with NOPERM, and every part must run with
	// REDIS_DISABLE_CACHE.
	NoListing bool
	// NoScripts leaves out EVAL and EVALSHA (and their _RO forms): a
	// script can occupy the whole server (a loop that wrote first cannot
	// even be killed), and the script cache is every namespace's (one
	// part's EVAL lets another run it by its SHA). Functions (FCALL),
	// which only the administrator loads, stay.
	NoScripts bool
	// Patterns are PSUBSCRIBE patterns the parts use ("news.*",
	// "__keyspace@0__:user:*"), as a part is given them: Redis compares a
	// PSUBSCRIBE pattern with the user's channel rules literally, so only
	// the patterns named here (and "*") pass.
	Patterns []string
	// Accepts reports whether the server takes a command name in an ACL
	// rule ("get", "client|tracking"): the key table is the union of
	// every supported server's commands, and a server rejects the whole
	// ACL SETUSER when a rule names a command it lacks (Redis 6.2 and
	// +lmpop, 7.0 and +hexpire). ServerCommands asks a server. Nil: every
	// command of the table.
	Accepts func(aclName string) bool
}

// ServerCommands asks the server which commands it has (COMMAND), for
// ACLOptions.Accepts. Redis 6.2 lists no subcommands: under one of its
// containers, every subcommand is accepted, as its ACL does; and SORT is
// left out there (its ACL does not check the keys that BY and GET read).
func ServerCommands(ctx context.Context, client rueidis.Client) (func(aclName string) bool, error) {
	entries, err := client.Do(ctx, client.B().Command().Build()).ToArray()
	if err != nil {
		return nil, fmt.Errorf("wireredis: COMMAND: %w", err)
	}
	infos, err := keyspec.ParseInfo(entries)
	if err != nil {
		return nil, fmt.Errorf("wireredis: COMMAND: %w", err)
	}
	legacy := false // Redis 6.2: COMMAND entries without key specs
	for i := range entries {
		if f, err := entries[i].ToArray(); err == nil && len(f) < 10 {
			legacy = true
		}
	}
	has := map[string]bool{}
	listsSubs := map[string]bool{}
	for _, info := range infos {
		name := strings.ToLower(info.Name)
		has[name] = true
		for _, sub := range info.Subs {
			listsSubs[name] = true
			has[strings.ToLower(strings.ReplaceAll(sub.Name, " ", "|"))] = true
		}
	}
	if legacy {
		// Redis 6.2's ACL checks only SORT's key and STORE against the key
		// patterns, not the keys its BY and GET patterns read (7.0 asks
		// for access to every key for them): it cannot hold SORT to the
		// namespace.
		delete(has, "sort")
	}
	return func(aclName string) bool {
		if has[aclName] {
			return true
		}
		container, _, ok := strings.Cut(aclName, "|")
		return ok && has[container] && !listsSubs[container]
	}, nil
}

// ACLRules returns the rules of a Redis ACL user under which the parts
// can do all that a part does, and nothing more, for
//
//	ACL SETUSER <user> <rules...>
//
// The rules start from nothing (resetkeys, resetchannels, -@all) and
// allow: the keys and channels under each part's prefix (and the keyspace
// notifications of its keys); every command a part sends (the keyed
// commands of the key table, and the keyless ones a part allows); and
// what the parts' connections need (HELLO, client-side caching, SELECT
// for a database other than 0, READONLY for replica reads, CLUSTER SLOTS
// and SHARDS, ROLE behind Sentinel). The rules hold no password: add one
// (>password, or #sha256) when creating the user.
//
// The server enforces these rules where a part cannot look: inside Lua
// scripts and functions, which may build key names of their own. It
// cannot enforce what its key patterns do not express: the database
// (COPY ... DB, or SELECT when a part is on a database other than 0 and
// so needs it), the listing of names (see NoListing), and a part's
// transactions on a shared connection; a part refuses those itself.
// GEORADIUS and GEORADIUSBYMEMBER are left out (see aclAllows). base and
// each part's Overrides give the settings, as Open uses them.
func ACLRules(base provider.Options, parts []Part, opts ACLOptions) ([]string, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("wireredis: ACLRules needs at least one part")
	}
	rules := []string{"on", "resetkeys", "resetchannels", "-@all"}
	needs := map[string]bool{"hello": true}
	var patterns []string
	for _, p := range parts {
		o, err := p.Options(base)
		if err != nil {
			return nil, err
		}
		prefix := p.Prefix()
		patterns = append(patterns, "~"+prefix+"*", "&"+prefix+"*", "&__keyspace@*__:"+prefix+"*")
		for _, pattern := range opts.Patterns {
			patterns = append(patterns, "&"+subscribedName(prefix, pattern))
		}
		if o.ClientCache() {
			if opts.NoListing {
				return nil, fmt.Errorf("wireredis: part %s uses client-side caching, which CLIENT TRACKING ... BCAST turns into a list of every key written: set REDIS_DISABLE_CACHE (or REDIS_%s_DISABLE_CACHE) for the parts of a user without listing", p.Namespace, provider.EnvToken(p.Namespace))
			}
			needs["client|tracking"], needs["client|caching"] = true, true
		}
		if o.Protocol == 2 && o.ClientName != "" {
			needs["client|setname"] = true // RESP3 names the connection in HELLO
		}
		if o.DB != 0 {
			needs["select"] = true
		}
		if o.ReadFromReplicas {
			needs["readonly"] = true
		}
		if len(o.Addrs) > 0 && o.SentinelMaster == "" {
			needs["cluster|slots"], needs["cluster|shards"] = true, true // rueidis's topology, and Scan's primaries
		}
		if o.SentinelMaster != "" {
			needs["role"] = true
		}
	}
	var cmds []string
	for name := range needs {
		cmds = append(cmds, name)
	}
	for _, c := range append(keyspec.Table(), keyspec.Bare()...) {
		if aclAllows(c, opts) {
			cmds = append(cmds, strings.ToLower(strings.ReplaceAll(c.Name, " ", "|")))
		}
	}
	slices.Sort(cmds)
	cmds = slices.Compact(cmds)
	for _, c := range cmds {
		if opts.Accepts == nil || opts.Accepts(c) {
			rules = append(rules, "+"+c)
		}
	}
	slices.Sort(patterns)
	return append(rules, slices.Compact(patterns)...), nil
}

// aclAllows reports whether a part sends c, and the server can hold it
// to the key patterns.
func aclAllows(c *keyspec.Command, opts ACLOptions) bool {
	switch c.Name {
	case "ROLE":
		return true // scoped in its reply, not a listing
	case "EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO":
		return !opts.NoScripts
	case "GEORADIUS", "GEORADIUSBYMEMBER":
		// The server writes to the last STORE or STOREDIST, but checks
		// the key patterns against the first (its key specs say so): an
		// ACL cannot hold them to the namespace. GEOSEARCHSTORE replaces
		// them (they are deprecated since Redis 6.2); their _RO forms stay.
		return false
	}
	switch c.Class {
	case keyspec.Keys, keyspec.Keyless, keyspec.Channels:
		return true
	case keyspec.Scoped:
		return !opts.NoListing
	}
	return false
}
