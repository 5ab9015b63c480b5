package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/wireredis/wireredis/feature"
)

// aclCommand prints the ACL users under which the server holds the parts
// to their keys (feature.ACLRules).
func aclCommand(fs *flag.FlagSet) runner {
	src := pkgFlag(fs)
	list := partsFlag(fs)
	user := fs.String("user", "", "one user for all the parts (default: each part's REDIS_USERNAME or REDIS_<PART>_USERNAME)")
	perPart := fs.Bool("per-part", false, "one user per part, named by its REDIS_<PART>_USERNAME or else its namespace")
	noListing := fs.Bool("no-listing", false, "leave out KEYS, SCAN, PUBSUB CHANNELS and client-side caching, through which a user learns names outside the prefix (a part's Scan then gets NOPERM; the parts need REDIS_DISABLE_CACHE)")
	noScripts := fs.Bool("no-scripts", false, "leave out EVAL and EVALSHA (FCALL of the administrator's functions stays): a script can occupy the whole server, and the script cache is every namespace's")
	var patterns []string
	fs.Func("pattern", "a PSUBSCRIBE pattern the parts use, as they give it (repeatable): Redis compares patterns with the rules literally", func(p string) error {
		patterns = append(patterns, p)
		return nil
	})
	return func(_ context.Context, stdout, stderr io.Writer) error {
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
		for _, r := range parts {
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
			if by[name] == nil {
				users = append(users, name)
			}
			by[name] = append(by[name], r.part)
		}
		for _, name := range users {
			rules, err := feature.ACLRules(base, by[name], feature.ACLOptions{NoListing: *noListing, NoScripts: *noScripts, Patterns: patterns})
			if err != nil {
				return usageErr("%v", err)
			}
			fmt.Fprintf(stdout, "ACL SETUSER %s %s\n", name, strings.Join(rules, " "))
		}
		fmt.Fprintf(stderr, "Give each user a password (ACL SETUSER <user> >password, or #<sha256 of it>); on a cluster, run the lines on every node.\n")
		return nil
	}
}
