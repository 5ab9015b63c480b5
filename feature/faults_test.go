package feature_test

// The three situations of issue 20 that ended the whole process (a panic
// in a rueidis goroutine, which nobody can recover), each run in child
// processes so that a crash fails the test instead of ending the test
// binary. WIREREDIS_FAULT_ROUNDS sets the rounds (one child each); make
// test runs a few, make chaos fifty.

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/internal/testsupport"
	"github.com/wireredis/wireredis/redistest"
)

// faultChild names the scenario a child process runs.
const faultChild = "WIREREDIS_FAULT_CHILD"

// faultRounds is how many children a reproduction starts: each must end
// cleanly.
func faultRounds(t *testing.T, inSuite int) int {
	t.Helper()
	if v := os.Getenv("WIREREDIS_FAULT_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("WIREREDIS_FAULT_ROUNDS=%q: want a positive number", v)
		}
		return n
	}
	return inSuite
}

// inChildren runs test's scenario in rounds child processes and fails
// for each that does not end cleanly, quoting its panic. It logs how
// many exited.
func inChildren(t *testing.T, test, scenario string, rounds int) {
	t.Helper()
	skipOnOutsideServer(t)
	exits := 0
	for round := range rounds {
		out, err := runChild(test, scenario)
		if err != nil {
			exits++
			t.Errorf("%s, round %d of %d: the process ended with %v:\n%s", scenario, round+1, rounds, err, panicText(out))
		}
	}
	t.Logf("%s: %d rounds, %d exits", scenario, rounds, exits)
}

// skipOnOutsideServer skips a test whose children kill, pause or restart
// servers they start: with REDIS_TEST_ADDR they would skip, and a child
// that skips must not count as a pass.
func skipOnOutsideServer(t *testing.T) {
	t.Helper()
	if os.Getenv("REDIS_TEST_ADDR") != "" {
		t.Skip("starts its own servers to kill, pause and restart; unset REDIS_TEST_ADDR to run it")
	}
}

func runChild(test, scenario string, env ...string) (string, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1", "-test.v")
	cmd.Env = append(append(os.Environ(), faultChild+"="+scenario), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// panicText is the part of a child's output that tells why it ended.
func panicText(out string) string {
	if i := strings.Index(out, "panic:"); i >= 0 {
		return out[i:min(len(out), i+1200)]
	}
	if i := strings.Index(out, "WARNING: DATA RACE"); i >= 0 { // whose race
		return out[i:min(len(out), i+3000)] + "\n...\n" + out[max(0, len(out)-600):]
	}
	return out[max(0, len(out)-1500):]
}

// killEvery runs CLIENT KILL TYPE normal on srv every period until stop
// is closed, and returns how many kills ran. The harness's own client
// skips itself (SKIPME yes is the default).
func killEvery(srv *redistest.Server, period time.Duration, stop <-chan struct{}) func() int {
	var kills atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if srv.Client.Do(context.Background(), srv.Client.B().ClientKill().TypeNormal().Build()).Error() == nil {
					kills.Add(1)
				}
			}
		}
	}()
	return func() int { <-done; return int(kills.Load()) }
}

// counterCaller is one goroutine's INCRs of its own key: every reply it
// gets must be greater than the last (another caller's value, or a
// repeated one, would not be), and the server's final value must lie
// between the acknowledged INCRs and those plus the ones whose outcome is
// unknown (an error: sent or not).
type counterCaller struct {
	key              string
	last             int64
	acked, unknown   int64
	misrouted, regre int64
}

func (c *counterCaller) record(r rueidis.RedisResult) {
	n, err := r.AsInt64()
	if err != nil {
		c.unknown++
		return
	}
	c.acked++
	if n <= c.last {
		c.regre++
	}
	if n > c.last+1+c.unknown {
		// More than the unknown ones could explain: not our key's count.
		c.misrouted++
	}
	c.last = n
}

