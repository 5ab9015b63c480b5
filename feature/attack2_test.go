package feature_test

// An attacker's second look at "no caller and no server can end the
// process" (see faults_test.go for the harness: each scenario runs in
// child processes, so that a crash fails the test rather than ending the
// test binary). Each test below says what it found; all of it is fixed:
// a DedicatedClient's commands take turns from their check to their
// reply and fail once the connection is being given back
// (feature/dedicated.go), a cluster builder's panic on shard channels
// is an error (channels, feature/pubsub.go), and an empty command is
// refused at every entry point.

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/redistest"
)

// TestAttackDedicatedSubscribeRace: a DedicatedClient may be used by
// several goroutines (the part says so). One goroutine sends a long
// DoMulti of MGETs of keys that are just expiring; another subscribes
// the same connection to __keyevent@0__:expired (Do(SUBSCRIBE), or
// Receive) as soon as the batch is under way. The part refuses reads on
// a connection once it has seen a subscription, but it checks under its
// lock and sends after: the batch, checked first, is walked twice more
// by rueidis before it is queued, and the SUBSCRIBE, checked second, is
// queued (and so run by the server) first. The MGETs then run on a
// subscribed connection; Redis 7.0.15 and 6.2.16 write the expired event
// inside an MGET reply and rueidis's reader panics ("protocol bug,
// message handled out of order"): the process ends, in the first round.
// (Redis 7.2.6 and Valkey 8.0.1 do not interleave: the children live,
// though the "refused" reads ran on the subscribed connection all the
// same.)
func TestAttackDedicatedSubscribeRace(t *testing.T) {
	if s := os.Getenv(faultChild); s != "" {
		dedicatedSubscribeRaceScenario(t, s)
		return
	}
	t.Parallel()
	for _, s := range []string{"Do", "Receive"} {
		t.Run(s, func(t *testing.T) {
			inChildren(t, "TestAttackDedicatedSubscribeRace", s, faultRounds(t, 2))
		})
	}
}

func dedicatedSubscribeRaceScenario(t *testing.T, scenario string) {
	ctx := context.Background()
	srv := redistest.Start(t, "--notify-keyspace-events", "KEA")
	session, _ := sessionAndCache(t, srv)
	const channel = "__keyevent@0__:expired"
	const keys = 64
	mget := make([]string, keys)
	for i := range mget {
		mget[i] = "k" + strconv.Itoa(i)
	}
	// Keys that keep expiring: a writer sets them again and again with a
	// TTL of a millisecond or two.
	stop := make(chan struct{})
	var writer sync.WaitGroup
	writer.Add(1)
	go func() {
		defer writer.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			cmds := make(rueidis.Commands, 0, keys)
			for i := range keys {
				cmds = append(cmds, session.B().Set().Key(mget[i]).Value("v").Px(time.Duration(1+i%2)*time.Millisecond).Build())
			}
			for _, r := range session.DoMulti(ctx, cmds...) {
				if err := r.Error(); err != nil {
					t.Errorf("SET: %v", err)
					return
				}
			}
		}
	}()
	defer func() { close(stop); writer.Wait() }()

	var answered, refused, rounds atomic.Int64
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		rounds.Add(1)
		d, cancel := session.Dedicate()
		d.SetPubSubHooks(rueidis.PubSubHooks{OnMessage: func(rueidis.PubSubMessage) {}})
		// A long batch: the part checks it under its lock, and rueidis
		// walks it twice before it queues it; the SUBSCRIBE, checked
		// after, is queued first.
		batch := make(rueidis.Commands, 20000)
		for i := range batch {
			batch[i] = d.B().Mget().Key(mget[i%keys], mget[(i+1)%keys], mget[(i+2)%keys]).Build()
		}
		start := make(chan struct{})
		done := make(chan []rueidis.RedisResult, 1)
		go func() { close(start); done <- d.DoMulti(ctx, batch...) }()
		<-start
		rctx, stopReceive := context.WithCancel(ctx)
		received := make(chan error, 1)
		switch scenario {
		case "Do":
			if err := d.Do(ctx, d.B().Subscribe().Channel(channel).Build()).Error(); err != nil {
				t.Errorf("SUBSCRIBE: %v", err)
			}
			received <- nil
		case "Receive":
			go func() {
				received <- d.Receive(rctx, d.B().Subscribe().Channel(channel).Build(), func(rueidis.PubSubMessage) {})
			}()
		}
		for _, r := range <-done {
			err := r.Error()
			var ce *feature.CommandError
			switch {
			case errors.Is(err, feature.ErrRefused), errors.Is(err, feature.ErrNotSent):
				refused.Add(1)
			case err == nil, errors.As(err, &ce):
				answered.Add(1)
			default:
				t.Errorf("MGET: %v", err)
			}
		}
		stopReceive()
		if err := <-received; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Receive on the dedicated connection ended with %v", err)
		}
		cancel()
	}
	t.Logf("%d rounds, %d MGETs answered, %d refused", rounds.Load(), answered.Load(), refused.Load())
}

