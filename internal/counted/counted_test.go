package counted_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/counted"
	"github.com/wireredis/wireredis/internal/testsupport"
	"github.com/wireredis/wireredis/redistest"
)

func TestMain(m *testing.M) { testsupport.VerifyTestMain(m) }

func TestCounts(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	var n counted.Counters
	c := counted.New(srv.NewClient(t, nil), &n, false)
	c.Do(ctx, c.B().Set().Key("s").Value("x").Build())
	c.Do(ctx, c.B().Incr().Key("s").Build()) // an error: not an integer
	c.Do(ctx, c.B().Get().Key("missing").Build())
	c.DoMulti(ctx, c.B().Get().Key("s").Build(), c.B().Incr().Key("s").Build())
	c.DoCache(ctx, c.B().Get().Key("s").Cache(), time.Minute)
	c.DoMultiCache(ctx, rueidis.CT(c.B().Strlen().Key("s").Cache(), time.Minute))
	if n.Sent() != 7 || n.Failed() != 2 || n.InFlight() != 0 {
		t.Errorf("Sent %d, Failed %d, InFlight %d; want 7, 2 (a nil reply is no error), 0", n.Sent(), n.Failed(), n.InFlight())
	}
	for addr, node := range c.Nodes() {
		node.Do(ctx, node.B().Ping().Build())
		if n.Sent() != 8 {
			t.Errorf("a command through node %s: Sent %d, want 8", addr, n.Sent())
		}
	}
	c.Close() // the owner closes the connection, not its users
	if err := c.Do(ctx, c.B().Ping().Build()).Error(); err != nil {
		t.Errorf("after Close: %v, want the connection still open", err)
	}
}

// TestDrain: Drain waits for the command in flight, refuses the ones that
// come after it, and does not count them as sent.
func TestDrain(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	var n counted.Counters
	c := counted.New(srv.NewClient(t, nil), &n, false)
	blocked := make(chan error, 1)
	go func() {
		blocked <- c.Do(ctx, c.B().Blpop().Key("empty").Timeout(0.3).Build()).Error()
	}()
	testsupport.WaitFor(t, 5*time.Second, "the BLPOP to be in flight", func() bool { return n.InFlight() > 0 })
	if !n.Drain(5 * time.Second) {
		t.Fatal("Drain gave up with the BLPOP still in flight")
	}
	select {
	case err := <-blocked:
		if !rueidis.IsRedisNil(err) {
			t.Errorf("the BLPOP in flight: %v, want its nil reply", err)
		}
	default:
		t.Fatal("Drain returned before the command in flight had finished")
	}
	for _, err := range []error{
		c.Do(ctx, c.B().Ping().Build()).Error(),
		c.DoMulti(ctx, c.B().Ping().Build())[0].Error(),
		c.DoCache(ctx, c.B().Get().Key("s").Cache(), time.Minute).Error(),
		c.DoMultiCache(ctx, rueidis.CT(c.B().Get().Key("s").Cache(), time.Minute))[0].Error(),
	} {
		if !errors.Is(err, counted.ErrReleased) || !errors.Is(err, rueidis.ErrClosing) {
			t.Errorf("a command after Drain: %v, want ErrReleased (a rueidis.ErrClosing)", err)
		}
	}
	if n.Sent() != 1 || n.InFlight() != 0 {
		t.Errorf("Sent %d, InFlight %d; want 1, 0", n.Sent(), n.InFlight())
	}
}

func TestDrainTimesOut(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	var n counted.Counters
	c := counted.New(srv.NewClient(t, nil), &n, false)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Do(ctx, c.B().Blpop().Key("empty").Timeout(1).Build())
	}()
	testsupport.WaitFor(t, 5*time.Second, "the BLPOP to be in flight", func() bool { return n.InFlight() > 0 })
	if n.Drain(50 * time.Millisecond) {
		t.Error("Drain reported nothing in flight while a BLPOP was")
	}
	<-done
}
