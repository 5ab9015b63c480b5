package registry

import (
	"errors"
	"fmt"
	"strings"

	"github.com/wireredis/wireredis/provider"
)

// ErrOverlap is matched by the errors of Claim: two parts whose prefixes
// overlap on one server could read and write each other's keys or
// channels.
var ErrOverlap = errors.New("the prefixes of two parts overlap")

// OverlapError names the two parts whose prefixes overlap.
type OverlapError struct {
	// Addr is the server, as provider.Options.Addr gives it.
	Addr string
	// Part and Prefix are the part being opened; Other and OtherPrefix
	// the part that holds its claim already.
	Part, Prefix       string
	Other, OtherPrefix string
	// DB and OtherDB are their databases: keys overlap in one database,
	// channels in every database of a server.
	DB, OtherDB int
}

func (e *OverlapError) Error() string {
	what := "their keys and channels"
	if e.DB != e.OtherDB {
		what = fmt.Sprintf("their channels (Pub/Sub is the same in every database; keys in db %d and db %d)", e.DB, e.OtherDB)
	}
	return fmt.Sprintf("wireredis: part %q (prefix %q) overlaps part %q (prefix %q) on %s: %s overlap, so either could read and write the other's; give them namespaces neither of which is the start of the other",
		e.Part, e.Prefix, e.Other, e.OtherPrefix, e.Addr, what)
}

func (e *OverlapError) Unwrap() error { return ErrOverlap }

// claim is one part's prefix on one server; the same part opened again
// (same namespace, same prefix) counts in refs.
type claim struct {
	part, prefix string
	db           int
	refs         int
}

// claim records that the part named part sends keys and channels with
// prefix to the server of opts, in database opts.DB, and fails with an
// *OverlapError when another part's prefix on that server is the start of
// prefix, or prefix the start of it: each would see the other's keys
// (same database) or channels (any database). The same part opened twice
// (equal name and prefix) is one tenant and may. The func releases the
// claim; feature.Part.Open claims for every part it opens (through
// internal/seam).
//
// Servers are told apart by their addresses as configured: two names for
// one server (localhost and 127.0.0.1) are not recognised as one.
func (r *Registry) claim(opts provider.Options, part, prefix string) (func(), error) {
	addr := opts.Addr()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	if r.claims == nil {
		r.claims = map[string][]*claim{}
	}
	var mine *claim
	for _, c := range r.claims[addr] {
		switch {
		case c.part == part && c.prefix == prefix:
			if c.db == opts.DB {
				mine = c
			}
		case strings.HasPrefix(c.prefix, prefix) || strings.HasPrefix(prefix, c.prefix):
			return nil, &OverlapError{Addr: addr, Part: part, Prefix: prefix, Other: c.part, OtherPrefix: c.prefix, DB: opts.DB, OtherDB: c.db}
		}
	}
	if mine == nil {
		mine = &claim{part: part, prefix: prefix, db: opts.DB}
		r.claims[addr] = append(r.claims[addr], mine)
	}
	mine.refs++
	released := false
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if released {
			return
		}
		released = true
		if mine.refs--; mine.refs == 0 {
			list := r.claims[addr]
			for i, c := range list {
				if c == mine {
					r.claims[addr] = append(list[:i], list[i+1:]...)
					break
				}
			}
		}
	}, nil
}
