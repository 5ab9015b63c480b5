package redisproc

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process is a redis-server run outside a test, by a code generator say.
type Process struct {
	Addr   string
	cmd    *exec.Cmd
	exited chan struct{}
}

// Start runs the server Binary names on a free loopback port, in a
// temporary directory removed by Stop. args are extra server arguments.
func Start(args ...string) (*Process, error) {
	return StartBinary(Binary(), args...)
}

// StartBinary is Start with another server program (a path, or a name
// looked up in PATH): the key table generator reads several.
func StartBinary(bin string, args ...string) (*Process, error) {
	dir, err := os.MkdirTemp("", "redisproc")
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	p, err := launch(bin, dir, port, "", args)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	go func() { <-p.exited; _ = os.RemoveAll(dir) }()
	return p, nil
}

// Pid is the server's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Stop kills the server (SIGKILL) and waits for it to exit.
func (p *Process) Stop() {
	if p == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// Launch starts the server Binary names on port (another free one when port is taken,
// up to three tries) and waits until it answers.
func Launch(dir string, port int, extra []string) (*Process, error) {
	return LaunchConfig(dir, port, "", extra)
}

// LaunchConfig is Launch with a configuration file, which redis-server
// takes as its first argument (a sentinel needs one it can rewrite).
func LaunchConfig(dir string, port int, conf string, extra []string) (*Process, error) {
	return launch(Binary(), dir, port, conf, extra)
}

func launch(bin, dir string, port int, conf string, extra []string) (*Process, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			var err error
			if port, err = FreePort(); err != nil {
				return nil, err
			}
		}
		args := append([]string{
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
			"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning",
			"--logfile", "redis.log",
		}, extra...)
		if conf != "" {
			args = append([]string{conf}, args...)
		}
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.SysProcAttr = procAttr()
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start %s: %w", bin, err)
		}
		p := &Process{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), cmd: cmd, exited: make(chan struct{})}
		go func() { _ = cmd.Wait(); close(p.exited) }()
		if lastErr = p.waitReady(); lastErr == nil {
			return p, nil
		}
		p.Stop()
	}
	log, _ := os.ReadFile(dir + "/redis.log")
	return nil, fmt.Errorf("%s did not start: %w\n%s", bin, lastErr, log)
}

func (p *Process) waitReady() error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return errors.New("redis-server exited")
		default:
		}
		if _, err := Probe(p.Addr); err == nil {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return errors.New("no answer to PING within 10s")
}

// Probe sends PING and returns the first line of a RESP simple reply
// ("+PONG", or "-NOAUTH ..." from a server with a password): any such reply
// means a Redis server is listening.
func Probe(addr string) (string, error) {
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

// FreePort returns a loopback TCP port that nobody listens on now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ServerName reads "redis 7.0.15" or "valkey 8.0.1" from the reply of
// INFO server, or "" when it names no version. Valkey reports a
// redis_version too (the Redis it is compatible with): its own wins.
func ServerName(info string) string {
	version, server := "", "redis"
	for _, line := range strings.Split(info, "\n") {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "redis_version:"); ok && server == "redis" {
			version = v
		}
		if v, ok := strings.CutPrefix(line, "valkey_version:"); ok {
			version, server = v, "valkey"
		}
	}
	if version == "" {
		return ""
	}
	return server + " " + version
}
