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
	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/redistest"
)

// The promises of isolation that the effect oracle (effect_test.go) does
// not reach by sending commands: namespaces, registration, transactions
// across calls, notifications, the administrative client.

func TestNamespacesThatCannotBeConfused(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	other := redistest.Start(t)
	reg, base := parts(t, "REDIS_URL="+srv.URL(), "REDIS_ADMIN_DB=1", "REDIS_OTHER_URL="+other.URL())
	open := func(p feature.Part) (*feature.Client, func(), error) { return p.Open(ctx, reg, base) }

	for _, ns := range []string{"", "t*", "a?", "a[b]", `a\b`, "{session}", "ses}sion", "a b", "a\tb", "a\x00b", "\xff"} {
		_, _, err := open(feature.Part{Namespace: ns})
		if !errors.Is(err, feature.ErrNamespace) || !strings.Contains(err.Error(), fmt.Sprintf("%q", ns)) {
			t.Errorf("namespace %q: %v, want ErrNamespace naming it", ns, err)
		}
		func() {
			defer func() {
				if r := recover(); r == nil {
					t.Errorf("feature.New accepted the namespace %q", ns)
				}
			}()
			feature.New(srv.Client, ns)
		}()
	}

	session, releaseSession, err := open(feature.Part{Namespace: "session"})
	if err != nil {
		t.Fatal(err)
	}
	must(t, session.Do(ctx, session.B().Set().Key("admin:token").Value("s3cret").Build()))
	// Opened again, by another module of the service: the same tenant.
	again, releaseAgain, err := open(feature.Part{Namespace: "session"})
	if err != nil {
		t.Fatalf("the same part opened twice: %v", err)
	}
	// A hash-tag part of the same name has the prefix {session}:, which
	// neither starts nor is started by session:.
	tagged, releaseTagged, err := open(feature.Part{Namespace: "session", HashTag: true})
	if err != nil {
		t.Fatalf("a hash-tag part beside a plain one: %v", err)
	}
	_, _ = again, tagged

	// session:admin would read session's session:admin:token, and the
	// reverse; on another database of the server, their channels still
	// overlap.
	for _, p := range []feature.Part{
		{Namespace: "session:admin"},
		{Namespace: "session:admin", Overrides: []func(*provider.Options){func(o *provider.Options) { o.DB = 1 }}},
	} {
		c, release, err := open(p)
		var overlap *feature.OverlapError
		if !errors.As(err, &overlap) || !errors.Is(err, feature.ErrOverlap) {
			if release != nil {
				release()
			}
			t.Errorf("%s: %v, want an *feature.OverlapError", p.Namespace, err)
			continue
		}
		if c != nil || !strings.Contains(err.Error(), `"session"`) || !strings.Contains(err.Error(), fmt.Sprintf("%q", p.Namespace)) {
			t.Errorf("%s: the error %q should name both parts", p.Namespace, err)
		}
	}
	if got := str(t, srv.Client.Do(ctx, srv.Client.B().Get().Key("session:admin:token").Build())); got != "s3cret" {
		t.Errorf("session:admin:token = %q", got)
	}
	// On another server, the prefixes do not meet.
	if _, release, err := open(feature.Part{Namespace: "session:admin", URLVar: "REDIS_OTHER_URL"}); err != nil {
		t.Errorf("session:admin on another server: %v", err)
	} else {
		release()
	}
	// Once every reference of session is released, session:admin may open.
	releaseSession()
	if _, release, err := open(feature.Part{Namespace: "session:admin"}); err == nil {
		release()
		t.Error("session:admin opened while session is still held (by its second reference)")
	}
	releaseAgain()
	releaseTagged()
	if _, release, err := open(feature.Part{Namespace: "session:admin"}); err != nil {
		t.Errorf("session:admin after session was released: %v", err)
	} else {
		release()
	}
}

