package rueidisx_test

import (
	"context"
	"errors"
	"testing"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/rueidisx"
	"github.com/wireredis/wireredis/redistest"
)

// TestHoldAndRecycle checks what Hold, Recycle and MarkRetried assume of
// rueidis, on a real server: rueidis recycles a command when its call
// returns (its arguments read as cleared), not a held or retried one;
// Recycle gives a held command back when the server answered it, and only
// then; RecycleAll gives back no command of a batch of which one was
// retried, pinned or not.
func TestHoldAndRecycle(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client
	ctx := context.Background()
	recycled := func(args []string) bool { return args[0] == "" && args[1] == "" }
	get := func() (rueidis.Completed, []string) {
		cmd := c.B().Get().Key("k").Build()
		return cmd, cmd.Commands()
	}

	// The observation works: rueidis recycles what it is not kept from.
	cmd, args := get()
	if err := c.Do(ctx, cmd).Error(); !rueidis.IsRedisNil(err) {
		t.Fatal(err)
	}
	if !recycled(args) {
		t.Fatalf("rueidis did not recycle a command (%q): the test cannot see what Hold prevents", args)
	}

	cmd, args = get()
	rueidisx.Hold(&cmd)
	r := c.Do(ctx, cmd)
	if recycled(args) {
		t.Fatal("rueidis recycled a held command")
	}
	rueidisx.Recycle(cmd, &r)
	if !recycled(args) {
		t.Errorf("Recycle did not give back a command the server answered: %q", args)
	}

	// Not answered by the server: left alone, the writer may still read it.
	for _, failed := range []rueidis.RedisResult{
		rueidis.NewErrorResult(rueidis.ErrDoCacheAborted),
		rueidis.NewErrorResult(errors.New("connection closed")),
	} {
		cmd, args = get()
		rueidisx.Hold(&cmd)
		rueidisx.Recycle(cmd, &failed)
		if recycled(args) {
			t.Errorf("Recycle gave back a command whose call failed with %v", failed.Error())
		}
	}

	// Retried: neither rueidis nor Recycle takes it.
	cmd, args = get()
	rueidisx.Hold(&cmd)
	rueidisx.MarkRetried(cmd)
	if !rueidisx.Retried(&cmd) {
		t.Fatal("Retried does not see MarkRetried")
	}
	r = c.Do(ctx, cmd)
	rueidisx.Recycle(cmd, &r)
	if recycled(args) {
		t.Error("a retried command was recycled")
	}

	// A batch: all of it back, or, when rueidis retried one of its
	// commands, none; the one it passes RetryDelay may be pinned, which
	// MarkRetried cannot mark (TestAttackRetrySharedPinnedCommand).
	for _, retry := range []string{"", "unpinned", "pinned"} {
		batch := make(rueidis.Commands, 3)
		batchArgs := make([][]string, 3)
		for i := range batch {
			batch[i], batchArgs[i] = get()
		}
		batch[0] = batch[0].Pin()
		since := rueidisx.HoldAll(batch)
		switch retry {
		case "unpinned":
			rueidisx.MarkRetried(batch[1])
		case "pinned":
			rueidisx.MarkRetried(batch[0])
		}
		rs := c.DoMulti(ctx, batch...)
		rueidisx.RecycleAll(batch, rs, since)
		for i, a := range batchArgs[1:] {
			if recycled(a) != (retry == "") {
				t.Errorf("a batch with a retry of %q: command %d recycled %v", retry, i+1, recycled(a))
			}
		}
		if recycled(batchArgs[0]) {
			t.Errorf("a batch with a retry of %q: its pinned command was recycled", retry)
		}
	}

	// Pinned: its caller's, whatever happens.
	pinned := c.B().Get().Key("k").Build().Pin()
	args = pinned.Commands()
	rueidisx.Hold(&pinned)
	// Other goroutines may send it at the same time, reading the field
	// MarkRetried would write (TestAttackRetrySharedPinnedCommand).
	rueidisx.MarkRetried(pinned)
	if rueidisx.Retried(&pinned) {
		t.Error("MarkRetried wrote a pinned command's field")
	}
	r = c.Do(ctx, pinned)
	rueidisx.Recycle(pinned, &r)
	if recycled(args) {
		t.Error("a pinned command was recycled")
	}
}
