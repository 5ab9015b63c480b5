package feature_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/internal/keyspec"
	"github.com/wireredis/wireredis/redistest"
)

// TestOracle sends, for every command of the server, argument lists made
// from COMMAND DOCS through a namespaced client, and asks the server
// (COMMAND GETKEYS) which arguments of the rewritten command are keys:
// every one must carry the prefix, and there must be as many as in the
// original command.
func TestOracle(t *testing.T) {
	srv := redistest.Start(t)
	srv.Require(t, redistest.KeySpecs) // its cases come from COMMAND DOCS
	ctx := context.Background()
	rec := &recorder{b: srv.Client.B()}
	s := feature.New(rec, "session")

	n := 0
	v := values{
		keyOf:   func(string) string { n++; return fmt.Sprintf("k%d", n) },
		str:     "s",
		channel: "ch",
	}
	getkeys := func(args []string) ([]string, error) {
		return srv.Client.Do(ctx, srv.Client.B().CommandGetkeys().Command(args[0]).Arg(args[1:]...).Build()).AsStrSlice()
	}
	count := map[keyspec.Class]int{}
	documented := map[string]bool{}
	for _, e := range serverCommands(t, srv.Client) {
		documented[e.String()] = true
		spec, _, err := keyspec.Lookup(e.name)
		if err != nil {
			t.Errorf("%s: the server has it, the key table does not: %v", e, err)
			continue
		}
		count[spec.Class]++
		t.Run(spec.Name, func(t *testing.T) {
			checked := 0
			for _, args := range e.shapes(v, 40) {
				rec.sent = rec.sent[:0]
				err := s.Do(ctx, build(rec.b, args)).Error()
				if spec.Transaction {
					// Refused alone on the shared connection, by design;
					// sent in a batch that closes what it opens.
					if !errors.Is(err, feature.ErrRefused) {
						t.Errorf("%q alone: %v, want ErrRefused", args, err)
					}
					batch, at := txnBatch(rec.b, args)
					rec.sent = rec.sent[:0]
					err = s.DoMulti(ctx, batch...)[at].Error()
					if err == nil {
						rec.sent = rec.sent[at:]
					}
				}
				if spec.Name == "COPY" && slices.ContainsFunc(args, func(a string) bool { return strings.EqualFold(a, "DB") }) {
					if !errors.Is(err, feature.ErrRefused) {
						t.Errorf("%q: %v, want ErrRefused (COPY ... DB leaves the connection's database)", args, err)
					}
					continue
				}
				switch spec.Class {
				case keyspec.Refused:
					if !errors.Is(err, feature.ErrRefused) {
						t.Errorf("%q: %v, want ErrRefused", args, err)
					}
					return
				case keyspec.Keyless:
					if err != nil {
						t.Fatalf("%q: %v", args, err)
					}
					if !slices.Equal(rec.sent[0].Commands(), args) {
						t.Errorf("keyless %q was sent as %q", args, rec.sent[0].Commands())
					}
					if keys, err := getkeys(args); err == nil && len(keys) > 0 {
						t.Errorf("keyless %q: the server names keys %q", args, keys)
					}
					return
				case keyspec.Scoped, keyspec.Channels:
					if strings.HasSuffix(spec.Name, "SUBSCRIBE") && !strings.Contains(spec.Name, "UNSUB") {
						// Sent with Do, a subscription would hold the shared
						// connection (TestFaultSubscribedConnectionReads);
						// Receive's prefixes are the pubsub tests'.
						if !errors.Is(err, feature.ErrRefused) {
							t.Errorf("%q through Do: %v, want ErrRefused", args, err)
						}
						return
					}
					if err != nil && len(args) == 1 && errors.Is(err, feature.ErrBadArguments) {
						continue // UNSUBSCRIBE without channels: refused on purpose
					}
					if err != nil {
						t.Fatalf("%q: %v", args, err)
					}
					sent := rec.sent[0].Commands()
					noChannels := (spec.Name == "PUBSUB NUMSUB" || spec.Name == "PUBSUB SHARDNUMSUB") && len(args) == len(e.name) ||
						spec.Name == "ROLE" // scoped in its reply
					inNamespace := slices.ContainsFunc(sent, func(a string) bool { return strings.HasPrefix(a, "session:") })
					if !noChannels && !inNamespace {
						t.Errorf("%q was sent as %q, with nothing in the namespace", args, sent)
					}
					return
				}
				if err != nil && errors.Is(err, feature.ErrBadArguments) && strings.Contains(err.Error(), "the server would refuse it") {
					// The part read the options as the server does, and
					// found an error: the server must find it too.
					if serr := srv.Client.Do(ctx, build(srv.Client.B(), args)).Error(); serr == nil {
						t.Errorf("%q: the part refused it (%v), the server takes it", args, err)
					}
					continue
				}
				want, gerr := getkeys(args)
				if gerr != nil {
					continue // this argument list does not parse; try the other
				}
				if err != nil {
					t.Errorf("%q: %v", args, err)
					continue
				}
				sent := rec.sent[0].Commands()
				got, gerr := getkeys(sent)
				if gerr != nil {
					t.Errorf("rewritten %q: COMMAND GETKEYS: %v", sent, gerr)
					continue
				}
				if len(got) != len(want) {
					t.Errorf("%q: the server names %d keys in the rewritten command %q, %d in the original", args, len(got), sent, len(want))
				}
				for i, k := range got {
					if !strings.HasPrefix(k, "session:") {
						t.Errorf("%q: key %q of the rewritten command is outside the namespace", args, k)
					} else if i < len(want) && k != "session:"+want[i] {
						t.Errorf("%q: key %d is %q, want session:%s", args, i, k, want[i])
					}
				}
				checked++
			}
			if checked == 0 {
				t.Errorf("no argument list made from COMMAND DOCS parses for %s", spec.Name)
			}
		})
	}
	total := 0
	for _, n := range count {
		total += n
	}
	t.Logf("coverage: prefixed %d / keyless %d / scoped %d / channels %d / refused %d / total %d",
		count[keyspec.Keys], count[keyspec.Keyless], count[keyspec.Scoped], count[keyspec.Channels], count[keyspec.Refused], total)
	// The table is the union of the supported servers' commands: the
	// ones this server does not document, it must not have at all.
	var lacks []string
	for _, c := range keyspec.Table() {
		if !documented[c.Name] {
			lacks = append(lacks, c.Name)
			if srv.HasCommand(ctx, c.Name) {
				t.Errorf("%s: the server has it (COMMAND INFO), but COMMAND DOCS does not say so", c.Name)
			}
		}
	}
	slices.Sort(lacks)
	t.Logf("the table's commands this server (%s) lacks: %d %v", srv.Version(t), len(lacks), lacks)
}

// txnBatch puts a transaction command in the smallest batch that closes
// what it opens, and says where in the batch it is.
func txnBatch(b rueidis.Builder, args []string) (rueidis.Commands, int) {
	cmd := build(b, args)
	switch args[0] {
	case "MULTI":
		return rueidis.Commands{cmd, b.Exec().Build()}, 0
	case "EXEC", "DISCARD":
		return rueidis.Commands{b.Multi().Build(), cmd}, 1
	case "WATCH":
		return rueidis.Commands{cmd, b.Unwatch().Build()}, 0
	}
	return rueidis.Commands{cmd}, 0
}
