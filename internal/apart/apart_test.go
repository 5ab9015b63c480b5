package apart_test

import (
	"bufio"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/apart"
	"github.com/wireredis/wireredis/internal/testsupport"
	"github.com/wireredis/wireredis/redistest"
)

func TestMain(m *testing.M) { testsupport.VerifyTestMain(m) }

// serverKind sends name ch on a connection of its own and returns the
// kind of Pub/Sub reply the server answered with ("subscribe",
// "unsubscribe", ...), or "" for another reply: the judge of what Classify
// must say.
func serverKind(t *testing.T, addr, name string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	var b strings.Builder
	b.WriteString("*2\r\n")
	for _, a := range []string{name, "ch"} {
		b.WriteString("$" + strconv.Itoa(len(a)) + "\r\n" + a + "\r\n")
	}
	if _, err := conn.Write([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	head, err := r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(head, "-NOSUB") {
		return "unsubscribe" // Valkey 8's answer to one on a connection that holds none
	}
	if !strings.HasPrefix(head, "*3") {
		return "" // an error: unknown command, or another command's
	}
	_, _ = r.ReadString('\n') // the kind's length
	kind, _ := r.ReadString('\n')
	return strings.TrimSpace(kind)
}

// renamed is a command built as ECHO ch whose name is then changed, as
// rueidis's Arbitrary builder refuses the Pub/Sub names.
func renamed(b rueidis.Builder, name string) rueidis.Completed {
	cmd := b.Arbitrary("ECHO").Args("ch").Build()
	cmd.Commands()[0] = name
	return cmd
}

// TestClassifyAsTheServerReads: Classify says of a command what the
// server does with it, whatever its name's case, a NUL byte in it, or a
// letter that folds to an ASCII one only in Unicode: a subscription is
// refused, a renamed UNSUBSCRIBE too (rueidis would wait for a reply the
// server sends as a push), anything else passes.
func TestClassifyAsTheServerReads(t *testing.T) {
	srv := redistest.Start(t)
	b := srv.Client.B()
	names := []string{
		"SUBSCRIBE", "subscribe", "SuBsCrIbE", "PSUBSCRIBE", "psubscribe",
		"SUBSCRIBE\x00", "SUBSCRIBE\x00junk", "psubscribe\x00\x00", "ſubscribe", "SUBSCRIBEX",
		"XSUBSCRIBE", "UNSUBSCRIBE", "unsubscribe", "PUNSUBSCRIBE", "UNSUBSCRIBE\x00x",
		"punsubscribe\x00", "GET", "ECHO", "SUBSCRIB", "S\x00UBSCRIBE", "ZRANGEBYSCORE", "PUNSUBSCRIBEX",
	}
	if srv.HasCommand(t.Context(), "SSUBSCRIBE") {
		// Redis 7's shard channels; 6.2 knows no such command, and
		// Classify refuses the names all the same.
		names = append(names, "SSUBSCRIBE", "ssubscribe\x00x", "SUNSUBSCRIBE", "sunsubscribe")
	}
	for _, name := range names {
		cmd := renamed(b, name)
		server := serverKind(t, srv.Addr, name)
		want := map[apart.Kind]string{apart.Subscription: "subscribe", apart.Renamed: "unsubscribe"}[apart.Classify(&cmd)]
		got := map[string]string{
			"subscribe": "subscribe", "psubscribe": "subscribe", "ssubscribe": "subscribe",
			"unsubscribe": "unsubscribe", "punsubscribe": "unsubscribe", "sunsubscribe": "unsubscribe",
		}[server]
		// The server finds a name holding a NUL byte by a hash of the
		// whole name, seeded at random when it starts, then compares it
		// up to the NUL: it may run the command, or say it knows no such
		// command. Classify refuses it either way.
		mayRefuse := strings.Contains(name, "\x00") && got == ""
		if got != want && !mayRefuse {
			t.Errorf("Classify(%q) = %v; the server answered %q", name, apart.Classify(&cmd), server)
		}
	}
	unsubscribeAs := func(name string) rueidis.Completed {
		cmd := b.Unsubscribe().Channel("ch").Build()
		cmd.Commands()[0] = name
		return cmd
	}
	subscribeAs := func(name string) rueidis.Completed {
		cmd := b.Subscribe().Channel("ch").Build()
		cmd.Commands()[0] = name
		return cmd
	}
	for _, c := range []struct {
		cmd  rueidis.Completed
		kind apart.Kind
	}{
		{b.Subscribe().Channel("ch").Build(), apart.Subscription},
		{b.Psubscribe().Pattern("p*").Build(), apart.Subscription},
		{b.Ssubscribe().Channel("ch").Build(), apart.Subscription},
		{b.Unsubscribe().Channel("ch").Build(), apart.Unsubscription},
		{b.Punsubscribe().Build(), apart.Unsubscription},
		{b.Sunsubscribe().Channel("ch").Build(), apart.Unsubscription},
		{b.Get().Key("SUBSCRIBE").Build(), apart.Other},
		{b.Monitor().Build(), apart.Unreadable},
		{b.Sync().Build(), apart.Unreadable},
		{b.Psync().Replicationid("?").Offset(-1).Build(), apart.Unreadable},
		{renamed(b, "REPLCONF"), apart.Unreadable},
		{b.ClientReply().Off().Build(), apart.Unreadable},
		{b.ClientList().Build(), apart.Other},
		{renamed(b, "monitor\x00x"), apart.Unreadable},
		{renamed(b, "Client"), apart.Other}, // CLIENT ch: no REPLY
		{rueidis.Completed{}, apart.Other},
		// Built as one command, named as another.
		{unsubscribeAs("SUBSCRIBE"), apart.Subscription},
		{unsubscribeAs("psubscribe"), apart.Subscription},
		{unsubscribeAs("GET"), apart.Renamed},
		{unsubscribeAs("MONITOR"), apart.Renamed},
		{unsubscribeAs("unsubscribe"), apart.Unsubscription},
		{subscribeAs("GET"), apart.Subscription},
		{subscribeAs("UNSUBSCRIBE"), apart.Subscription},
	} {
		if got := apart.Classify(&c.cmd); got != c.kind {
			t.Errorf("Classify(%q) = %v, want %v", c.cmd.Commands(), got, c.kind)
		}
	}
	for _, c := range []struct {
		kind        apart.Kind
		onDedicated bool
		err         error
	}{
		{apart.Other, false, nil},
		{apart.Unsubscription, false, nil},
		{apart.Subscription, false, apart.ErrSubscribeWithDo},
		{apart.Subscription, true, nil},
		{apart.Renamed, true, apart.ErrRefused},
		{apart.Unreadable, true, apart.ErrRefused},
	} {
		if err := c.kind.Err(c.onDedicated); !errors.Is(err, c.err) || c.err == nil && err != nil {
			t.Errorf("Kind(%d).Err(%v) = %v, want %v", c.kind, c.onDedicated, err, c.err)
		}
	}
}
