package feature

import (
	"fmt"
	"slices"
	"strings"

	"github.com/wireredis/wireredis/internal/keyspec"
	"github.com/wireredis/wireredis/provider"
)

// ACLOptions narrow ACLRules.
type ACLOptions struct {
	// NoListing leaves out KEYS, SCAN and PUBSUB CHANNELS/SHARDCHANNELS.
	// A part scopes them to its prefix, but the server's ACL cannot: a
	// user who may send them lists the names (not the values) of every
	// key or channel. Without them, Scan and those commands fail with
	// NOPERM.
	NoListing bool
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
		if !o.DisableCache {
			needs["client|tracking"], needs["client|caching"] = true, true
		}
		if o.DB != 0 {
			needs["select"] = true
		}
		if o.ReadFromReplicas {
			needs["readonly"] = true
		}
		if len(o.Addrs) > 0 && o.SentinelMaster == "" {
			needs["cluster|slots"], needs["cluster|shards"] = true, true
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
		rules = append(rules, "+"+c)
	}
	slices.Sort(patterns)
	return append(rules, slices.Compact(patterns)...), nil
}

// aclAllows reports whether a part sends c, and the server can hold it
// to the key patterns.
func aclAllows(c *keyspec.Command, opts ACLOptions) bool {
	switch c.Name {
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
