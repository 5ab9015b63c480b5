package apart_test

import (
	"bufio"
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

// serverSubscribes sends name ch on a connection of its own and reports
// whether the server answered with a subscription: the judge of what
// Subscribes must say.
func serverSubscribes(t *testing.T, addr, name string) bool {
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
	if !strings.HasPrefix(head, "*3") {
		return false // an error: unknown command, or another command's
	}
	_, _ = r.ReadString('\n') // the kind's length
	kind, _ := r.ReadString('\n')
	switch strings.TrimSpace(kind) {
	case "subscribe", "psubscribe", "ssubscribe":
		return true
	}
	return false
}

// TestSubscribesAsTheServerReads: Subscribes says of a command what the
// server does with it, whatever its name's case, a NUL byte in it, or a
// letter that folds to an ASCII one only in Unicode; commands built by
// rueidis's builder by their flags.
func TestSubscribesAsTheServerReads(t *testing.T) {
	srv := redistest.Start(t)
	b := srv.Client.B()
	names := []string{
		"SUBSCRIBE", "subscribe", "SuBsCrIbE", "PSUBSCRIBE", "psubscribe", "SSUBSCRIBE",
		"SUBSCRIBE\x00", "SUBSCRIBE\x00junk", "psubscribe\x00\x00", "ſubscribe", "SUBSCRIBEX",
		"XSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "GET", "ECHO", "SUBSCRIB", "S\x00UBSCRIBE",
	}
	if srv.HasCommand(t.Context(), "SSUBSCRIBE") {
		names = append(names, "ssubscribe\x00x")
	}
	for _, name := range names {
		cmd := b.Arbitrary("ECHO").Args("ch").Build()
		cmd.Commands()[0] = name // after Build, which refuses SUBSCRIBE by name
		server := serverSubscribes(t, srv.Addr, name)
		got := apart.Subscribes(&cmd)
		// The server finds a name holding a NUL byte by a hash of the
		// whole name, seeded at random when it starts, then compares it
		// up to the NUL: it may run SUBSCRIBE, or say it knows no such
		// command. Subscribes refuses it either way.
		mayRefuse := strings.Contains(name, "\x00") && strings.Contains(strings.ToUpper(name), "SUBSCRIBE\x00")
		if got != server && (!got || !mayRefuse) {
			t.Errorf("Subscribes(%q) = %v, the server subscribes: %v", name, got, server)
		}
	}
	for _, c := range []struct {
		cmd  rueidis.Completed
		want bool
	}{
		{b.Subscribe().Channel("ch").Build(), true},
		{b.Psubscribe().Pattern("p*").Build(), true},
		{b.Ssubscribe().Channel("ch").Build(), true},
		{b.Unsubscribe().Channel("ch").Build(), false},
		{b.Punsubscribe().Build(), false},
		{b.Get().Key("SUBSCRIBE").Build(), false},
		{rueidis.Completed{}, false},
	} {
		if got := apart.Subscribes(&c.cmd); got != c.want {
			t.Errorf("Subscribes(%q) = %v, want %v", c.cmd.Commands(), got, c.want)
		}
	}
}
