package registry_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/rueidis"
)

// TestRetriedCommandsAreNotRecycled: rueidis retries a read whose
// connection broke on a new connection, and recycled the command when the
// retry succeeded, while the broken connection's writer could still be
// reading it. The caller's next command was then built in memory that
// writer read (a data race, reported under load by -race in TestChaos; a
// torn argument could end the process). A retried command, and every
// command of a retried batch, is now never recycled: its arguments still
// read as built once the call returns. A call that was not retried still
// gives its commands back (the control cases), or every command would
// cost its allocations again.
func TestRetriedCommandsAreNotRecycled(t *testing.T) {
	for _, tc := range []struct {
		name    string
		drop    bool // the first GET of "k" closes the connection
		send    func(c rueidis.Client, ctx context.Context) ([]rueidis.RedisResult, [][]string)
		retried bool
	}{
		{"Do, retried", true, sendDo, true},
		{"DoMulti, retried", true, sendDoMulti, true},
		{"DoCache, retried", true, sendDoCache, true},
		{"DoMultiCache, retried", true, sendDoMultiCache, true},
		{"Do, answered at once", false, sendDo, false},
		{"DoMulti, answered at once", false, sendDoMulti, false},
		{"DoMultiCache, answered at once", false, sendDoMultiCache, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var gets atomic.Int32
			var multi sync.Map // net.Conn: inside MULTI
			inMulti := func(c net.Conn) bool { _, in := multi.Load(c); return in }
			addr := attackServer(t, func(c net.Conn, args []string) bool {
				switch strings.ToUpper(args[0]) {
				case "GET":
					if args[1] == "k" && gets.Add(1) == 1 && tc.drop {
						_ = c.Close()
						return true
					}
					if inMulti(c) {
						return write(c, "+QUEUED\r\n")
					}
					return write(c, "$1\r\nv\r\n")
				case "MULTI":
					multi.Store(c, true)
					return write(c, "+OK\r\n")
				case "PTTL":
					return write(c, "+QUEUED\r\n")
				case "EXEC":
					multi.Delete(c)
					return write(c, "*2\r\n:-1\r\n$1\r\nv\r\n")
				}
				return false
			})
			reg, c := acquire(t, addr, "REDIS_PROTOCOL=3")
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			rs, args := tc.send(c, ctx)
			for i, r := range rs {
				if v, err := r.ToString(); err != nil || v != "v" {
					t.Fatalf("reply %d: %q, %v; want v", i, v, err)
				}
			}
			if tc.drop && gets.Load() < 2 {
				t.Fatalf("%d GETs of k reached the server: the call was not retried", gets.Load())
			}
			for i, a := range args {
				kept := len(a) == 2 && a[0] == "GET" && a[1] != ""
				if tc.retried && !kept {
					t.Errorf("command %d was recycled after a retry (%q): the broken connection's writer may still read it", i, a)
				}
				if !tc.retried && kept {
					t.Errorf("command %d was not given back to rueidis's pool (%q)", i, a)
				}
			}
			t.Logf("%d GETs of k; %+v", gets.Load(), reg.Stats())
		})
	}
}

// The calls of TestRetriedCommandsAreNotRecycled: their results, and the
// arguments of the commands they sent, as rueidis holds them.
func sendDo(c rueidis.Client, ctx context.Context) ([]rueidis.RedisResult, [][]string) {
	cmd := c.B().Get().Key("k").Build()
	args := cmd.Commands()
	return []rueidis.RedisResult{c.Do(ctx, cmd)}, [][]string{args}
}

func sendDoMulti(c rueidis.Client, ctx context.Context) ([]rueidis.RedisResult, [][]string) {
	cmds := rueidis.Commands{c.B().Get().Key("a").Build(), c.B().Get().Key("k").Build(), c.B().Get().Key("b").Build()}
	args := make([][]string, len(cmds))
	for i, cmd := range cmds {
		args[i] = cmd.Commands()
	}
	return c.DoMulti(ctx, cmds...), args
}

func sendDoCache(c rueidis.Client, ctx context.Context) ([]rueidis.RedisResult, [][]string) {
	cmd := c.B().Get().Key("k").Cache()
	args := (*rueidis.Completed)(&cmd).Commands()
	return []rueidis.RedisResult{c.DoCache(ctx, cmd, time.Minute)}, [][]string{args}
}

func sendDoMultiCache(c rueidis.Client, ctx context.Context) ([]rueidis.RedisResult, [][]string) {
	cmds := []rueidis.CacheableTTL{rueidis.CT(c.B().Get().Key("a").Cache(), time.Minute), rueidis.CT(c.B().Get().Key("k").Cache(), time.Minute)}
	args := make([][]string, len(cmds))
	for i, cmd := range cmds {
		args[i] = (*rueidis.Completed)(&cmd.Cmd).Commands()
	}
	return c.DoMultiCache(ctx, cmds...), args
}