// TestAttackDedicatedClusterSlotRace: on a cluster, rueidis binds a
// dedicated connection to the slot of the first command it is handed,
// and panics in the sending goroutine ("cross slot command in Dedicated
// is prohibited") when a keyed command follows a keyless one. The part
// follows the slot at rewrite time, under its lock, and lets a keyless
// command (PING) through after a keyed one: right when one goroutine
// uses the connection. A DedicatedClient may be used by several: one
// goroutine's long DoMulti of GETs is checked first (the connection then
// "serves" their slot), PINGs of other goroutines are checked after and
// reach rueidis first (rueidis walks the batch for its slot before it
// binds): rueidis binds no slot, then panics on the GETs. The panic
// comes out of the part's DoMulti into a caller that did nothing wrong:
// the process ends (in the first round, Redis 7.0.15, RESP3, a plain
// part on a three-primary cluster).
func TestAttackDedicatedClusterSlotRace(t *testing.T) {
	if s := os.Getenv(faultChild); s != "" {
		dedicatedClusterSlotRaceScenario(t)
		return
	}
	t.Parallel()
	inChildren(t, "TestAttackDedicatedClusterSlotRace", "cluster slot race", faultRounds(t, 1))
}

func dedicatedClusterSlotRaceScenario(t *testing.T) {
	ctx := context.Background()
	c := redistest.StartCluster(t, 3, 0)
	reg, base := clusterParts(t, c)
	session, release, err := feature.ProvideSessionRedis(ctx, reg, base)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	must(t, session.Do(ctx, session.B().Set().Key("k").Value("v").Build()))
	var answered, refused int
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		d, cancel := session.Dedicate()
		batch := make(rueidis.Commands, 50000)
		for i := range batch {
			batch[i] = d.B().Get().Key("k").Build()
		}
		start := make(chan struct{})
		done := make(chan []rueidis.RedisResult, 1)
		go func() { close(start); done <- d.DoMulti(ctx, batch...) }()
		var pingers sync.WaitGroup
		var pingErrs atomic.Int64
		for range 3 {
			pingers.Add(1)
			go func() {
				defer pingers.Done()
				<-start
				for range 5 {
					if d.Do(ctx, d.B().Ping().Build()).Error() != nil {
						pingErrs.Add(1)
					}
				}
			}()
		}
		rs := <-done
		pingers.Wait()
		for _, r := range rs {
			if err := r.Error(); err == nil {
				answered++
			} else if errors.Is(err, feature.ErrBadArguments) || errors.Is(err, feature.ErrNotSent) {
				refused++
			} else {
				t.Errorf("GET: %v", err)
			}
		}
		if n := pingErrs.Load(); n != 0 {
			t.Errorf("%d PINGs failed", n)
		}
		cancel()
	}
	t.Logf("%d GETs answered, %d refused", answered, refused)
}

