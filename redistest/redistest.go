package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ory/dockertest/v3"
	"github.com/redis/rueidis"
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
	proc    *Process
	managed bool // false for REDIS_TEST_ADDR
	docker  *dockertest.Resource
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
	case havePath("redis-server"):
		s.managed = true
		s.dir = t.TempDir()
		s.startProcess(freePort(t))
	case dockerAnswers():
		s.managed = true
		s.startContainer()
	default:
		t.Fatal("redistest: no Redis server available. Install redis-server " +
			"(Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis), " +
			"set REDIS_TEST_ADDR=host:port, or start a Docker engine")
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
	if s.docker != nil {
		if err := s.docker.Close(); err != nil {
			s.t.Fatalf("redistest: stop container: %v", err)
		}
		return
	}
	s.killProcess()
}

// Restart starts the server again on the same address (its data is gone:
// the harness runs redis-server without persistence).
func (s *Server) Restart() {
	s.t.Helper()
	s.mustManage("Restart")
	if s.docker != nil {
		s.t.Skip("redistest: Restart needs the redis-server back end (install redis-server)")
	}
	s.killProcess()
	s.startProcess(s.Port())
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

func (s *Server) mustManage(op string) {
	if !s.managed {
		s.t.Skipf("redistest: %s needs a server the harness started; unset REDIS_TEST_ADDR", op)
	}
}

func (s *Server) startProcess(port int) {
	s.t.Helper()
	p, err := launch(s.dir, port, s.args)
	if err != nil {
		s.t.Fatalf("redistest: %v", err)
	}
	s.proc, s.Addr = p, p.Addr
}

// Process is a redis-server run outside a test, by a code generator say.
type Process struct {
	Addr   string
	cmd    *exec.Cmd
	exited chan struct{}
}

// StartProcess runs redis-server from PATH on a free loopback port, in a
// temporary directory removed by Stop. args are extra server arguments.
func StartProcess(args ...string) (*Process, error) {
	dir, err := os.MkdirTemp("", "redistest")
	if err != nil {
		return nil, err
	}
	port, err := pickPort()
	if err != nil {
		return nil, err
	}
	p, err := launch(dir, port, args)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	go func() { <-p.exited; _ = os.RemoveAll(dir) }()
	return p, nil
}

// Stop kills the server (SIGKILL) and waits for it to exit.
func (p *Process) Stop() {
	if p == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// launch starts redis-server on port (another free one when port is taken,
// up to three tries) and waits until it answers.
func launch(dir string, port int, extra []string) (*Process, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			var err error
			if port, err = pickPort(); err != nil {
				return nil, err
			}
		}
		args := append([]string{
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
			"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning",
			"--logfile", "redis.log",
		}, extra...)
		cmd := exec.Command("redis-server", args...)
		cmd.Dir = dir
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start redis-server: %w", err)
		}
		p := &Process{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), cmd: cmd, exited: make(chan struct{})}
		go func() { _ = cmd.Wait(); close(p.exited) }()
		if lastErr = p.waitReady(); lastErr == nil {
			return p, nil
		}
		p.Stop()
	}
	log, _ := os.ReadFile(dir + "/redis.log")
	return nil, fmt.Errorf("redis-server did not start: %w\n%s", lastErr, log)
}

func (p *Process) waitReady() error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return errors.New("redis-server exited")
		default:
		}
		if _, err := probe(p.Addr); err == nil {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return errors.New("no answer to PING within 10s")
}

// probe sends PING and returns the first line of a RESP simple reply
// ("+PONG", or "-NOAUTH ..." from a server with a password): any such reply
// means a Redis server is listening.
func probe(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return "", err
	}
	buf := make([]byte, 128)
	n, err := c.Read(buf)
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
	if line == "" || line[0] != '+' && line[0] != '-' {
		return "", fmt.Errorf("not a Redis reply: %q", line)
	}
	return line, nil
}

func (s *Server) killProcess() {
	s.proc.Stop()
	s.proc = nil
}

func (s *Server) stop() {
	if s.docker != nil {
		_ = s.docker.Close()
	}
	s.killProcess()
}

func freePort(t testing.TB) int {
	t.Helper()
	port, err := pickPort()
	if err != nil {
		t.Fatalf("redistest: find a free port: %v", err)
	}
	return port
}

func pickPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func havePath(bin string) bool {
	_, err := exec.LookPath(bin)
	return err == nil
}

// dockerAnswers is true when a Docker engine answers a ping within a second.
func dockerAnswers() bool {
	pool, err := dockertest.NewPool("")
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return pool.Client.PingWithContext(ctx) == nil
}

func (s *Server) startContainer() {
	s.t.Helper()
	pool, err := dockertest.NewPool("")
	if err != nil {
		s.t.Fatalf("redistest: docker: %v", err)
	}
	cmd := append([]string{"redis-server", "--save", "", "--appendonly", "no"}, s.args...)
	res, err := pool.RunWithOptions(&dockertest.RunOptions{Repository: "redis", Tag: "7.0", Cmd: cmd})
	if err != nil {
		s.t.Fatalf("redistest: start a redis:7.0 container: %v", err)
	}
	s.docker = res
	s.Addr = net.JoinHostPort("127.0.0.1", res.GetPort("6379/tcp"))
	if err := pool.Retry(func() error { _, err := probe(s.Addr); return err }); err != nil {
		s.t.Fatalf("redistest: container on %s did not answer: %v", s.Addr, err)
	}
}
