package redistest

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/redisproc"
	"github.com/wireredis/wireredis/internal/testsupport"
)

// ClientName is the name the harness's own connections carry, so that
// connection counts can leave them out.
const ClientName = "redistest"

// Server is a Redis server for one test.
type Server struct {
	// Addr is host:port on the loopback interface.
	Addr string
	// Client is a plain rueidis client (no namespace) for checking what the
	// code under test stored. Its connections are named ClientName.
	Client rueidis.Client

	t       testing.TB
	args    []string
	dir     string
	proc    *redisproc.Process
	managed bool   // false for REDIS_TEST_ADDR
	stopped func() // a Backend's server: stops it
	paused  bool

	mu       sync.Mutex
	commands map[string]bool // HasCommand's answers
}

// Start returns a running server. args are extra redis-server arguments
// (such as "--requirepass", "x": the harness's client then authenticates
// with it); a test that passes any cannot run against REDIS_TEST_ADDR and is
// skipped there.
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	s := &Server{t: t, args: args}
	switch addr := os.Getenv("REDIS_TEST_ADDR"); {
	case addr != "":
		if len(args) > 0 {
			t.Skipf("redistest: this test starts its own server with %v; unset REDIS_TEST_ADDR to run it", args)
		}
		s.Addr = addr
	case os.Getenv(redisproc.BinaryEnv) != "" && !havePath(redisproc.Binary()):
		t.Fatalf("redistest: %s=%s: no such program", redisproc.BinaryEnv, redisproc.Binary())
	case havePath(redisproc.Binary()):
		s.managed = true
		s.dir = t.TempDir()
		s.startProcess(freePort(t))
	case backend != nil && backend.Available():
		s.managed = true
		var err error
		if s.Addr, s.stopped, err = backend.Start(args); err != nil {
			t.Fatalf("redistest: %v", err)
		}
	default:
		t.Fatal("redistest: no Redis server available. Install redis-server " +
			"(Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis), " +
			"set " + redisproc.BinaryEnv + " to a redis-server or valkey-server program, " +
			"set REDIS_TEST_ADDR=host:port, or import github.com/wireredis/wireredis/redistest/dockerbackend and start a Docker engine")
	}
	t.Cleanup(s.stop)
	s.Client = s.NewClient(t, nil)
	return s
}

// NewClient returns a plain rueidis client of this server, named
// ClientName, closed by t.Cleanup. edit may change the options first.
func (s *Server) NewClient(t testing.TB, edit func(*rueidis.ClientOption)) rueidis.Client {
	t.Helper()
	opt := rueidis.ClientOption{InitAddress: []string{s.Addr}, ClientName: ClientName, ForceSingleClient: true}
	for i, a := range s.args {
		if a == "--requirepass" && i+1 < len(s.args) {
			opt.Password = s.args[i+1]
		}
	}
	if edit != nil {
		edit(&opt)
	}
	c, err := rueidis.NewClient(opt)
	if err != nil {
		t.Fatalf("redistest: connect to %s: %v", s.Addr, err)
	}
	t.Cleanup(c.Close)
	return c
}

// URL is the server's redis:// URL, for REDIS_URL.
func (s *Server) URL() string { return "redis://" + s.Addr }

// Port is the server's TCP port.
func (s *Server) Port() int {
	_, p, _ := net.SplitHostPort(s.Addr)
	n, _ := strconv.Atoi(p)
	return n
}

// Kill stops the server at once (SIGKILL), as a crash would. The address
// stays reserved for Restart.
func (s *Server) Kill() {
	s.t.Helper()
	s.mustManage("Kill")
	if s.stopped != nil {
		s.stopped()
		return
	}
	s.killProcess()
}

// Restart starts the server again on the same address (its data is gone:
// the harness runs redis-server without persistence).
func (s *Server) Restart() {
	s.t.Helper()
	s.mustManage("Restart")
	if s.stopped != nil {
		s.t.Skip("redistest: Restart needs the redis-server back end (install redis-server)")
	}
	s.killProcess()
	s.startProcess(s.Port())
}

// Pause stops the server's process (SIGSTOP), as a stalled host would: it
// keeps its connections open and answers nothing until Resume. A paused
// server is resumed before it is stopped.
func (s *Server) Pause() {
	s.t.Helper()
	s.signal("Pause", syscall.SIGSTOP)
	s.paused = true
}

// Resume lets a paused server run again (SIGCONT).
func (s *Server) Resume() {
	s.t.Helper()
	s.signal("Resume", syscall.SIGCONT)
	s.paused = false
}

func (s *Server) signal(op string, sig syscall.Signal) {
	s.t.Helper()
	s.mustManage(op)
	if s.stopped != nil || s.proc == nil {
		s.t.Skipf("redistest: %s needs the redis-server back end (install redis-server)", op)
	}
	if err := syscall.Kill(s.proc.Pid(), sig); err != nil {
		s.t.Fatalf("redistest: %s: %v", op, err)
	}
}

// ConnectedClients counts the server's client connections, leaving out the
// harness's own.
func (s *Server) ConnectedClients(t testing.TB) int {
	t.Helper()
	list, err := s.Client.Do(context.Background(), s.Client.B().ClientList().Build()).ToString()
	if err != nil {
		t.Fatalf("redistest: CLIENT LIST: %v", err)
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(list), "\n") {
		if line != "" && !strings.Contains(line, " name="+ClientName+" ") {
			n++
		}
	}
	return n
}

// WaitNoClients waits, up to five seconds, until the server has no
// client connections but the harness's own: what a test of a clean
// shutdown asks.
func (s *Server) WaitNoClients(t testing.TB) {
	t.Helper()
	testsupport.WaitFor(t, 5*time.Second, "redistest: no client connection left on the server", func() bool {
		return s.ConnectedClients(t) == 0
	})
}

func (s *Server) mustManage(op string) {
	if !s.managed {
		s.t.Skipf("redistest: %s needs a server the harness started; unset REDIS_TEST_ADDR", op)
	}
}

func (s *Server) startProcess(port int) {
	s.t.Helper()
	p, err := redisproc.Launch(s.dir, port, s.args)
	if err != nil {
		s.t.Fatalf("redistest: %v", err)
	}
	s.proc, s.Addr = p, p.Addr
}

func (s *Server) killProcess() {
	s.proc.Stop()
	s.proc = nil
}

func (s *Server) stop() {
	if s.paused {
		_ = syscall.Kill(s.proc.Pid(), syscall.SIGCONT)
	}
	if s.stopped != nil {
		s.stopped()
	}
	s.killProcess()
}

func freePort(t testing.TB) int {
	t.Helper()
	port, err := redisproc.FreePort()
	if err != nil {
		t.Fatalf("redistest: find a free port: %v", err)
	}
	return port
}

func havePath(bin string) bool {
	_, err := exec.LookPath(bin)
	return err == nil
}

// Backend starts Redis servers where redis-server is not on PATH: the
// module github.com/wireredis/wireredis/redistest/dockerbackend registers
// one that runs containers, for those who import it. redistest itself has
// no dependency on Docker.
type Backend interface {
	// Available reports, quickly, whether the backend can start a server.
	Available() bool
	// Start starts a server with the extra redis-server arguments, and
	// returns its host:port and a func that stops it.
	Start(args []string) (addr string, stop func(), err error)
}

var backend Backend

// RegisterBackend makes b the fallback of Start, after REDIS_TEST_ADDR and
// a redis-server on PATH. Call it from an init function.
func RegisterBackend(b Backend) { backend = b }
