package feature_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/internal/keyspec"
)

// keyed lists the commands of the Keys class, in a fixed order.
func keyed() []*keyspec.Command {
	var out []*keyspec.Command
	for _, c := range keyspec.Table() {
		if c.Class == keyspec.Keys {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b *keyspec.Command) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// FuzzRewrite sends arbitrary argument lists of keyed commands through a
// part: the rewrite must never panic, a command it refuses must be left as
// it was, and what it sends must differ from the original only by the
// prefix on the key positions, every one of which is in the namespace.
func FuzzRewrite(f *testing.F) {
	cmds := keyed()
	index := func(name string) uint16 {
		return uint16(slices.IndexFunc(cmds, func(c *keyspec.Command) bool { return c.Name == name }))
	}
	for _, seed := range []struct {
		name string
		args []string
	}{
		{"SET", []string{"k", "v", "EX", "10"}},
		{"MSET", []string{"a", "1", "b"}},
		{"EVAL", []string{"return 1", "2", "a", "b", "x"}},
		{"EVAL", []string{"s", "-3", "a"}},
		{"EVAL", []string{"s", "99999999999999999999"}},
		{"XREAD", []string{"STREAMS", "a", "STREAMS", "0", "0"}},
		{"XREADGROUP", []string{"GROUP", "g", "c", "streams", "s1", "s2", "1"}},
		{"SORT", []string{"l", "BY", "w_*", "GET", "#", "GET", "STORE", "LIMIT"}},
		{"MIGRATE", []string{"h", "1", "", "0", "5", "AUTH2", "KEYS", "x", "KEYS", "a"}},
		{"GEORADIUS", []string{"src", "0", "0", "1", "km", "STORE"}},
		{"ZUNIONSTORE", []string{"d", "1", "a", "WEIGHTS", "2"}},
		{"BLMPOP", []string{"0", "2", "a"}},
		{"OBJECT ENCODING", nil},
		{"LMOVE", []string{"session:a", "b", "LEFT", "RIGHT"}},
	} {
		f.Add(index(seed.name), strings.Join(seed.args, "\x00"))
	}
	rec := &recorder{b: newRecorder(f).b}
	s := feature.New(rec, "session")
	f.Fuzz(func(t *testing.T, which uint16, payload string) {
		cmd := cmds[int(which)%len(cmds)]
		args := strings.Fields(cmd.Name)
		if payload != "" {
			args = append(args, strings.Split(payload, "\x00")...)
		}
		rec.sent = rec.sent[:0]
		built := rec.b.Arbitrary(args...).Build()
		err := s.Do(context.Background(), built).Error()
		if err != nil {
			if len(rec.sent) > 0 {
				t.Fatalf("%q: error %v, yet something was sent", args, err)
			}
			if !slices.Equal(built.Commands(), args) {
				t.Fatalf("%q: refused, yet changed to %q", args, built.Commands())
			}
			return
		}
		sent := rec.sent[0].Commands()
		var p keyspec.Positions
		if ferr := cmd.Find(args, &p); ferr != nil {
			t.Fatalf("%q was sent though its keys cannot be found: %v", args, ferr)
		}
		if len(sent) != len(args) {
			t.Fatalf("%q was sent as %q", args, sent)
		}
		for i := range args {
			if p.At(i) != 0 {
				if sent[i] != "session:"+args[i] {
					t.Fatalf("%q: key %d sent as %q", args, i, sent[i])
				}
			} else if sent[i] != args[i] {
				t.Fatalf("%q: argument %d changed to %q", args, i, sent[i])
			}
		}
		// And the keys of what was sent are all in the namespace.
		var q keyspec.Positions
		if ferr := cmd.Find(sent, &q); ferr != nil {
			t.Fatalf("rewritten %q: %v", sent, ferr)
		}
		for i, a := range sent {
			if q.At(i) != 0 && !strings.HasPrefix(a, "session:") {
				t.Fatalf("rewritten %q: key %q outside the namespace", sent, a)
			}
		}
	})
}
