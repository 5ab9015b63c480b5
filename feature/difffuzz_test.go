package feature_test

// The differential fuzzer: argument vectors generated from COMMAND DOCS
// and mutated down to the byte (keywords with a NUL suffix or a Unicode
// fold, numbers as "+1", "01", " 1", "1e0", empty and very long
// arguments, odd command names), sent through a part by every entry point
// to a real server, and judged by their effects as the effect oracle
// judges them (effect_test.go): keyspace events outside the namespace,
// the server's state, secrets in replies, the other part's replies on the
// shared connection. The part and the server must read every argument
// alike; where they do not, a key goes out unprefixed and the oracle sees
// its effect.
//
// A seeded, bounded run is part of the suite (TestDifferentialFuzz). A
// long one: make fuzz, or
//
//	WIREREDIS_FUZZ_COMMANDS=1000000 WIREREDIS_FUZZ_SEED=7 go test -run TestDifferentialFuzz -timeout 0 ./feature
//
// WIREREDIS_FUZZ_WORLDS picks the worlds: server (the default),
// server-hashtag, server-resp2, cluster, cluster-hashtag, comma-separated,
// or all. Every escape it prints is a line
// to add to issue21Attacks (serverreads_test.go).

import (
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/internal/keyspec"
	"github.com/wireredis/wireredis/redistest"
)

// fuzzSettings reads the run's size and seed from the environment.
func fuzzSettings(t *testing.T) (commands int, seed uint64, worlds string) {
	// About 20 s here, with the race detector or without (most of the
	// time is the server's).
	commands, seed, worlds = 10000, 1, "server"
	if testing.Short() {
		commands = 300
	}
	if v := os.Getenv("WIREREDIS_FUZZ_COMMANDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("WIREREDIS_FUZZ_COMMANDS=%q: want a positive number", v)
		}
		commands = n
	}
	if v := os.Getenv("WIREREDIS_FUZZ_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("WIREREDIS_FUZZ_SEED=%q: want a number", v)
		}
		seed = n
	}
	if v := os.Getenv("WIREREDIS_FUZZ_WORLDS"); v != "" {
		worlds = v
	}
	return commands, seed, worlds
}

// fuzzGen generates the attacks of one run.
type fuzzGen struct {
	rng    *mrand.Rand
	cmds   []docCommand
	shapes [][][]string // per command
	tokens [][]string   // per command: the keywords its docs name
	// deciding are the commands whose arguments decide where their keys
	// are or what they see: a rule, a count of keys, a scope, blocking.
	deciding []int
}

func newFuzzGen(cmds []docCommand, seed uint64) *fuzzGen {
	g := &fuzzGen{rng: mrand.New(mrand.NewPCG(seed, seed^0x5DEECE66D)), cmds: cmds}
	for _, c := range cmds {
		g.shapes = append(g.shapes, c.shapes(corpusValues, 12))
		var toks []string
		var walk func([]docArg)
		walk = func(args []docArg) {
			for _, a := range args {
				if a.token != "" && !slices.Contains(toks, a.token) {
					toks = append(toks, a.token)
				}
				walk(a.subs)
			}
		}
		walk(c.args)
		g.tokens = append(g.tokens, toks)
		if spec, _, err := keyspec.Lookup(c.name); err == nil {
			counted := slices.ContainsFunc(spec.Specs, func(s keyspec.Spec) bool { return s.KeyNum || s.Keyword != "" })
			if spec.Rule != keyspec.NoRule || counted || spec.Class == keyspec.Scoped || spec.Blocking {
				g.deciding = append(g.deciding, len(g.tokens)-1)
			}
		}
	}
	return g
}

// next returns one attack: a shape of a random command, mutated once to
// four times, through a random entry point that applies to it. Half the
// commands come from those whose arguments decide where their keys are
// (keywords, counts, options of a rule) or what they see.
func (g *fuzzGen) next() attack {
	i := g.rng.IntN(len(g.cmds))
	if g.rng.IntN(2) == 0 && len(g.deciding) > 0 {
		i = g.deciding[g.rng.IntN(len(g.deciding))]
	}
	c := g.cmds[i]
	shapes := g.shapes[i]
	args := g.plausible(slices.Clone(shapes[g.rng.IntN(len(shapes))]))
	names := len(c.name)
	// Mostly one mutation: a command the server refuses for another
	// reason tells nothing.
	for range []int{1, 1, 1, 1, 1, 1, 2, 2, 2, 3}[g.rng.IntN(10)] {
		args = g.mutate(args, names, g.tokens[i])
	}
	vias := entryPoints(c)
	if strings.HasSuffix(c.name[0], "SUBSCRIBE") {
		// DoStream waits out run's two seconds on a subscription, and
		// Receive its 20 ms: the effect oracle covers both; here they
		// would take most of the run's time.
		vias = []string{"Do", "DoMulti", "Dedicated"}
	}
	return attack{via: vias[g.rng.IntN(len(vias))], cmd: c, args: args}
}