// TestAttackClusterShardChannelsOfTwoSlots: a plain part on a cluster
// gets SSUBSCRIBE (or SUNSUBSCRIBE) of two shard channels that hash to
// different slots once prefixed, built with a builder that does not check
// slots (a hash-tag part's B() on a cluster is one, as is any standalone
// client's). The part rebuilds the command with rueidis's cluster
// builder, which panics ("multi key command with different key slots are
// not allowed") in the caller's goroutine: the caller gets a panic, not
// an error, and the process ends unless it recovers. The same mix in an
// MGET gets a clean ErrBadArguments (its rebuild recovers the builder's
// panic). Found on Redis 7.0.15, RESP3, a three-primary cluster.
func TestAttackClusterShardChannelsOfTwoSlots(t *testing.T) {
	t.Parallel() // a cluster of its own
	ctx := context.Background()
	c := redistest.StartCluster(t, 3, 0)
	reg, base := clusterParts(t, c)
	session, release, err := feature.ProvideSessionRedis(ctx, reg, base)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	tagged, releaseTagged, err := feature.Part{Namespace: "ratelimit", HashTag: true}.Open(ctx, reg, base)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseTagged()
	nb := tagged.B() // does not check slots
	// "a" and "b" hash to different slots with the session's prefix.
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cases := map[string]func() error{
		"MGET (for comparison)": func() error {
			return session.Do(ctx, nb.Mget().Key("a", "b").Build()).Error()
		},
		"Receive(SSUBSCRIBE a b)": func() error {
			return session.Receive(rctx, nb.Ssubscribe().Channel("a", "b").Build(), func(rueidis.PubSubMessage) {})
		},
		"Do(SUNSUBSCRIBE a b)": func() error {
			return session.Do(ctx, nb.Sunsubscribe().Channel("a", "b").Build()).Error()
		},
		"Dedicate: Do(SSUBSCRIBE a b)": func() error {
			d, cancel := session.Dedicate()
			defer cancel()
			return d.Do(ctx, nb.Ssubscribe().Channel("a", "b").Build()).Error()
		},
		"Dedicate: Receive(SSUBSCRIBE a b)": func() error {
			d, cancel := session.Dedicate()
			defer cancel()
			return d.Receive(rctx, nb.Ssubscribe().Channel("a", "b").Build(), func(rueidis.PubSubMessage) {})
		},
	}
	for name, send := range cases {
		var err error
		if p := noPanic(func() { err = send() }); p != nil {
			t.Errorf("%s: %v, want an error", name, p)
			continue
		}
		if !errors.Is(err, feature.ErrBadArguments) {
			t.Errorf("%s: %v, want ErrBadArguments (its channels are of two slots)", name, err)
		}
	}
}

// TestAttackDedicatedMultiWhileGivenBack: one goroutine sends MULTI on a
// DedicatedClient while another gives the connection back (Dedicate's
// cancel; or Dedicated's fn returns while a goroutine it started still
// sends). The part's close sends DISCARD and UNWATCH, but a MULTI sent
// after them, before rueidis marks the client recycled, leaves the
// connection in MULTI; rueidis then cleans the connection with
// UNSUBSCRIBE, PUNSUBSCRIBE, SUNSUBSCRIBE, DISCARD, the server answers
// QUEUED to the UNSUBSCRIBE, and rueidis's reader panics
// ("SUBSCRIBE/UNSUBSCRIBE are not allowed in MULTI/EXEC block"): the
// process ends, in the first few rounds (Redis 7.0.15, RESP3). Every
// caller should get an answer or an error (ErrDedicatedClientRecycled).
func TestAttackDedicatedMultiWhileGivenBack(t *testing.T) {
	if s := os.Getenv(faultChild); s != "" {
		dedicatedMultiGivenBackScenario(t, s)
		return
	}
	t.Parallel()
	for _, s := range []string{"Dedicate", "Dedicated"} {
		t.Run(s, func(t *testing.T) {
			inChildren(t, "TestAttackDedicatedMultiWhileGivenBack", s, faultRounds(t, 2))
		})
	}
}

