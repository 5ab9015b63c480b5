package feature

// Prefix claims: two parts whose prefixes overlap on one server could
// read and write each other's keys, so the second to open is refused.

import (
	"strings"
	"sync"

	"github.com/wireredis/wireredis/internal/seam"
	"github.com/wireredis/wireredis/provider"
)

// claims are the prefixes the parts opened from one registry hold, by
// server address. The registry keeps them for feature (seam.Registry.Value)
// and knows nothing of prefixes.
type claims struct {
	mu     sync.Mutex
	byAddr map[string][]*claim // guarded by mu
}

// claimsKey keys a registry's claims.
type claimsKey struct{}

// claimsOf returns the claims of the registry reg.
func claimsOf(reg seam.Registry) *claims {
	return reg.Value(claimsKey{}, func() any { return &claims{} }).(*claims)
}

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
// claim; Part.OpenWith claims for every part it opens.
//
// Servers are told apart by their addresses as configured: two names for
// one server (localhost and 127.0.0.1) are not recognised as one.
func (t *claims) claim(opts provider.Options, part, prefix string) (func(), error) {
	addr := opts.Addr()
	t.mu.Lock()
	defer t.mu.Unlock()
	var mine *claim
	for _, c := range t.byAddr[addr] {
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
		if t.byAddr == nil {
			t.byAddr = map[string][]*claim{}
		}
		t.byAddr[addr] = append(t.byAddr[addr], mine)
	}
	mine.refs++
	released := false
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		if released {
			return
		}
		released = true
		if mine.refs--; mine.refs == 0 {
			list := t.byAddr[addr]
			for i, c := range list {
				if c == mine {
					t.byAddr[addr] = append(list[:i], list[i+1:]...)
					break
				}
			}
		}
	}, nil
}