func TestRegistrationCannotLie(t *testing.T) {
	for _, name := range []string{"XINFO", "object", "CLIENT", "XINFO STREAM", "GET", "GET X", "A B C"} {
		if err := feature.RegisterCommand(name, feature.CommandSpec{Keyless: true}); !errors.Is(err, feature.ErrRegister) {
			t.Errorf("RegisterCommand(%q, Keyless): %v, want ErrRegister", name, err)
		}
	}

	ctx := context.Background()
	srv := redistest.Start(t)
	s := feature.New(srv.NewClient(t, nil), "session")
	must(t, srv.Client.Do(ctx, srv.Client.B().Xadd().Key("stream").Id("*").FieldValue().FieldValue("f", "victim-secret").Build()))
	must(t, srv.Client.Do(ctx, srv.Client.B().Rpush().Key("list").Element("victim-secret").Build()))
	// Unknown subcommands first: they must teach the part nothing.
	for _, args := range [][]string{{"XINFO", "NOSUCH"}, {"OBJECT", "NOSUCH"}, {"CLIENT", "NOSUCH"}} {
		if err := s.Do(ctx, s.B().Arbitrary(args...).Build()).Error(); !errors.Is(err, feature.ErrUnknownCommand) {
			t.Errorf("%q: %v, want ErrUnknownCommand", args, err)
		}
	}
	reply, err := s.Do(ctx, s.B().Arbitrary("XINFO", "STREAM").Keys("stream").Args("FULL").Build()).ToMessage()
	if err == nil || strings.Contains(reply.String(), "victim-secret") {
		t.Errorf("XINFO STREAM stream FULL read the victim: %v %v", reply.String(), err)
	}
	enc, err := s.Do(ctx, s.B().ObjectEncoding().Key("list").Build()).ToMessage()
	if err == nil && !enc.IsNil() {
		t.Errorf("OBJECT ENCODING list read the victim's encoding: %v", enc.String())
	}
	if err := s.Do(ctx, s.B().ClientReply().Off().Build()).Error(); !errors.Is(err, feature.ErrRefused) {
		t.Errorf("CLIENT REPLY OFF: %v, want ErrRefused", err)
	}
	if got := str(t, s.Do(ctx, s.B().Ping().Build())); got != "PONG" {
		t.Errorf("PING after the attempts = %q", got)
	}
}

func TestReceiveTakesOnlySubscriptions(t *testing.T) {
	srv := redistest.Start(t)
	s := feature.New(srv.NewClient(t, nil), "session")
	ctx := context.Background()
	for _, cmd := range []rueidis.Completed{s.B().Get().Key("k").Build(), s.B().Unsubscribe().Channel("c").Build(), s.B().Ping().Build()} {
		if err := s.Receive(ctx, cmd, func(rueidis.PubSubMessage) {}); !errors.Is(err, feature.ErrBadArguments) {
			t.Errorf("Receive(%q): %v, want ErrBadArguments", cmd.Commands(), err)
		}
	}
	err := s.Dedicated(func(d rueidis.DedicatedClient) error {
		return d.Receive(ctx, d.B().Get().Key("k").Build(), func(rueidis.PubSubMessage) {})
	})
	if !errors.Is(err, feature.ErrBadArguments) {
		t.Errorf("dedicated Receive(GET): %v, want ErrBadArguments", err)
	}
}