func dedicatedMultiGivenBackScenario(t *testing.T, scenario string) {
	ctx := context.Background()
	srv := redistest.Start(t)
	session, _ := sessionAndCache(t, srv)
	// sendMultis sends MULTI on d until the connection is given back,
	// and closes sent after the first.
	sendMultis := func(d rueidis.DedicatedClient, sent chan<- struct{}, done chan<- struct{}) {
		defer close(done)
		first := true
		for {
			err := d.Do(ctx, d.B().Multi().Build()).Error()
			if first {
				close(sent)
				first = false
			}
			if errors.Is(err, rueidis.ErrDedicatedClientRecycled) {
				return
			}
			var re *rueidis.RedisError
			if err != nil && !errors.As(err, &re) { // ERR MULTI calls can not be nested
				t.Errorf("MULTI: %v", err)
				return
			}
		}
	}
	rounds := 0
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		rounds++
		sent, done := make(chan struct{}), make(chan struct{})
		switch scenario {
		case "Dedicate":
			d, cancel := session.Dedicate()
			go sendMultis(d, sent, done)
			<-sent
			cancel()
		case "Dedicated":
			err := session.Dedicated(func(d rueidis.DedicatedClient) error {
				go sendMultis(d, sent, done)
				<-sent
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		<-done
		// The pool's connections still serve: a transaction apart.
		rs := session.DoMulti(ctx, session.B().Multi().Build(), session.B().Incr().Key("n").Build(), session.B().Exec().Build())
		for i, r := range rs {
			if err := r.Error(); err != nil {
				t.Fatalf("round %d, transaction reply %d: %v", rounds, i, err)
			}
		}
	}
	t.Logf("%d rounds", rounds)
}

// TestAttackZeroCommand: a zero rueidis.Completed (an element of a
// make(rueidis.Commands, n) left unfilled, say) given to any entry point
// panics in the caller's goroutine (a nil dereference) instead of getting
// an error: raw rueidis does the same, but the part promises bad input a
// clear error. Found on Redis 7.0.15, RESP3; nothing is sent.
func TestAttackZeroCommand(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	session, _ := sessionAndCache(t, srv)
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	zero := rueidis.Completed{}
	cases := map[string]func() error{
		"Do":      func() error { return session.Do(ctx, zero).Error() },
		"DoMulti": func() error { return session.DoMulti(ctx, session.B().Ping().Build(), zero)[1].Error() },
		"DoCache": func() error { return session.DoCache(ctx, rueidis.Cacheable(zero), time.Minute).Error() },
		"DoMultiCache": func() error {
			return session.DoMultiCache(ctx, rueidis.CT(rueidis.Cacheable(zero), time.Minute))[0].Error()
		},
		"DoStream":      func() error { s := session.DoStream(ctx, zero); return s.Error() },
		"DoMultiStream": func() error { s := session.DoMultiStream(ctx, zero); return s.Error() },
		"Receive": func() error {
			return session.Receive(rctx, zero, func(rueidis.PubSubMessage) {})
		},
		"Dedicate: Do": func() error {
			d, cancel := session.Dedicate()
			defer cancel()
			return d.Do(ctx, zero).Error()
		},
		"Dedicate: DoMulti": func() error {
			d, cancel := session.Dedicate()
			defer cancel()
			return d.DoMulti(ctx, zero)[0].Error()
		},
		"Dedicate: Receive": func() error {
			d, cancel := session.Dedicate()
			defer cancel()
			return d.Receive(rctx, zero, func(rueidis.PubSubMessage) {})
		},
	}
	for name, send := range cases {
		var err error
		if p := noPanic(func() { err = send() }); p != nil {
			t.Errorf("%s(zero command): %v, want an error", name, p)
			continue
		}
		if err == nil {
			t.Errorf("%s(zero command): no error", name)
		}
	}
	// The part still serves.
	if got := str(t, session.Do(ctx, session.B().Echo().Message("ok").Build())); got != "ok" {
		t.Errorf("ECHO = %q", got)
	}
}

// TestAttackReceiveWaitsPastItsContext: a part's Receive takes a
// connection of its own from rueidis's pool of dedicated connections
// (BlockingPoolSize, 1024 by default, shared with blocking commands,
// transactions and Dedicated), and rueidis's Dedicate() waits for one
// without a context. With the pool in use (here by 1024 Dedicate()
// holders; in a service, by long-lived Receives or Dedicated
// connections), a Receive and a transaction whose contexts end after
// 300 ms must return their context's error, not wait for as long as the
// holders keep their connections. Passes today (an attempt that found
// nothing; kept as a regression).
func TestAttackReceiveWaitsPastItsContext(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t, "--maxclients", "4000")
	session, _ := sessionAndCache(t, srv)
	held := make([]func(), 0, rueidis.DefaultPoolSize)
	defer func() {
		for _, give := range held {
			give()
		}
	}()
	for range rueidis.DefaultPoolSize {
		d, give := session.Dedicate()
		held = append(held, give)
		must(t, d.Do(ctx, d.B().Ping().Build())) // dialled
	}
	within := func(what string, f func(context.Context) error) {
		t.Helper()
		fctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- f(fctx) }()
		select {
		case err := <-done:
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s: %v, want its context's deadline", what, err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("%s: no answer 10 s after its context ended", what)
			held[0]() // let it go, so that its goroutine ends
			held = held[1:]
			t.Logf("%s, once a connection was given back: %v", what, <-done)
		}
	}
	within("DoMulti(MULTI, INCR, EXEC)", func(ctx context.Context) error {
		return session.DoMulti(ctx, session.B().Multi().Build(), session.B().Incr().Key("n").Build(), session.B().Exec().Build())[0].Error()
	})
	within("Receive", func(ctx context.Context) error {
		return session.Receive(ctx, session.B().Subscribe().Channel("ch").Build(), func(rueidis.PubSubMessage) {})
	})
}