// buildable reports whether the caller can build a's command with the
// part's builder at all: rueidis's builders panic, in the caller's hands
// before any part sees the command, on a name Arbitrary refuses (one that
// ends in SUBSCRIBE in Go's Unicode upper case) and, on a cluster, on
// channels of two slots. Such a command is no attack on the part.
func buildable(p *feature.Client, a attack) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	buildFor(p.B(), a.cmd, a.args)
	return true
}

// plausible makes a shape's values ones the server takes, where the
// corpus's do not: stream IDs after STREAMS, a sortable key for SORT.
func (g *fuzzGen) plausible(args []string) []string {
	switch strings.ToUpper(args[0]) {
	case "SORT", "SORT_RO":
		if len(args) > 1 {
			args[1] = []string{"list", "set", "zset"}[g.rng.IntN(3)]
		}
	case "XREAD", "XREADGROUP":
		for i, a := range args {
			if strings.EqualFold(a, "STREAMS") {
				for j := i + 1; j < len(args); j++ {
					if args[j] == "str" {
						args[j] = []string{"0", ">"}[g.rng.IntN(2)]
					}
				}
				break
			}
		}
	}
	return args
}

// retypes are values a mutation may put anywhere: a victim's name, a
// stream ID, a number, a pattern.
var retypes = append(slices.Clone(victimTypes), "0", ">", "$", "#", "*", "1-1", "+", "1", "-1")

// mutate applies one mutation to args, whose first names arguments name
// the command.
func (g *fuzzGen) mutate(args []string, names int, tokens []string) []string {
	rng := g.rng
	pick := func(from []int) int { return from[rng.IntN(len(from))] }
	var words, numbers []int
	for j := names; j < len(args); j++ {
		if slices.ContainsFunc(tokens, func(tok string) bool { return strings.EqualFold(tok, args[j]) }) || slices.Contains(mutateWords, strings.ToUpper(args[j])) {
			words = append(words, j)
		}
		if _, err := strconv.ParseInt(args[j], 10, 64); err == nil {
			numbers = append(numbers, j)
		}
	}
	keyword := func() string {
		if len(tokens) > 0 && rng.IntN(3) > 0 {
			return tokens[rng.IntN(len(tokens))]
		}
		return mutateWords[rng.IntN(len(mutateWords))]
	}
	switch op := rng.IntN(20); {
	case op < 5 && len(words) > 0: // a keyword as the server may still read it
		j := pick(words)
		args[j] = g.oddWord(args[j])
	case op < 7 && len(words) > 0: // many of them
		for _, j := range words {
			if rng.IntN(2) == 0 {
				args[j] = g.oddWord(args[j])
			}
		}
	case op < 9: // a keyword inserted, odd or not, before a victim's name
		at := names + rng.IntN(len(args)-names+1)
		kw := keyword()
		if rng.IntN(2) == 0 {
			kw = g.oddWord(kw)
		}
		args = slices.Insert(args, at, kw, victimTypes[rng.IntN(len(victimTypes))])
	case op < 12 && len(numbers) > 0: // a number in a form string2ll may refuse
		j := pick(numbers)
		args[j] = g.oddNumber(args[j])
	case op < 13 && len(args) > names: // empty, or very long
		j := names + rng.IntN(len(args)-names)
		if rng.IntN(2) == 0 {
			args[j] = ""
		} else {
			args[j] = strings.Repeat(args[j]+"x", 1+rng.IntN(max(1, 4096/(len(args[j])+1))))
		}
	case op < 14: // the command's name itself
		j := rng.IntN(names)
		args[j] = g.oddWord(args[j])
	case op < 16 && len(args) > names: // another value
		args[names+rng.IntN(len(args)-names)] = retypes[rng.IntN(len(retypes))]
	default: // insert, repeat, drop, swap, extreme numbers
		args = mutate(rng, args, names)
	}
	return args
}

