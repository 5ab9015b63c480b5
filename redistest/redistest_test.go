package redistest

import (
	"context"
	"strings"
	"testing"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/redisproc"
	"github.com/wireredis/wireredis/internal/testsupport"
)

func TestMain(m *testing.M) { testsupport.VerifyTestMain(m) }

func TestStartKillRestart(t *testing.T) {
	ctx := context.Background()
	srv := Start(t)
	c := srv.Client
	if err := c.Do(ctx, c.B().Set().Key("k").Value("v").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	if n := srv.ConnectedClients(t); n != 0 {
		t.Errorf("ConnectedClients = %d with only the harness connected, want 0", n)
	}
	other := srv.NewClient(t, func(o *rueidis.ClientOption) { o.ClientName = "other" })
	if err := other.Do(ctx, other.B().Ping().Build()).Error(); err != nil {
		t.Fatal(err)
	}
	if n := srv.ConnectedClients(t); n < 1 {
		t.Errorf("ConnectedClients = %d with another client connected, want at least 1", n)
	}
	addr := srv.Addr
	srv.Kill()
	if _, err := redisproc.Probe(addr); err == nil {
		t.Fatal("server still answers after Kill")
	}
	srv.Restart()
	if srv.Addr != addr {
		t.Errorf("Restart moved the server from %s to %s", addr, srv.Addr)
	}
	if reply, err := redisproc.Probe(srv.Addr); reply != "+PONG" {
		t.Fatalf("PING after Restart: %q, %v", reply, err)
	}
}

func TestStartWithArgs(t *testing.T) {
	srv := Start(t, "--requirepass", "pw")
	if reply, _ := redisproc.Probe(srv.Addr); !strings.HasPrefix(reply, "-NOAUTH") {
		t.Fatalf("PING without AUTH on a server started with --requirepass: %q, want -NOAUTH", reply)
	}
}