// TestAttackDedicatedTransactionStateRace: the part follows a dedicated
// connection's transaction in the order it checks commands, and refuses a
// subscription inside MULTI (the server answers QUEUED, and rueidis's
// reader panics). With two goroutines on one DedicatedClient the order it
// checks is not the order rueidis sends: a long DoMulti ending in MULTI
// is checked first, an EXEC of another goroutine second (the part now
// thinks no transaction is open), and the EXEC is sent first (ERR EXEC
// without MULTI), the MULTI after. The server is in MULTI; the part lets
// the next SUBSCRIBE through, the server queues it, and rueidis's reader
// panics ("SUBSCRIBE/UNSUBSCRIBE are not allowed in MULTI/EXEC block"):
// the process ends. Found on Redis 7.0.15, RESP3.
func TestAttackDedicatedTransactionStateRace(t *testing.T) {
	if s := os.Getenv(faultChild); s != "" {
		dedicatedTransactionStateRaceScenario(t)
		return
	}
	t.Parallel()
	inChildren(t, "TestAttackDedicatedTransactionStateRace", "transaction state race", faultRounds(t, 2))
}

func dedicatedTransactionStateRaceScenario(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	session, _ := sessionAndCache(t, srv)
	rounds, raced := 0, 0
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		rounds++
		d, cancel := session.Dedicate()
		d.SetPubSubHooks(rueidis.PubSubHooks{OnMessage: func(rueidis.PubSubMessage) {}})
		batch := make(rueidis.Commands, 0, 20001)
		for range 20000 {
			batch = append(batch, d.B().Ping().Build())
		}
		batch = append(batch, d.B().Multi().Build())
		started := make(chan struct{})
		done := make(chan []rueidis.RedisResult, 1)
		go func() { close(started); done <- d.DoMulti(ctx, batch...) }()
		<-started
		execErr := d.Do(ctx, d.B().Exec().Build()).Error()
		for i, r := range <-done {
			var re *rueidis.RedisError
			if err := r.Error(); err != nil && !errors.As(err, &re) && !errors.Is(err, feature.ErrNotSent) {
				t.Errorf("batch reply %d: %v", i, err)
				break
			}
		}
		if execErr != nil {
			raced++ // ERR EXEC without MULTI: it went first
		}
		err := d.Do(ctx, d.B().Subscribe().Channel("ch").Build()).Error()
		var re *rueidis.RedisError
		if err != nil && !errors.Is(err, feature.ErrBadArguments) && !errors.Is(err, feature.ErrRefused) && !errors.As(err, &re) {
			t.Errorf("SUBSCRIBE: %v", err)
		}
		cancel()
	}
	t.Logf("%d rounds, %d EXECs sent before the MULTI", rounds, raced)
}

