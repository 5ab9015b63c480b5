package main

import (
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/provider"
)

// libraryParts are the parts of feature.Set (feature.SessionRedis and
// feature.CacheRedis), which the tools know without a generated file.
var libraryParts = []feature.Part{{Namespace: "session"}, {Namespace: "cache"}}

// partSource is what tells the tools which parts a service has: the
// generated file in -pkg, and the library's own.
type partSource struct {
	pkg   *string
	given func() bool // whether -pkg was on the command line
}

func pkgFlag(fs *flag.FlagSet) partSource {
	pkg := fs.String("pkg", ".", "directory of the package whose wireredis gen file describes the parts")
	return partSource{pkg: pkg, given: func() bool {
		set := false
		fs.Visit(func(f *flag.Flag) { set = set || f.Name == "pkg" })
		return set
	}}
}

// known returns the parts the tools know, and which of them a command
// shows by default: the generated ones when -pkg has a generated file,
// else the library's.
func (s partSource) known() (known, defaults []feature.Part, err error) {
	generated, err := ReadDir(*s.pkg)
	if err != nil {
		if s.given() || !errors.Is(err, ErrNoFile) {
			return nil, nil, usageErr("-pkg %s: %v", *s.pkg, err)
		}
		generated = nil // -pkg's default, ".", has no generated file
	}
	for _, p := range generated {
		known = append(known, p.Feature())
	}
	defaults = slices.Clone(known)
	for _, p := range libraryParts {
		if !slices.ContainsFunc(known, func(k feature.Part) bool { return k.Namespace == p.Namespace }) {
			known = append(known, p)
		}
	}
	if len(defaults) == 0 {
		defaults = libraryParts
	}
	return known, defaults, nil
}

// pick returns the parts named in list (comma-separated), or the defaults
// when list is empty; a name the tools do not know is a usage error.
func (s partSource) pick(list string) ([]feature.Part, []string, error) {
	known, defaults, err := s.known()
	if err != nil {
		return nil, nil, err
	}
	names := namesOf(known)
	if strings.TrimSpace(list) == "" {
		return defaults, names, nil
	}
	var out []feature.Part
	for _, name := range strings.Split(list, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		p, err := find(known, name)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, nil, usageErr("-parts names no part")
	}
	return out, names, nil
}

// partNames gives the known parts (namespaces) their Go names, from the
// generated file and the library's, so that a variable spelt after a Go
// name (REDIS_RATELIMIT_DB for RateLimit=rl) points to the part's own.
func (s partSource) partNames(namespaces []string) []provider.PartName {
	goNames := map[string]string{"session": "Session", "cache": "Cache"}
	if generated, err := ReadDir(*s.pkg); err == nil {
		for _, p := range generated {
			goNames[p.Namespace] = p.Name
		}
	}
	out := make([]provider.PartName, len(namespaces))
	for i, ns := range namespaces {
		out[i] = provider.PartName{Name: goNames[ns], Namespace: ns}
	}
	return out
}

// find returns the known part named name (its namespace).
func find(known []feature.Part, name string) (feature.Part, error) {
	for _, p := range known {
		if p.Namespace == name {
			return p, nil
		}
	}
	hint := ""
	best := 3
	for _, p := range known {
		if d := distance(name, p.Namespace); d < best {
			best, hint = d, "; did you mean "+p.Namespace+"?"
		}
	}
	return feature.Part{}, &exitError{code: 2, err: fmt.Errorf("unknown part %q (known: %s)%s; -pkg names the package whose wireredis gen file describes the parts", name, strings.Join(namesOf(known), ", "), hint)}
}

func namesOf(parts []feature.Part) []string {
	names := make([]string, len(parts))
	for i, p := range parts {
		names[i] = p.Namespace
	}
	return names
}

// distance is the Levenshtein distance, for suggesting a part name.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// resolved is one part with its settings, as the application resolves them.
type resolved struct {
	part feature.Part
	opts provider.Options
}

// prefix is what the part's keys start with.

// resolve loads the environment and each part's settings through
// feature.Part.Options, the code Part.Open runs. Every part's errors are
// reported, not only the first.
func resolve(parts []feature.Part) (provider.Options, []resolved, error) {
	base, err := provider.Load()
	if err != nil {
		return provider.Options{}, nil, err
	}
	var out []resolved
	var errs []error
	for _, p := range parts {
		o, err := p.Options(base)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, resolved{p, o})
	}
	return base, out, errors.Join(errs...)
}

// sharing groups the parts by connection, in first-seen order: parts with
// equal connection keys share one connection in the application.
func sharing(parts []resolved) [][]resolved {
	var groups [][]resolved
	at := map[string]int{}
	for _, r := range parts {
		k := r.opts.ConnectionKey()
		i, ok := at[k]
		if !ok {
			i = len(groups)
			at[k] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], r)
	}
	return groups
}
