package testsupport

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// FakeRedis plays a Redis 7.0 server well enough for rueidis's handshake
// (HELLO 3, CLIENT, no cluster) and for GETs: a GET of a key that holds
// "evil" is answered with evil, any other with "value". It returns its
// address; the test's cleanup stops it. For tests of what a server that
// is not Redis may send.
func FakeRedis(t testing.TB, evil string) string {
	t.Helper()
	return FakeRedisAnswering(t, func(c net.Conn, args []string) bool {
		if strings.ToUpper(args[0]) != "GET" || len(args) < 2 || !strings.Contains(args[1], "evil") {
			return false
		}
		_, _ = c.Write([]byte(evil))
		return true
	})
}

// FakeRedisAnswering is FakeRedis whose answers answer chooses: it answers
// one command on connection c, or returns false to leave it to the
// default answers (the handshake, PING, GET, "+OK").
func FakeRedisAnswering(t testing.TB, answer func(c net.Conn, args []string) bool) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { playRedis(c, answer) })
		}
	})
	return l.Addr().String()
}

func playRedis(c net.Conn, answer func(c net.Conn, args []string) bool) {
	defer func() { _ = c.Close() }()
	r := bufio.NewReader(c)
	for {
		args, err := ReadCommand(r)
		if err != nil {
			return
		}
		if answer(c, args) {
			continue
		}
		if _, err := c.Write([]byte(defaultAnswer(args))); err != nil {
			return
		}
	}
}

func defaultAnswer(args []string) string {
	switch strings.ToUpper(args[0]) {
	case "HELLO":
		return "%3\r\n+server\r\n+redis\r\n+version\r\n+7.0.15\r\n+proto\r\n:3\r\n"
	case "CLUSTER":
		return "-ERR This instance has cluster support disabled\r\n"
	case "PING":
		return "+PONG\r\n"
	case "GET":
		return "$5\r\nvalue\r\n"
	}
	return "+OK\r\n"
}

// ReadCommand reads a command as rueidis writes it: an array of bulk
// strings.
func ReadCommand(r *bufio.Reader) ([]string, error) {
	n, err := readLength(r)
	if err != nil || n < 1 {
		return nil, fmt.Errorf("not a command: %w", err)
	}
	args := make([]string, n)
	for i := range args {
		m, err := readLength(r)
		if err != nil {
			return nil, err
		}
		b := make([]byte, m+2)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		args[i] = string(b[:m])
	}
	return args, nil
}

func readLength(r *bufio.Reader) (int, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(line[1:]))
}