// TestAttackDedicatedLeftoverTransactionRESP2: as in
// TestAttackDedicatedMultiWhileGivenBack, a goroutine still sends on a
// DedicatedClient of the session part while the connection is given back,
// here MULTI and a GET of the part's secret. With REDIS_PROTOCOL=2,
// rueidis's clean-up (UNSUBSCRIBE ... DISCARD) is refused without being
// sent (RESP2 takes no Pub/Sub commands mixed with others), so the pooled
// connection goes back still in MULTI with the GET queued. The next user
// of the pool, another part's transaction (the cache part's MULTI, GET,
// EXEC), gets "MULTI calls can not be nested", and its EXEC runs the
// session's queued GET: the cache part's caller receives the session's
// secret in its EXEC reply (another caller's reply, across namespaces).
// Found on Redis 7.0.15, RESP2.
func TestAttackDedicatedLeftoverTransactionRESP2(t *testing.T) {
	if s := os.Getenv(faultChild); s != "" {
		leftoverTransactionScenario(t)
		return
	}
	t.Parallel()
	inChildren(t, "TestAttackDedicatedLeftoverTransactionRESP2", "leftover transaction", faultRounds(t, 1))
}

func leftoverTransactionScenario(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	reg, base := parts(t, "REDIS_URL="+srv.URL(), "REDIS_PROTOCOL=2")
	s, releaseS, err := feature.ProvideSessionRedis(ctx, reg, base)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseS()
	c, releaseC, err := feature.ProvideCacheRedis(ctx, reg, base)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseC()
	session, cache := s.Client, c.Client
	const secret = "s3cret-of-the-session"
	must(t, session.Do(ctx, session.B().Set().Key("secret").Value(secret).Build()))
	rounds, broken, leaked := 0, 0, 0
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) && leaked == 0 {
		rounds++
		d, cancel := session.Dedicate()
		sent, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			first := true
			for {
				err := d.Do(ctx, d.B().Multi().Build()).Error()
				_ = d.Do(ctx, d.B().Get().Key("secret").Build()).Error()
				if first {
					close(sent)
					first = false
				}
				if errors.Is(err, rueidis.ErrDedicatedClientRecycled) {
					return
				}
			}
		}()
		<-sent
		cancel()
		<-done
		rs := cache.DoMulti(ctx, cache.B().Multi().Build(), cache.B().Get().Key("x").Build(), cache.B().Exec().Build())
		if rs[0].Error() != nil {
			broken++
		}
		for i, r := range rs {
			if vs, err := r.ToArray(); err == nil {
				for _, v := range vs {
					if s, _ := v.ToString(); strings.Contains(s, secret) {
						t.Errorf("round %d: the cache part's transaction, reply %d, carries the session's secret", rounds, i)
						leaked++
					}
				}
			}
		}
	}
	if broken != 0 {
		t.Errorf("%d of %d transactions of the cache part met a MULTI another caller left open", broken, rounds)
	}
}
