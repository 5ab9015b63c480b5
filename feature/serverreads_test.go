package feature_test

// Arguments read as the server reads them (issue 21). The server compares
// option keywords with strcasecmp, which folds ASCII letters only and
// stops at a NUL byte, reads numbers with string2ll, and may take a
// command name with a NUL byte for a real command. Each test here failed
// on the code that compared whole strings and folded Unicode.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/internal/keyspec"
	"github.com/wireredis/wireredis/redistest"
)

// oddArguments are byte-level variants of what a keyword or a number may
// look like: the server reads some of them as the real thing.
func oddArguments(word string) []string {
	out := []string{
		word, strings.ToLower(word), word + "\x00", word + "\x00junk", "\x00" + word,
		word[:len(word)-1], word + word[len(word)-1:], " " + word, word + " ", word + "\t",
		word + "\x80", "\xc5\xbf" + word[1:], strings.ReplaceAll(word, "S", "\xc5\xbf"),
		strings.ReplaceAll(strings.ToLower(word), "s", "\xc5\xbf"), strings.ReplaceAll(word, "K", "\xe2\x84\xaa"),
		string(word[0]|0x80) + word[1:], string(word[0]^0x20) + word[1:], string(word[0]-1) + word[1:], "",
	}
	for i := range word {
		// One letter flipped to the other case, and to its neighbours
		// outside the letters ('@', '[', '`', '{').
		b := []byte(word)
		b[i] ^= 0x20
		out = append(out, string(b))
		b[i] = '@'
		out = append(out, string(b))
	}
	return out
}

// oddNumbers are forms of numbers that string2ll takes or refuses.
var oddNumbers = []string{
	"0", "1", "2", "3", "-1", "+1", "01", "00", "-0", " 1", "1 ", "1\x00", "\x001", "1e0", "1.0", "0x1",
	"", "-", "+", "٣", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
	"-9223372036854775809", "99999999999999999999", "000000000000000000001", "18446744073709551617",
}

// TestServerReadsArgumentsAsThePartDoes asks the server itself how it
// reads keywords, numbers and names, and checks keyspec's ports against
// its answers byte for byte.
func TestServerReadsArgumentsAsThePartDoes(t *testing.T) {
	t.Parallel() // servers of its own and no globals: runs beside the other slow tests
	srv := redistest.Start(t)
	ctx := context.Background()
	c := srv.Client
	do := func(args ...string) rueidis.RedisResult { return c.Do(ctx, c.B().Arbitrary(args...).Build()) }
	if err := do("XADD", "s", "1-1", "f", "v").Error(); err != nil {
		t.Fatal(err)
	}
	// Keywords: XREAD <word> s 0 runs only when the server reads <word>
	// as STREAMS (anything else is a syntax error); SCAN 0 <word> x only
	// when it reads MATCH.
	for _, kw := range []struct{ cmd, word string }{{"XREAD", "STREAMS"}, {"SCAN", "MATCH"}, {"COPY", "REPLACE"}} {
		for _, arg := range oddArguments(kw.word) {
			var err error
			switch kw.cmd {
			case "XREAD":
				err = do("XREAD", arg, "s", "0").Error()
			case "SCAN":
				err = do("SCAN", "0", arg, "x").Error()
			default:
				err = do("COPY", "s", "s2", arg).Error()
				_ = do("DEL", "s2")
			}
			if server, part := err == nil, keyspec.Keyword(arg, kw.word); server != part {
				t.Errorf("%s %q: the server reads it as %s: %t (%v); keyspec.Keyword: %t", kw.cmd, arg, kw.word, server, err, part)
			}
		}
	}
	// Numbers: EVAL "return #KEYS" <n> a b c returns n when the server
	// reads n as a number of keys it has.
	for _, arg := range oddNumbers {
		got, err := do("EVAL", "return #KEYS", arg, "a", "b", "c").AsInt64()
		n, ok := keyspec.ParseInt(arg)
		want := ok && n >= 0 && n <= 3
		if (err == nil) != want || want && got != n {
			t.Errorf("EVAL numkeys %q: the server says %d, %v; keyspec.ParseInt says %d, %t", arg, got, err, n, ok)
		}
	}
	// Command names: the server hashes the whole name but compares it as
	// a C string, so some names with a NUL byte run the real command. A
	// part sends none of them.
	s := feature.New(c, "session")
	ran := 0
	for i := range 3000 {
		name := fmt.Sprintf("DBSIZE\x00%d", i)
		if _, err := do(name).AsInt64(); err == nil {
			ran++
		}
		var ce *feature.CommandError
		if err := s.Do(ctx, c.B().Arbitrary(name).Build()).Error(); !errors.As(err, &ce) {
			t.Fatalf("a part sent %q: %v", name, err)
		} else if strings.Contains(err.Error(), "\x00") || !strings.Contains(err.Error(), strconv.Quote(name)) {
			t.Fatalf("the error does not quote the name: %q", err.Error())
		}
		for _, args := range [][]string{{"CONFIG", fmt.Sprintf("GET\x00%d", i), "*"}, {fmt.Sprintf("GET\x00%d", i), "k"}} {
			if err := s.Do(ctx, c.B().Arbitrary(args...).Build()).Error(); !errors.As(err, &ce) || !errors.Is(err, feature.ErrRefused) {
				t.Fatalf("a part sent %q: %v", args, err)
			}
		}
	}
	info, _ := do("INFO", "server").ToString()
	version := "?"
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "redis_version:"); ok && version == "?" {
			version = v
		}
		if v, ok := strings.CutPrefix(line, "valkey_version:"); ok {
			version = "valkey " + v
		}
	}
	t.Logf("server %s: of 3000 names DBSIZE\\x00<n>, it ran %d as DBSIZE; the part sent none", version, ran)
}

