package feature

import (
	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/keyspec"
	"github.com/wireredis/wireredis/internal/rueidisx"
)

// replyNames says where a command's reply carries the part's names: where
// the key table puts them (KEYS, SCAN, BLPOP, XREAD, ...), and whether an
// error may quote a key (NOGROUP No such key 'session:s' ...).
type replyNames struct {
	where keyspec.Reply
	keyed bool
}

func namesOf(spec *keyspec.Command) replyNames {
	return replyNames{where: spec.Reply, keyed: spec.Class == keyspec.Keys}
}

// untouched reports whether r names nothing of the part's: unprefix
// gives it back as it is. Small enough to inline where a copy of r into
// unprefix and back costs a cache hit a noticeable share of its time.
func (n replyNames) untouched(r *rueidis.RedisResult) bool {
	return n.where == keyspec.NoNames && (!n.keyed || rueidisx.Plain(r))
}

// unprefix gives r back with the prefix taken off the names it carries,
// so that a part's replies look as if no prefix existed. A reply of a
// client-side cache is shared with other callers: shared makes the change
// on a copy. Most replies name nothing, and go through untouched.
func (c *Client) unprefix(r rueidis.RedisResult, n replyNames, shared bool) rueidis.RedisResult {
	if n.untouched(&r) {
		return r
	}
	m, err := r.ToMessage()
	if err != nil {
		if _, isRedis := rueidis.IsRedisErr(err); !isRedis || !n.keyed {
			return r
		}
		// The message is the error's text, a string of its own: changing
		// it leaves a cached reply as it was.
		quoted := rueidisx.ReplaceInError(&m, "'"+c.prefix, "'")
		// A server that lacks the command quotes its arguments: "unknown
		// command `HEXPIRE`, with args beginning with: `session:h`, ...".
		if rueidisx.ReplaceInError(&m, "`"+c.prefix, "`") || quoted {
			return rueidis.NewResult(m, nil)
		}
		return r
	}
	if shared {
		m = rueidisx.Clone(m)
	}
	c.stripNames(&m, n.where)
	return rueidis.NewResult(m, nil)
}

// stripNames takes the prefix off the names that where places in m.
func (c *Client) stripNames(m *rueidis.RedisMessage, where keyspec.Reply) {
	elems := rueidisx.Elements(m)
	switch where {
	case keyspec.AllNames:
		for i := range elems {
			rueidisx.TrimPrefix(&elems[i], c.prefix)
		}
	case keyspec.ScanNames:
		if len(elems) == 2 {
			c.stripNames(&elems[1], keyspec.AllNames)
		}
	case keyspec.FirstName:
		if len(elems) > 0 {
			rueidisx.TrimPrefix(&elems[0], c.prefix)
		}
	case keyspec.StreamNames:
		if rueidisx.IsMap(m) { // RESP3: {stream: entries, ...}
			c.stripNames(m, keyspec.PairNames)
			return
		}
		for i := range elems { // RESP2: [[stream, entries], ...]
			c.stripNames(&elems[i], keyspec.FirstName)
		}
	case keyspec.PairNames: // a map's keys, or every other element
		for i := 0; i < len(elems); i += 2 {
			rueidisx.TrimPrefix(&elems[i], c.prefix)
		}
	case keyspec.RoleOnly:
		rueidisx.Truncate(m, 1)
	}
}

// unprefixAll is unprefix for a batch.
func (c *Client) unprefixAll(rs []rueidis.RedisResult, names []replyNames, shared bool) []rueidis.RedisResult {
	for i := range rs {
		if i < len(names) {
			rs[i] = c.unprefix(rs[i], names[i], shared)
		}
	}
	return rs
}
