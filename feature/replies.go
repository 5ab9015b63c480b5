package feature

import (
	"fmt"
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
		re, isRedis := rueidis.IsRedisErr(err)
		if !isRedis || !n.keyed {
			return r
		}
		// rueidis gives some server errors as the result's error rather
		// than its message: an error queueing a command that DoCache
		// wraps in MULTI ... EXEC (EXECABORT).
		ownErr := r.NonRedisError() != nil
		if ownErr {
			m = rueidis.RedisMessage(*re)
		}
		// The message is the error's text, a string of its own: changing
		// it leaves a cached reply as it was.
		if !c.unquote(&m) {
			return r
		}
		if ownErr {
			return rueidis.NewErrorResult((*rueidis.RedisError)(&m))
		}
		return rueidis.NewResult(m, nil)
	}
	if shared {
		m = rueidisx.Clone(m)
	}
	c.stripNames(&m, n.where)
	return rueidis.NewResult(m, nil)
}

// unquote takes the prefix off the names an error message m quotes, and
// reports whether it changed m. Servers quote with ' (NOGROUP No such
// key 'k') or, for the arguments of a command they lack, with `
// ("unknown command `HEXPIRE`, with args beginning with: `session:h`").
func (c *Client) unquote(m *rueidis.RedisMessage) bool {
	quoted := rueidisx.ReplaceInError(m, "'"+c.prefix, "'")
	return rueidisx.ReplaceInError(m, "`"+c.prefix, "`") || quoted
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

// Places of names that only a batch or a dedicated connection knows
// (beyond keyspec's): the commands of a transaction answer QUEUED, and
// their replies come in EXEC's, one element each.
const (
	txnBegin   keyspec.Reply = 255 - iota // MULTI
	txnEnd                                // EXEC
	txnDiscard                            // DISCARD
)

// markTransaction marks names[i] when it is a transaction's MULTI, EXEC
// or DISCARD, for unprefixAll.
func markTransaction(names []replyNames, i int, name string) {
	switch name {
	case "MULTI":
		names[i].where = txnBegin
	case "EXEC":
		names[i] = replyNames{where: txnEnd}
	case "DISCARD":
		names[i].where = txnDiscard
	}
}

// queuedNames follows an open transaction: the names of the commands
// queued since MULTI. A batch on the shared connection has its own; a
// dedicated connection keeps one across calls.
type queuedNames struct {
	open bool
	// unsure is set when a call ended without the server's answer
	// (cancelled, timed out, disconnected) or a command was queued in a
	// transaction the part did not see open: the server may have
	// queued what the part does not know of, so the next EXEC's
	// elements cannot be matched, and its reply is withheld. A MULTI
	// answered OK starts afresh.
	unsure bool
	names  []replyNames
}

// withheld is what EXEC gives when its elements cannot be matched.
func (c *Client) withheld() rueidis.RedisResult {
	return rueidis.NewErrorResult(fmt.Errorf("wireredis: part %q: EXEC ran, but its reply is withheld: a call inside the transaction ended without the server's answer (cancelled, timed out or disconnected), so the reply's elements cannot be matched to their commands and could show the prefix: %w", c.ns, ErrRefused))
}

// unanswered reports whether r ended without the server's answer: a
// client error, not one the server sent.
func unanswered(r *rueidis.RedisResult) bool {
	if rueidisx.Plain(r) {
		return false
	}
	err := r.NonRedisError()
	if err == nil {
		return false
	}
	_, isRedis := rueidis.IsRedisErr(err)
	return !isRedis
}

// unprefixAll is unprefix for a batch; q follows its transactions. EXEC's
// reply holds the replies of the commands queued since MULTI: element k
// is unprefixed as the k-th of them would have been.
func (c *Client) unprefixAll(rs []rueidis.RedisResult, names []replyNames, shared bool, q *queuedNames) []rueidis.RedisResult {
	for i := range rs {
		if i >= len(names) {
			break
		}
		if unanswered(&rs[i]) {
			q.unsure = true
		}
		switch n := names[i]; n.where {
		case txnBegin:
			if rueidisx.Plain(&rs[i]) { // not a nested MULTI's error
				q.open, q.unsure, q.names = true, false, q.names[:0]
			}
		case txnEnd:
			switch {
			case q.unsure && rueidisx.Plain(&rs[i]):
				rs[i] = c.withheld()
			case q.open:
				rs[i] = c.unprefixQueued(rs[i], q.names)
			}
			q.open, q.unsure, q.names = false, false, q.names[:0]
		case txnDiscard:
			q.open, q.unsure, q.names = false, false, q.names[:0]
		default:
			// Only what the server queued answers in EXEC's reply: a
			// command it ran at once (WATCH inside MULTI fails) or
			// refused is not one of its elements.
			if queued(&rs[i]) {
				if !q.open {
					q.open, q.unsure = true, true // a MULTI the part did not see
				}
				q.names = append(q.names, n)
			}
			rs[i] = c.unprefix(rs[i], n, shared)
		}
	}
	return rs
}

// queued reports whether r is the server's answer to a command it queued
// in a transaction.
func queued(r *rueidis.RedisResult) bool {
	s, err := r.ToString()
	return err == nil && s == "QUEUED"
}

// unprefixQueued unprefixes EXEC's reply r, whose elements answer the
// commands queued, of the names given. A batch's replies are its own, not
// a cache's: the elements change in place.
func (c *Client) unprefixQueued(r rueidis.RedisResult, queued []replyNames) rueidis.RedisResult {
	m, err := r.ToMessage()
	if err != nil {
		return r // EXECABORT, a discarded transaction: nothing of the queued
	}
	elems := rueidisx.Elements(&m)
	for k := range elems {
		if k >= len(queued) {
			break
		}
		n := queued[k]
		if elems[k].Error() == nil {
			c.stripNames(&elems[k], n.where)
		} else if n.keyed {
			c.unquote(&elems[k])
		}
	}
	return r
}