// TestRegisterCommandRefusesNamesTheServerCannotHold: a registered name
// with a NUL byte let the part send names the server may read as DBSIZE
// or CONFIG GET.
func TestRegisterCommandRefusesNamesTheServerCannotHold(t *testing.T) {
	for _, name := range []string{"DBSIZE\x00212", "CONFIG GET\x00212", "JSON.GET\x00", "JSON\tGET", "JSON.GET\n", "JSON\u00a0GET", "JSON\x7fGET", "JSON\x01GET", "\xffJSON"} {
		err := feature.RegisterCommand(name, feature.CommandSpec{Keyless: true})
		if !errors.Is(err, feature.ErrRegister) {
			t.Errorf("RegisterCommand(%q): %v, want ErrRegister", name, err)
			continue
		}
		if !strings.Contains(err.Error(), "a command name") {
			t.Errorf("RegisterCommand(%q): the error does not say what is wrong: %v", name, err)
		}
	}
}

// issue21Attacks are the examples of issue 21 and the cases the
// differential fuzzer found, as argument lists over the effect world's
// victims (keys named str, list, stream, ... outside the namespace).
var issue21Attacks = [][]string{
	{"XREAD", "STREAMS\x00", "stream", "0"},
	{"XREAD", "streams\x00junk", "stream", "0"},
	{"XREAD", "COUNT\x00", "1", "STREAMS\x00", "stream", "0"},
	{"XREAD", "ſtreams", "stream", "0"},
	{"XREADGROUP", "GROUP", "str", "str", "STREAMS\x00", "stream", ">"},
	{"XREADGROUP", "GROUP\x00", "str", "str", "STREAMS", "stream", ">"},
	{"XREADGROUP", "GROUP", "str", "STREAMS", "STREAMS\x00x", "stream", ">"},
	{"SORT", "list", "ALPHA", "STORE\x00", "str"},
	{"SORT", "list", "ALPHA", "store\x00x", "zset"},
	{"SORT", "list", "ALPHA", "GET\x00", "*"},
	{"SORT", "list", "ALPHA", "GET", "#\x00", "GET\x00", "*->str"},
	{"SORT", "list", "BY\x00", "*", "GET", "#"},
	{"SORT_RO", "list", "ALPHA", "GET\x00", "*"},
	{"SORT", "list", "LIMIT\x00", "0", "1", "ALPHA", "STORE\x00", "str"},
	{"GEORADIUS", "geo", "15", "37", "500", "km", "STORE\x00", "zset"},
	{"GEORADIUS", "geo", "15", "37", "500", "km", "STORE", "geo", "STOREDIST\x00", "zset"},
	{"GEORADIUS", "geo", "15", "37", "500", "km", "COUNT\x00", "1", "STORE\x00", "zset"},
	{"GEORADIUSBYMEMBER", "geo", "str", "500", "km", "STORE\x00", "zset"},
	{"SCAN", "0", "MATCH\x00", "*"},
	{"SCAN", "0", "MATCH", "*", "MATCH\x00", "*"},
	{"SCAN", "0", "COUNT\x00", "100", "MATCH\x00", "*"},
	{"SCAN", "0", "TYPE\x00", "string", "COUNT", "100"},
	{"COPY", "str", "str2", "DB\x00", "9"},
	{"COPY", "str", "str", "db\x00x", "9", "REPLACE"},
	{"EVAL", "return redis.call('GET', KEYS[1])", "+1", "str"},
	{"EVAL", "return redis.call('GET', KEYS[1])", "01", "str"},
	{"EVAL", "return redis.call('GET', KEYS[1])", " 1", "str"},
	{"EVAL", "return redis.call('GET', KEYS[1])", "1e0", "str"},
	{"EVAL_RO", "return redis.call('GET', KEYS[1])", "1\x00", "str"},
	{"ZUNIONSTORE", "zset", "01", "zset"},
	{"LMPOP", "+1", "list", "LEFT"},
	{"SINTERCARD", "1 ", "set"},
	{"DBSIZE\x00212"},
	{"CONFIG", "GET\x00212", "*"},
	{"GET\x00", "str"},
	{"XREAD", "BLOCK\x00", "0", "STREAMS", "stream", "$"},
	{"XREADGROUP", "GROUP", "str", "c", "BLOCK\x00", "0", "STREAMS", "stream", ">"},
}

