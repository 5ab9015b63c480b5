package feature

import (
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/apart"
	"github.com/wireredis/wireredis/internal/seam"
)

// namespace is what a part is, whatever connection it sends on: its name
// and prefix, and what it learned. A part, the parts over its nodes
// (Nodes) and its dedicated connections share one.
type namespace struct {
	ns      string
	prefix  string // what every key and channel gets in front
	hashTag bool
	// nodeBuilder is a single-node builder, for B() of a hash-tag part on
	// a cluster.
	nodeBuilder rueidis.Builder
	learner     *CommandLearner // nil: commands missing from the table are refused
	log         *slog.Logger    // refused commands; nil: not logged
	hot         *hotKeys        // for DoCache
	recent      *recentCommands // table entries of the commands sent last
	obs         seam.Part       // telemetry (see observe.go); nil: none
	// timeout bounds each command, unless the caller's deadline comes
	// first (0: none); timeoutBy names the variable that set it.
	timeout   time.Duration
	timeoutBy string
	// receives are the Receives running on connections of their own.
	receives *apart.Receives
}

// keyPrefix is what a part puts in front of its keys and channels.
func keyPrefix(namespace string, hashTag bool) string {
	if hashTag {
		return "{" + namespace + "}:"
	}
	return namespace + ":"
}

// ValidNamespace reports why namespace cannot name a part, or nil. An
// empty namespace would leave keys unprefixed; Redis reads * ? [ ] and \
// in the patterns the prefix goes into (KEYS, SCAN MATCH, SORT BY and GET
// substitute at the first *), and { } as a hash tag; white space and
// control characters have no place in a key prefix; and a leading __ is
// Redis's own (__keyspace@0__ would make every channel of the part a
// keyspace notification of the whole database).
func ValidNamespace(namespace string) error {
	fail := func(why string) error {
		return fmt.Errorf("wireredis: %w %q: %s", ErrNamespace, namespace, why)
	}
	if namespace == "" {
		return fail("it is empty, which would leave keys unprefixed")
	}
	if strings.HasPrefix(namespace, "__") {
		return fail("Redis names its own channels with a leading __ (__keyspace@, __keyevent@, __redis__)")
	}
	for _, r := range namespace {
		switch {
		case strings.ContainsRune(`*?[]\`, r):
			return fail("Redis reads " + string(r) + " in the patterns the prefix goes into")
		case r == '{' || r == '}':
			return fail("Redis reads { } as a hash tag; use WithHashTag (Part.HashTag) to give the part one")
		case unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError:
			return fail("it holds white space, a control character or invalid UTF-8")
		}
	}
	return nil
}
