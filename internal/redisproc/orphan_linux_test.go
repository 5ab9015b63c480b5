package redisproc

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wireredis/wireredis/internal/testsupport"
)

// TestServerDiesWithItsStarter: a test binary killed at its timeout (or by
// its user) never gets to stop its servers; the kernel must, or every
// killed run leaves redis-server processes behind. The test runs itself
// as a child that starts a server, kills the child with SIGKILL, and
// waits for the server to be gone.
func TestServerDiesWithItsStarter(t *testing.T) {
	if os.Getenv("REDISPROC_STARTER") != "" {
		p, err := Launch(t.TempDir(), 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stdout.WriteString("server " + strconv.Itoa(p.Pid()) + "\n"); err != nil {
			t.Fatal(err)
		}
		select {} // until killed
	}
	child := exec.Command(os.Args[0], "-test.run", "^TestServerDiesWithItsStarter$")
	child.Env = append(os.Environ(), "REDISPROC_STARTER=1")
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	pid := 0
	for lines := bufio.NewScanner(out); lines.Scan(); {
		if n, ok := strings.CutPrefix(lines.Text(), "server "); ok {
			pid, _ = strconv.Atoi(n)
			break
		}
	}
	if pid == 0 {
		_ = child.Process.Kill()
		_ = child.Wait()
		t.Fatal("the child started no server")
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) }) // should the test fail
	_ = child.Process.Signal(syscall.SIGKILL)
	_ = child.Wait()
	testsupport.WaitFor(t, 10*time.Second, "redis-server "+strconv.Itoa(pid)+" to die with the process that started it", func() bool { return !alive(pid) })
}

// alive reports whether pid is a live process (not a zombie).
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	fields := strings.Fields(string(stat))
	return len(fields) > 2 && fields[2] != "Z"
}