// TestIssue21Examples sends the issue's examples, and every case the
// differential fuzzer found, through each entry point of a part, on one
// server and on a cluster, plain and hash-tag parts, RESP2 and RESP3;
// the effect oracle judges (keyspace events outside the namespace, the
// server's state, secrets in replies, the other part's replies).
func TestIssue21Examples(t *testing.T) {
	// Its commands come from COMMAND DOCS, which Redis 7.0 added.
	redistest.RequireBinary(t, redistest.KeySpecs.Name, func(v redistest.Version) bool { return v.AtLeast(7, 0) })
	t.Parallel() // servers of its own and no globals: runs beside the other slow tests
	if testing.Short() {
		t.Skip("starts servers and a cluster")
	}
	run := func(t *testing.T, srv *redistest.Server, cluster *redistest.Cluster, environ []string, hashTag bool, cmds []docCommand) {
		attacker, bystander := effectParts(t, environ, hashTag)
		w := newEffectWorld(t, srv, cluster, attacker, bystander)
		byName := map[string]docCommand{}
		for _, c := range cmds {
			byName[c.String()] = c
		}
		var attacks []attack
		for _, args := range issue21Attacks {
			cmd := byName[strings.ToUpper(args[0])]
			if len(args) > 1 && cmd.name == nil {
				cmd = byName[strings.ToUpper(args[0]+" "+args[1])]
			}
			if cmd.name == nil {
				cmd = docCommand{name: []string{args[0]}}
			}
			vias := []string{"Do", "DoMulti", "DoCache", "Dedicated"}
			if slices.ContainsFunc(args, func(a string) bool { return keyspec.Keyword(a, "BLOCK") }) {
				// Each waits out run's two seconds: the one that held the
				// shared connection (through Do) is enough.
				vias = vias[:1]
			}
			for _, via := range vias {
				attacks = append(attacks, attack{via: via, cmd: cmd, args: args})
			}
		}
		reportEscapes(t, w.attackAll(attacks, 8))
	}
	srv := redistest.Start(t)
	cmds := serverCommands(t, srv.Client)
	for _, protocol := range []string{"3", "2"} {
		for _, hashTag := range []bool{false, true} {
			t.Run(fmt.Sprintf("server/resp%s/hashtag=%t", protocol, hashTag), func(t *testing.T) {
				run(t, srv, nil, []string{"REDIS_URL=" + srv.URL(), "REDIS_PROTOCOL=" + protocol, "REDIS_DISABLE_CACHE=" + strconv.FormatBool(protocol == "2")}, hashTag, cmds)
			})
		}
	}
	cluster := redistest.StartCluster(t, 3, 0)
	for _, protocol := range []string{"3", "2"} {
		for _, hashTag := range []bool{false, true} {
			t.Run(fmt.Sprintf("cluster/resp%s/hashtag=%t", protocol, hashTag), func(t *testing.T) {
				run(t, nil, cluster, []string{"REDIS_ADDRS=" + strings.Join(cluster.Addrs, ","), "REDIS_PROTOCOL=" + protocol, "REDIS_DISABLE_CACHE=" + strconv.FormatBool(protocol == "2")}, hashTag, cmds)
			})
		}
	}
}