func TestTransactionsOnTheSharedConnection(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	session, cache := sessionAndCache(t, srv)
	s, b := session, session.B()
	// The other part's commands on the shared connection must get their
	// own replies after each attempt.
	cacheWrites := func(when string) {
		t.Helper()
		if got := str(t, cache.Do(ctx, cache.B().Set().Key("k").Value(when).Build())); got != "OK" {
			t.Errorf("after %s, cache's SET got %q", when, got)
		}
		if got := str(t, srv.Client.Do(ctx, srv.Client.B().Get().Key("cache:k").Build())); got != when {
			t.Errorf("after %s, cache:k = %q", when, got)
		}
	}

	for _, cmd := range []rueidis.Completed{b.Multi().Build(), b.Exec().Build(), b.Discard().Build(), b.Watch().Key("a").Build(), b.Unwatch().Build()} {
		name := cmd.Commands()[0]
		err := s.Do(ctx, cmd).Error()
		if !errors.Is(err, feature.ErrRefused) || !strings.Contains(err.Error(), "DoMulti") || !strings.Contains(err.Error(), "Dedicated") {
			t.Errorf("%s alone: %v, want ErrRefused pointing to DoMulti and Dedicated", name, err)
		}
		cacheWrites(name + " alone")
	}
	for name, batch := range map[string]rueidis.Commands{
		"MULTI left open":        {b.Multi().Build(), b.Set().Key("a").Value("1").Build()},
		"WATCH left":             {b.Watch().Key("a").Build(), b.Get().Key("a").Build()},
		"EXEC without MULTI":     {b.Set().Key("a").Value("1").Build(), b.Exec().Build()},
		"SUBSCRIBE inside MULTI": {b.Multi().Build(), b.Subscribe().Channel("c").Build(), b.Exec().Build()},
	} {
		res := s.DoMulti(ctx, batch...)
		refused, notSent := 0, 0
		for _, r := range res {
			switch err := r.Error(); {
			case errors.Is(err, feature.ErrNotSent):
				notSent++
			case errors.Is(err, feature.ErrRefused) || errors.Is(err, feature.ErrBadArguments):
				refused++
			}
		}
		if refused != 1 || notSent != len(res)-1 {
			t.Errorf("%s: %d refused, %d not sent, want one refusal and the rest not sent", name, refused, notSent)
		}
		cacheWrites(name)
	}
	if keys := serverKeys(t, srv); slices.Contains(keys, "session:a") {
		t.Errorf("a refused batch wrote: %v", keys)
	}

	// A whole transaction in one batch works; WATCH ... EXEC too.
	res := s.DoMulti(ctx, b.Watch().Key("a").Build(), b.Multi().Build(), b.Set().Key("a").Value("1").Build(), b.Incr().Key("n").Build(), b.Exec().Build())
	if arr, err := res[4].ToArray(); err != nil || len(arr) != 2 {
		t.Errorf("WATCH MULTI SET INCR EXEC: %v %v", arr, err)
	}
	cacheWrites("a whole transaction")

	// On a dedicated connection the part closes what its caller left
	// open, before the connection goes back to rueidis's pool.
	for i := range 3 {
		err := s.Dedicated(func(d rueidis.DedicatedClient) error {
			if got := str(t, d.Do(ctx, d.B().Set().Key("fresh").Value("v").Build())); got != "OK" {
				t.Errorf("round %d: SET on a dedicated connection got %q (a transaction left open by an earlier caller?)", i, got)
			}
			if err := d.Do(ctx, d.B().Multi().Build()).Error(); err != nil {
				return err
			}
			if err := d.Do(ctx, d.B().Subscribe().Channel("c").Build()).Error(); !errors.Is(err, feature.ErrBadArguments) {
				t.Errorf("SUBSCRIBE inside MULTI on a dedicated connection: %v, want ErrBadArguments", err)
			}
			if err := d.Do(ctx, d.B().Watch().Key("w").Build()).Error(); err == nil {
				t.Error("WATCH inside MULTI: the server should refuse it")
			}
			return d.Do(ctx, d.B().Set().Key("discarded").Value("v").Build()).Error()
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	d, cancel := s.Dedicate()
	must(t, d.Do(ctx, d.B().Watch().Key("fresh").Build()))
	must(t, d.Do(ctx, d.B().Multi().Build()))
	cancel()
	if keys := serverKeys(t, srv); slices.Contains(keys, "session:discarded") {
		t.Errorf("a transaction left open was executed: %v", keys)
	}
}

// TestKeyspaceNotifications: a part receives the notifications of its own
// keys, without the prefix, and never those of other namespaces.
func TestKeyspaceNotifications(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t, "--notify-keyspace-events", "KEA")
	session, cache := sessionAndCache(t, srv)
	s := session
	for _, sub := range []rueidis.Completed{
		s.B().Psubscribe().Pattern("__keyspace@0__:user:*").Build(),
		s.B().Subscribe().Channel("__keyspace@0__:user:1").Build(),
		s.B().Subscribe().Channel("__keyevent@0__:set").Build(),
	} {
		msgs, stop := receive(t, s, sub)
		// Others' keys first: the part must not hear them.
		must(t, cache.Do(ctx, cache.B().Set().Key("user:1").Value("x").Build()))
		must(t, srv.Client.Do(ctx, srv.Client.B().Set().Key("user:1").Value("x").Build()))
		got := publishUntilHeard(t, msgs, func() error {
			return s.Do(ctx, s.B().Set().Key("user:1").Value("mine").Build()).Error()
		})
		stop()
		want := rueidis.PubSubMessage{Channel: "__keyspace@0__:user:1", Message: "set"}
		switch sub.Commands()[0] {
		case "PSUBSCRIBE":
			want.Pattern = "__keyspace@0__:user:*"
		case "SUBSCRIBE":
			if strings.HasPrefix(sub.Commands()[1], "__keyevent") {
				want = rueidis.PubSubMessage{Channel: "__keyevent@0__:set", Message: "user:1"}
			}
		}
		if got != want {
			t.Errorf("%q: first message %+v, want %+v (another namespace's event, or the prefix shown)", sub.Commands(), got, want)
		}
	}
	// Ending a keyevent subscription would end every part's on the shared
	// connection.
	if err := s.Do(ctx, s.B().Unsubscribe().Channel("__keyevent@0__:set").Build()).Error(); !errors.Is(err, feature.ErrBadArguments) {
		t.Errorf("UNSUBSCRIBE __keyevent@0__:set: %v, want ErrBadArguments", err)
	}
}

// TestAdminClient: what a part refuses, the administrative client does,
// on a connection of its own.
func TestAdminClient(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	reg, base := parts(t, "REDIS_URL="+srv.URL())
	session, release, err := feature.ProvideSessionRedis(ctx, reg, base)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	admin, releaseAdmin, err := reg.Admin(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseAdmin()
	if err := session.Do(ctx, session.B().ConfigGet().Parameter("maxmemory").Build()).Error(); !errors.Is(err, feature.ErrRefused) || !strings.Contains(err.Error(), "registry.Admin") {
		t.Errorf("CONFIG GET through a part: %v, want ErrRefused naming registry.Admin", err)
	}
	if _, err := admin.Do(ctx, admin.B().ConfigGet().Parameter("maxmemory").Build()).AsStrMap(); err != nil {
		t.Errorf("CONFIG GET through the admin client: %v", err)
	}
	partID, _ := session.Do(ctx, session.B().ClientId().Build()).AsInt64()
	adminID, _ := admin.Do(ctx, admin.B().ClientId().Build()).AsInt64()
	if partID == adminID || len(reg.Stats()) != 2 {
		t.Errorf("the admin client shares the part's connection (ids %d %d, %d connections)", partID, adminID, len(reg.Stats()))
	}
	// Its transactions stay on its connection.
	must(t, admin.Do(ctx, admin.B().Multi().Build()))
	if got := str(t, session.Do(ctx, session.B().Set().Key("k").Value("v").Build())); got != "OK" {
		t.Errorf("the part's SET during the admin's MULTI got %q", got)
	}
	must(t, admin.Do(ctx, admin.B().Discard().Build()))
	// A second admin client of equal settings shares the first's
	// connection, and never the parts'.
	_, releaseOther, err := reg.Admin(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseOther()
	for _, c := range reg.Stats() {
		admins := slices.Contains(c.Parts, "(admin)")
		if admins && (c.Refs != 2 || len(c.Parts) != 1) || !admins && slices.Contains(c.Parts, "(admin)") {
			t.Errorf("connection %+v: the admin clients should hold one connection of their own", c)
		}
	}
}