// TestFaultBatchKilledConnection (issue 20, crash 1): 128 goroutines INCR
// through one batching part while CLIENT KILL TYPE normal runs every 40
// ms. rueidis's writer goroutine still read a batch's command slice after
// DoMulti returned on the broken connection; the batcher cleared and
// pooled that slice, so the writer met a zero command and dereferenced
// nil (the process ended in about one run of five).
func TestFaultBatchKilledConnection(t *testing.T) {
	if os.Getenv(faultChild) != "" {
		batchKilledScenario(t, 4*time.Second)
		return
	}
	t.Parallel() // its rounds run in child processes with servers of their own
	inChildren(t, "TestFaultBatchKilledConnection", "batch and kills", faultRounds(t, 2))
}

func batchKilledScenario(t *testing.T, length time.Duration) {
	srv := redistest.Start(t)
	reg, base := parts(t, "REDIS_URL="+srv.URL(), "REDIS_BATCH=adaptive")
	session, release, err := feature.ProvideSessionRedis(context.Background(), reg, base)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	stop := make(chan struct{})
	kills := killEvery(srv, 40*time.Millisecond, stop)
	callers := make([]*counterCaller, 128)
	var wg sync.WaitGroup
	deadline := time.Now().Add(length)
	for i := range callers {
		c := &counterCaller{key: "n" + strconv.Itoa(i)}
		callers[i] = c
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				c.record(session.Do(ctx, session.B().Incr().Key(c.key).Build()))
				cancel()
			}
		}()
	}
	wg.Wait()
	close(stop)
	n := kills()
	var acked, bad int64
	for _, c := range callers {
		acked += c.acked
		bad += c.misrouted + c.regre
		got, err := srv.Client.Do(context.Background(), srv.Client.B().Get().Key("session:"+c.key).Build()).AsInt64()
		if err != nil && !rueidis.IsRedisNil(err) {
			t.Fatalf("GET %s: %v", c.key, err)
		}
		if got < c.acked || got > c.acked+c.unknown {
			t.Errorf("%s: the server holds %d, the caller had %d acknowledged and %d unknown", c.key, got, c.acked, c.unknown)
		}
	}
	if bad != 0 {
		t.Errorf("%d replies out of order or not the caller's own", bad)
	}
	if n == 0 || acked == 0 {
		t.Errorf("the scenario did not run: %d kills, %d acknowledged", n, acked)
	}
	t.Logf("%d kills, %d acknowledged INCRs", n, acked)
}

// TestFaultKeyspaceNotificationsRESP3 (issue 20, crash 2): a part
// Receives __keyevent@0__:expired while parts read keys that are just
// expiring, with DoCache (rueidis wraps it in MULTI/PTTL/GET/EXEC), MGET
// and XREADGROUP creating streams. Redis 7.0 writes the notification
// inside the reply; when the subscription shared the pipelined
// connection, rueidis's reader panicked ("protocol bug, message handled
// out of order").
func TestFaultKeyspaceNotificationsRESP3(t *testing.T) {
	if s := os.Getenv(faultChild); s != "" {
		notificationScenario(t, s)
		return
	}
	t.Parallel() // its rounds run in child processes with servers of their own
	for _, s := range []string{"DoCache", "MGET", "XREADGROUP"} {
		t.Run(s, func(t *testing.T) {
			inChildren(t, "TestFaultKeyspaceNotificationsRESP3", s, faultRounds(t, 2))
		})
	}
}