// TestDedicatedInvalidationsKeepTracking: rueidis answers an invalidation
// hook left on a dedicated connection with CLIENT TRACKING OFF when it
// takes the connection back, so a part's SetOnInvalidations left the
// pooled connection, which other parts reuse, with tracking off.
func TestDedicatedInvalidationsKeepTracking(t *testing.T) {
	srv := redistest.Start(t)
	session, cache := sessionAndCache(t, srv)
	ctx := context.Background()
	flags := func(id int64) string {
		list, err := srv.Client.Do(ctx, srv.Client.B().Arbitrary("CLIENT", "LIST", "ID", strconv.FormatInt(id, 10)).Build()).ToString()
		if err != nil {
			t.Fatal(err)
		}
		for _, field := range strings.Fields(list) {
			if f, ok := strings.CutPrefix(field, "flags="); ok {
				return f
			}
		}
		t.Fatalf("CLIENT LIST ID %d: no flags in %q", id, list)
		return ""
	}
	var id int64
	err := session.Dedicated(func(d rueidis.DedicatedClient) error {
		var err error
		if id, err = d.Do(ctx, d.B().ClientId().Build()).AsInt64(); err != nil {
			return err
		}
		if f := flags(id); !strings.Contains(f, "t") {
			t.Fatalf("the pooled connection has no tracking to begin with (flags %q): the test shows nothing", f)
		}
		d.SetOnInvalidations(func([]rueidis.RedisMessage) {})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if f := flags(id); !strings.Contains(f, "t") {
		t.Errorf("after the session part's Dedicated with SetOnInvalidations, the pooled connection %d went back with tracking off (flags %q)", id, f)
	}
	// The cache part gets the same connection next, with tracking on.
	// (rueidis may still be sending its CLIENT TRACKING OFF when Dedicated
	// returns: this is the check that always sees it.)
	err = cache.Dedicated(func(d rueidis.DedicatedClient) error {
		next, err := d.Do(ctx, d.B().ClientId().Build()).AsInt64()
		switch {
		case err != nil:
			return err
		case next != id:
			t.Fatalf("rueidis's pool gave connection %d, not %d again: the test shows nothing", next, id)
		case !strings.Contains(flags(next), "t"):
			t.Errorf("the cache part's dedicated connection %d (the session part's before) has tracking off", next)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
