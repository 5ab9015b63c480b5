package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/redisproc"
)

// SentinelMaster is the name the sentinels of StartSentinel watch.
const SentinelMaster = "mymaster"

// Sentinel is a primary with replicas and three sentinels, on loopback.
type Sentinel struct {
	// Sentinels are the sentinels' addresses, for REDIS_ADDRS.
	Sentinels []string
	t         testing.TB
	procs     map[string]*redisproc.Process
}

// StartSentinel starts a primary, replicas replicas of it and three
// sentinels (quorum 2, down after one second), and waits until the
// sentinels know the replicas and each other.
func StartSentinel(t testing.TB, replicas int) *Sentinel {
	t.Helper()
	s := &Sentinel{t: t, procs: map[string]*redisproc.Process{}}
	t.Cleanup(func() {
		for _, p := range s.procs {
			p.Stop()
		}
	})
	launch := func(conf string, args ...string) string {
		port, err := redisproc.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if conf != "" {
			path := filepath.Join(dir, "sentinel.conf")
			if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
				t.Fatal(err)
			}
			conf = path
		}
		p, err := redisproc.LaunchConfig(dir, port, conf, args)
		if err != nil {
			t.Fatalf("redistest: %v", err)
		}
		s.procs[p.Addr] = p
		return p.Addr
	}
	primary := launch("")
	_, primaryPort, _ := net.SplitHostPort(primary)
	for range replicas {
		launch("", "--replicaof", "127.0.0.1", primaryPort)
	}
	conf := fmt.Sprintf("sentinel monitor %s 127.0.0.1 %s 2\nsentinel down-after-milliseconds %[1]s 1000\nsentinel failover-timeout %[1]s 5000\n", SentinelMaster, primaryPort)
	for range 3 {
		s.Sentinels = append(s.Sentinels, launch(conf, "--sentinel"))
	}
	deadline := time.Now().Add(30 * time.Second)
	for !s.settled(replicas) {
		if time.Now().After(deadline) {
			t.Fatal("redistest: the sentinels did not find the replicas and each other within 30s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	return s
}

func (s *Sentinel) settled(replicas int) bool {
	ctx := context.Background()
	for _, addr := range s.Sentinels {
		c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, ForceSingleClient: true, DisableCache: true})
		if err != nil {
			return false
		}
		r, err1 := c.Do(ctx, c.B().Arbitrary("SENTINEL", "REPLICAS", SentinelMaster).Build()).ToArray()
		o, err2 := c.Do(ctx, c.B().Arbitrary("SENTINEL", "SENTINELS", SentinelMaster).Build()).ToArray()
		c.Close()
		if err1 != nil || err2 != nil || len(r) < replicas || len(o) < 2 {
			return false
		}
	}
	return true
}

// Primary asks a sentinel for the current primary's address.
func (s *Sentinel) Primary() string {
	s.t.Helper()
	for _, addr := range s.Sentinels {
		if s.procs[addr] == nil {
			continue
		}
		c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, ForceSingleClient: true, DisableCache: true})
		if err != nil {
			continue
		}
		hp, err := c.Do(context.Background(), c.B().SentinelGetMasterAddrByName().Master(SentinelMaster).Build()).AsStrSlice()
		c.Close()
		if err == nil && len(hp) == 2 {
			return net.JoinHostPort(hp[0], hp[1])
		}
	}
	s.t.Fatal("redistest: no sentinel names a primary")
	return ""
}

// Kill stops a server at once (SIGKILL).
func (s *Sentinel) Kill(addr string) {
	s.t.Helper()
	p := s.procs[addr]
	if p == nil {
		s.t.Fatalf("redistest: no running server %s", addr)
	}
	p.Stop()
	delete(s.procs, addr)
}