func notificationScenario(t *testing.T, scenario string) {
	ctx := context.Background()
	srv := redistest.Start(t, "--notify-keyspace-events", "KEA")
	session, cache := sessionAndCache(t, srv)
	expired := make(chan string, 4096)
	rctx, stopReceive := context.WithCancel(ctx)
	received := make(chan error, 1)
	go func() {
		received <- session.Receive(rctx, session.B().Subscribe().Channel("__keyevent@0__:expired").Build(), func(m rueidis.PubSubMessage) {
			select {
			case expired <- m.Message:
			default:
			}
		})
	}()
	defer func() {
		stopReceive()
		if err := <-received; !errors.Is(err, context.Canceled) {
			t.Errorf("Receive ended with %v", err)
		}
	}()
	testsupport.WaitFor(t, 5*time.Second, "the keyevent subscription", func() bool {
		n, err := srv.Client.Do(ctx, srv.Client.B().PubsubNumsub().Channel("__keyevent@0__:expired").Build()).AsIntMap()
		return err == nil && n["__keyevent@0__:expired"] == 1
	})
	const keys = 200
	for _, p := range []*feature.Client{session, cache} {
		for i := range keys {
			k := "k" + strconv.Itoa(i)
			must(t, p.Do(ctx, p.B().Set().Key(k).Value("v").Px(time.Duration(1+i%20)*time.Millisecond).Build()))
		}
	}
	if scenario == "XREADGROUP" {
		for _, p := range []*feature.Client{session, cache} {
			for i := range 20 {
				s := "s" + strconv.Itoa(i)
				must(t, p.Do(ctx, p.B().XgroupCreate().Key(s).Group("g").Id("$").Mkstream().Build()))
				must(t, p.Do(ctx, p.B().Xadd().Key(s).Id("*").FieldValue().FieldValue("f", "v").Build()))
				must(t, p.Do(ctx, p.B().Pexpire().Key(s).Milliseconds(int64(1+i)).Build()))
			}
		}
	}
	deadline := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(deadline) {
		for _, p := range []*feature.Client{session, cache} {
			switch scenario {
			case "DoCache":
				for i := range keys {
					r := p.DoCache(ctx, p.B().Get().Key("k"+strconv.Itoa(i)).Cache(), time.Minute)
					if err := r.Error(); err != nil && !rueidis.IsRedisNil(err) {
						t.Fatalf("DoCache GET: %v", err)
					}
				}
			case "MGET":
				for i := 0; i+1 < keys; i += 2 {
					r := p.Do(ctx, p.B().Mget().Key("k"+strconv.Itoa(i), "k"+strconv.Itoa(i+1)).Build())
					if err := r.Error(); err != nil {
						t.Fatalf("MGET: %v", err)
					}
				}
			case "XREADGROUP":
				for i := range 20 {
					s := "s" + strconv.Itoa(i)
					r := p.Do(ctx, p.B().Xreadgroup().Group("g", "c").Count(1).Streams().Key(s, "x"+s).Id(">", ">").Build())
					if err := r.Error(); err != nil && !rueidis.IsRedisNil(err) && !strings.Contains(err.Error(), "NOGROUP") {
						t.Fatalf("XREADGROUP: %v", err)
					}
				}
			}
		}
		// New keys to expire while the next pass reads them.
		for _, p := range []*feature.Client{session, cache} {
			cmds := make(rueidis.Commands, 0, keys)
			for i := range keys {
				cmds = append(cmds, p.B().Set().Key("k"+strconv.Itoa(i)).Value("v").Px(time.Duration(1+i%20)*time.Millisecond).Build())
			}
			for _, r := range p.DoMulti(ctx, cmds...) {
				must(t, r)
			}
			if scenario == "XREADGROUP" {
				for i := range 20 {
					s := "s" + strconv.Itoa(i)
					_ = p.Do(ctx, p.B().XgroupCreate().Key(s).Group("g").Id("$").Mkstream().Build()).Error()
					must(t, p.Do(ctx, p.B().Pexpire().Key(s).Milliseconds(int64(1+i)).Build()))
				}
			}
		}
	}
	if len(expired) == 0 {
		t.Errorf("no expired event reached the Receive: the scenario did not run")
	}
	for len(expired) > 0 {
		if k := <-expired; !strings.HasPrefix(k, "k") && !strings.HasPrefix(k, "s") {
			t.Errorf("expired event for %q: not a key of the session part", k)
		}
	}
}

// TestFaultDedicatedSubscribedTransaction (issue 20, crash 3): a
// dedicated connection SUBSCRIBEs, then runs MULTI, PUBLISH to its own
// channel, EXEC. Redis 7.0 writes the message inside the EXEC reply, and
// rueidis's reader panicked. The caller must get an answer or an error.
func TestFaultDedicatedSubscribedTransaction(t *testing.T) {
	if s := os.Getenv(faultChild); s != "" {
		dedicatedTransactionScenario(t, s)
		return
	}
	t.Parallel() // its rounds run in child processes with servers of their own
	for _, s := range []string{"Dedicated", "Dedicate", "Dedicated with Receive"} {
		t.Run(s, func(t *testing.T) {
			inChildren(t, "TestFaultDedicatedSubscribedTransaction", s, faultRounds(t, 2))
		})
	}
}

