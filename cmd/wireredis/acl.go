package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/registry"
)

// aclCommand prints the ACL users under which the server holds the parts
// to their keys (feature.ACLRules).
func aclCommand(fs *flag.FlagSet) runner {
	src := pkgFlag(fs)
	list := partsFlag(fs)
	user := fs.String("user", "", "one user for all the parts (default: each part's REDIS_USERNAME or REDIS_<PART>_USERNAME)")
	perPart := fs.Bool("per-part", false, "one user per part, named by its REDIS_<PART>_USERNAME or else its namespace")
	noListing := fs.Bool("no-listing", false, "leave out KEYS, SCAN, PUBSUB CHANNELS and client-side caching, through which a user learns names outside the prefix (a part's Scan then gets NOPERM; the parts need REDIS_DISABLE_CACHE)")
	offline := fs.Bool("offline", false, "do not ask the parts' server which commands it has: name every command of the key table (Redis 6.2 to 7.4 and Valkey 8), which an older server rejects (Unknown command ... in ACL)")
	noScripts := fs.Bool("no-scripts", false, "leave out EVAL and EVALSHA (FCALL of the administrator's functions stays): a script can occupy the whole server, and the script cache is every namespace's")
	var patterns []string
	fs.Func("pattern", "a PSUBSCRIBE pattern the parts use, as they give it (repeatable): Redis compares patterns with the rules literally", func(p string) error {
		patterns = append(patterns, p)
		return nil
	})
	return func(ctx context.Context, stdout, stderr io.Writer) error {
		if *user != "" && *perPart {
			return usageErr("-user and -per-part: give one of them")
		}
		chosen, _, err := src.pick(*list)
		if err != nil {
			return err
		}
		base, parts, err := resolve(chosen)
		if err != nil {
			return err
		}
		// Group the parts by user, in first-seen order.
		var users []string
		by := map[string][]feature.Part{}
		userOf := make([]string, len(parts))
		for i, r := range parts {
			name := *user
			switch {
			case name != "":
			case r.opts.Username != "":
				name = r.opts.Username
			case *perPart:
				name = r.part.Namespace
			default:
				return usageErr("part %s has no user name: give -user, -per-part, or set REDIS_USERNAME (or REDIS_%s_USERNAME)", r.part.Namespace, strings.ToUpper(r.part.Namespace))
			}
			userOf[i] = name
			if by[name] == nil {
				users = append(users, name)
			}
			by[name] = append(by[name], r.part)
		}
		accepts := map[string]func(string) bool{} // by user: what each of its parts' servers accepts
		if !*offline {
			if accepts, err = askServers(ctx, parts, userOf); err != nil {
				return err
			}
		}
		for _, name := range users {
			rules, err := feature.ACLRules(base, by[name], feature.ACLOptions{NoListing: *noListing, NoScripts: *noScripts, Patterns: patterns, Accepts: accepts[name]})
			if err != nil {
				return usageErr("%v", err)
			}
			fmt.Fprintf(stdout, "ACL SETUSER %s %s\n", name, strings.Join(rules, " "))
		}
		fmt.Fprintf(stderr, "Give each user a password (ACL SETUSER <user> >password, or #<sha256 of it>); on a cluster, run the lines on every node.\n")
		return nil
	}
}

// askServers asks each server the parts connect to which commands it has
// (a server rejects a whole ACL SETUSER that names one it lacks), with
// the parts' own settings, and returns, by user (userOf[i] is parts[i]'s),
// a filter of command names that every server of the user's parts passes.
func askServers(ctx context.Context, parts []resolved, userOf []string) (map[string]func(string) bool, error) {
	reg, closeAll := registry.New(discardLogger())
	defer closeAll()
	byConn := map[string]func(string) bool{}
	out := map[string]func(string) bool{}
	for i, r := range parts {
		key := r.opts.ConnectionKey()
		accepts, ok := byConn[key]
		if !ok {
			opts := probeOptions(r.opts, 0)
			client, release, err := reg.Admin(ctx, opts)
			if err == nil {
				accepts, err = feature.ServerCommands(ctx, client)
				release()
			}
			if err != nil {
				return nil, fmt.Errorf("asking %s which commands it has (a server rejects ACL rules that name commands it lacks; -offline names every command of the key table): %w", opts.Addr(), err)
			}
			byConn[key] = accepts
		}
		if prev := out[userOf[i]]; prev != nil {
			out[userOf[i]] = func(c string) bool { return prev(c) && accepts(c) }
		} else {
			out[userOf[i]] = accepts
		}
	}
	return out, nil
}