// oddWord returns a variant of a keyword that the server may or may not
// read as it (strcasecmp: ASCII fold, ends at NUL).
func (g *fuzzGen) oddWord(w string) string {
	rng := g.rng
	switch rng.IntN(14) {
	case 0, 12, 13: // what the server reads as the keyword itself
		return w + "\x00"
	case 1:
		return w + "\x00" + victimTypes[rng.IntN(len(victimTypes))]
	case 2:
		return strings.ToLower(w)
	case 3: // random case
		b := []byte(w)
		for i := range b {
			if rng.IntN(2) == 0 && ('a' <= b[i]|0x20 && b[i]|0x20 <= 'z') {
				b[i] ^= 0x20
			}
		}
		return string(b)
	case 4: // Unicode letters that fold to ASCII ones in Go, not in C
		r := strings.NewReplacer("s", "ſ", "S", "ſ", "k", "K", "K", "K", "i", "ı", "I", "İ")
		return r.Replace(w)
	case 5:
		return " " + w
	case 6:
		return w + " "
	case 7:
		return "\x00" + w
	case 8: // a byte with the high bit set
		if w == "" {
			return "\x80"
		}
		i := rng.IntN(len(w))
		return w[:i] + string([]byte{w[i] | 0x80}) + w[i+1:]
	case 9:
		if len(w) > 1 {
			return w[:len(w)-1]
		}
		return w + w
	case 10:
		return w + "\x00\x00"
	default:
		return w + strings.Repeat("\x00", 1+rng.IntN(3)) + strings.ToUpper(w)
	}
}

// oddNumber returns a form of the number n that string2ll may refuse.
func (g *fuzzGen) oddNumber(n string) string {
	forms := []string{
		"+" + n, "0" + n, " " + n, n + " ", n + "e0", n + ".0", n + "\x00", "\x00" + n, "-0", "",
		"0x" + n, "00", n + "\x001", "٣", "9223372036854775808", "-9223372036854775809",
		"99999999999999999999", strings.Repeat("0", 20) + n,
	}
	return forms[g.rng.IntN(len(forms))]
}

// fuzzWorld is one configuration the fuzzer runs against.
type fuzzWorld struct {
	name    string
	cluster bool
	hashTag bool
	resp2   bool
}

// TestDifferentialFuzz runs the generator's attacks through a part, in
// groups the effect oracle probes after. It fails on any escape, naming
// the attack (a regression line for issue21Attacks).
func TestDifferentialFuzz(t *testing.T) {
	// Its commands come from COMMAND DOCS, which Redis 7.0 added.
	redistest.RequireBinary(t, redistest.KeySpecs.Name, func(v redistest.Version) bool { return v.AtLeast(7, 0) })
	t.Parallel() // servers of its own and no globals: runs beside the other slow tests
	commands, seed, which := fuzzSettings(t)
	all := []fuzzWorld{
		{name: "server"},
		{name: "server-hashtag", hashTag: true},
		{name: "server-resp2", resp2: true},
		{name: "cluster", cluster: true},
		{name: "cluster-hashtag", cluster: true, hashTag: true},
	}
	var worlds []fuzzWorld
	for _, fw := range all {
		if which == "all" || slices.Contains(strings.Split(which, ","), fw.name) {
			worlds = append(worlds, fw)
		}
	}
	if len(worlds) == 0 {
		t.Fatalf("WIREREDIS_FUZZ_WORLDS=%q: want all, or a comma-separated list of server, server-hashtag, server-resp2, cluster, cluster-hashtag", which)
	}
	// The parts log every command they refuse: most of the run's.
	logger := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(func() { slog.SetDefault(logger) })
	var cluster *redistest.Cluster
	parent := t
	for _, fw := range worlds {
		t.Run(fw.name, func(t *testing.T) {
			var srv *redistest.Server
			var environ []string
			if fw.cluster {
				if cluster == nil {
					cluster = redistest.StartCluster(parent, 3, 0) // for every cluster world
				}
				environ = []string{"REDIS_ADDRS=" + strings.Join(cluster.Addrs, ",")}
			} else {
				srv = redistest.Start(t)
				environ = []string{"REDIS_URL=" + srv.URL()}
			}
			if fw.resp2 {
				environ = append(environ, "REDIS_PROTOCOL=2", "REDIS_DISABLE_CACHE=true")
			}
			attacker, bystander := effectParts(t, environ, fw.hashTag)
			w := newEffectWorld(t, srv, cluster, attacker, bystander)
			var cmds []docCommand
			if fw.cluster {
				cmds = serverCommands(t, cluster.Node(t, cluster.Primaries()[0]))
			} else {
				cmds = serverCommands(t, srv.Client)
			}
			g := newFuzzGen(cmds, seed)
			start, escapes := time.Now(), 0
			const batch = 2000
			for done := 0; done < commands; {
				n := min(batch, commands-done)
				attacks := make([]attack, n)
				for i := range attacks {
					a := g.next()
					for !buildable(attacker, a) {
						a = g.next()
					}
					attacks[i] = a
				}
				found := w.attackAll(attacks, 250)
				reportEscapes(t, found)
				escapes += len(found)
				done += n
				if effectTrace || done%100000 < batch {
					t.Logf("%s: %d commands, %d escapes, %s", fw.name, done, escapes, time.Since(start).Round(time.Second))
				}
			}
			t.Logf("differential fuzzer (seed %d) on %s: %d generated commands, %d escapes, in %s", seed, fw.name, commands, escapes, time.Since(start).Round(time.Second))
		})
	}
}