func dedicatedTransactionScenario(t *testing.T, scenario string) {
	ctx := context.Background()
	srv := redistest.Start(t, "--notify-keyspace-events", "KEA")
	session, _ := sessionAndCache(t, srv)
	run := func(d rueidis.DedicatedClient) {
		if scenario == "Dedicated with Receive" {
			d.SetPubSubHooks(rueidis.PubSubHooks{OnMessage: func(rueidis.PubSubMessage) {}})
		}
		if err := d.Do(ctx, d.B().Subscribe().Channel("ch").Build()).Error(); err != nil {
			t.Fatalf("SUBSCRIBE: %v", err)
		}
		for i := range 20 {
			rs := d.DoMulti(ctx, d.B().Multi().Build(), d.B().Publish().Channel("ch").Message(strconv.Itoa(i)).Build(), d.B().Exec().Build())
			for j, r := range rs {
				err := r.Error()
				var ce *feature.CommandError
				if err != nil && !errors.As(err, &ce) && !errors.Is(err, feature.ErrNotSent) {
					t.Errorf("transaction %d, reply %d: %v, want an answer or a *CommandError", i, j, err)
				}
			}
			// The connection still answers.
			if err := d.Do(ctx, d.B().Ping().Build()).Error(); err != nil {
				t.Errorf("PING after the transaction: %v", err)
			}
		}
	}
	switch scenario {
	case "Dedicate":
		d, cancel := session.Dedicate()
		run(d)
		cancel()
	default:
		if err := session.Dedicated(func(d rueidis.DedicatedClient) error { run(d); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	// The shared connection is unharmed.
	if got := str(t, session.Do(ctx, session.B().Echo().Message("ok").Build())); got != "ok" {
		t.Errorf("ECHO = %q", got)
	}
}

// TestFaultSubscribedConnectionReads: a connection that holds a
// subscription to keyspace events, then reads keys that are just
// expiring. Redis 7.0 writes the event inside the MGET reply and
// rueidis's reader panics, ending the process: found after issue 20 for
// a SUBSCRIBE sent with Do through the part (on the connection the parts
// share) and for MGET on a Dedicated connection that subscribed. The
// first is refused (Receive is the way), the second's reads are refused;
// every caller gets an answer or an error, and the process lives.
func TestFaultSubscribedConnectionReads(t *testing.T) {
	if s := os.Getenv(faultChild); s != "" {
		subscribedReadsScenario(t, s)
		return
	}
	t.Parallel() // its rounds run in child processes with servers of their own
	for _, s := range []string{"Do", "DoMulti", "Dedicated"} {
		t.Run(s, func(t *testing.T) {
			inChildren(t, "TestFaultSubscribedConnectionReads", s, faultRounds(t, 2))
		})
	}
}

func subscribedReadsScenario(t *testing.T, scenario string) {
	ctx := context.Background()
	srv := redistest.Start(t, "--notify-keyspace-events", "KEA")
	session, cache := sessionAndCache(t, srv)
	const channel = "__keyevent@0__:expired"
	refused := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, feature.ErrRefused) {
			t.Errorf("%s: %v, want ErrRefused", what, err) // and on, to the reads
		}
	}
	var subscribed rueidis.DedicatedClient // the Dedicated scenario's
	switch scenario {
	case "Do":
		refused("Do(SUBSCRIBE)", session.Do(ctx, session.B().Subscribe().Channel(channel).Build()).Error())
		refused("Do(PSUBSCRIBE)", session.Do(ctx, session.B().Psubscribe().Pattern("__key*").Build()).Error())
	case "DoMulti":
		for _, r := range session.DoMulti(ctx, session.B().Ping().Build(), session.B().Subscribe().Channel(channel).Build()) {
			var ce *feature.CommandError
			if err := r.Error(); !errors.As(err, &ce) && !errors.Is(err, feature.ErrNotSent) {
				t.Errorf("DoMulti(PING, SUBSCRIBE): %v, want the batch refused", err)
			}
		}
	case "Dedicated":
		d, cancel := session.Dedicate()
		defer cancel()
		subscribed = d
		d.SetPubSubHooks(rueidis.PubSubHooks{OnMessage: func(rueidis.PubSubMessage) {}})
		must(t, d.Do(ctx, d.B().Subscribe().Channel(channel).Build()))
		refused("MGET on the subscribed connection", d.Do(ctx, d.B().Mget().Key("k0", "k1").Build()).Error())
		if err := d.Do(ctx, d.B().Ping().Build()).Error(); err != nil {
			t.Errorf("PING on the subscribed connection: %v", err)
		}
	}
	if scenario != "Dedicated" {
		// By the server's word: nothing of the part subscribed.
		n, err := srv.Client.Do(ctx, srv.Client.B().PubsubNumsub().Channel(channel).Build()).AsIntMap()
		if err != nil || n[channel] != 0 {
			t.Errorf("PUBSUB NUMSUB %s = %v (%v): the refused SUBSCRIBE reached the server", channel, n, err)
		}
	}
	const keys = 200
	deadline := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(deadline) {
		for _, p := range []*feature.Client{session, cache} {
			cmds := make(rueidis.Commands, 0, keys)
			for i := range keys {
				cmds = append(cmds, p.B().Set().Key("k"+strconv.Itoa(i)).Value("v").Px(time.Duration(1+i%20)*time.Millisecond).Build())
			}
			for _, r := range p.DoMulti(ctx, cmds...) {
				must(t, r)
			}
			for i := 0; i+1 < keys; i += 2 {
				if err := p.Do(ctx, p.B().Mget().Key("k"+strconv.Itoa(i), "k"+strconv.Itoa(i+1)).Build()).Error(); err != nil {
					t.Fatalf("MGET: %v", err)
				}
				if subscribed != nil {
					refused("MGET on the subscribed connection", subscribed.Do(ctx, subscribed.B().Mget().Key("k"+strconv.Itoa(i), "k"+strconv.Itoa(i+1)).Build()).Error())
				}
			}
		}
	}
}

// TestReceiveApartResubscribes: with RESP3 a part's Receive runs on a
// connection of its own (issue 20, crash 2): the server shows one
// subscribed connection beside the one the parts' commands go to. When it
// is killed, the part subscribes again on a new one, as rueidis does for
// a Receive on the shared client, and the Receive goes on.
func TestReceiveApartResubscribes(t *testing.T) {
	srv := redistest.Start(t)
	session, _ := sessionAndCache(t, srv)
	msgs, stop := receive(t, session, session.B().Subscribe().Channel("news").Build())
	defer stop()
	publishUntilHeard(t, msgs, publish(session, "news", "before"))
	for range 20 {
		must(t, session.Do(context.Background(), session.B().Echo().Message("x").Build()))
	}
	list, err := srv.Client.Do(context.Background(), srv.Client.B().ClientList().Build()).ToString()
	if err != nil {
		t.Fatal(err)
	}
	subs, total := 0, 0
	for _, line := range strings.Split(strings.TrimSpace(list), "\n") {
		if strings.Contains(line, " name="+redistest.ClientName+" ") {
			continue
		}
		total++
		if strings.Contains(line, " sub=1 ") {
			subs++
			if !strings.Contains(line, " cmd=subscribe ") {
				t.Errorf("the subscribed connection carries the part's commands: %s", line)
			}
		}
	}
	if subs != 1 || total < 2 {
		t.Errorf("%d subscribed connections of %d, want 1 beside the shared pipeline:\n%s", subs, total, list)
	}
	for i := range 3 {
		kill := srv.Client.B().ClientKill().TypePubsub().Build()
		if n, err := srv.Client.Do(context.Background(), kill).AsInt64(); err != nil || n != 1 {
			t.Fatalf("CLIENT KILL TYPE pubsub = %d, %v; want the one subscribed connection", n, err)
		}
		want := "after kill " + strconv.Itoa(i)
		for {
			m := publishUntilHeard(t, msgs, publish(session, "news", want))
			if m.Message == want {
				break
			}
		}
	}
}
