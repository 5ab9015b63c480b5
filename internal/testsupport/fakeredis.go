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
			wg.Go(func() { playRedis(c, evil) })
		}
	})
	return l.Addr().String()
}

func playRedis(c net.Conn, evil string) {
	defer func() { _ = c.Close() }()
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	for {
		args, err := readCommand(r)
		if err != nil {
			return
		}
		var reply string
		switch cmd := strings.ToUpper(args[0]); {
		case cmd == "HELLO":
			reply = "%3\r\n+server\r\n+redis\r\n+version\r\n+7.0.15\r\n+proto\r\n:3\r\n"
		case cmd == "CLUSTER":
			reply = "-ERR This instance has cluster support disabled\r\n"
		case cmd == "PING":
			reply = "+PONG\r\n"
		case cmd == "GET" && len(args) > 1 && strings.Contains(args[1], "evil"):
			reply = evil
		case cmd == "GET":
			reply = "$5\r\nvalue\r\n"
		default:
			reply = "+OK\r\n"
		}
		_, _ = w.WriteString(reply)
		if r.Buffered() == 0 && w.Flush() != nil {
			return
		}
	}
}

// readCommand reads a command as rueidis writes it: an array of bulk
// strings.
func readCommand(r *bufio.Reader) ([]string, error) {
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
