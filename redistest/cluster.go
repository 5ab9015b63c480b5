package redistest

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/redisproc"
)

// Cluster is a Redis Cluster of redis-server processes on loopback ports.
type Cluster struct {
	// Addrs lists every node, primaries first as created.
	Addrs []string
	// Client is a plain rueidis cluster client, named ClientName.
	Client rueidis.Client

	t     testing.TB
	nodes map[string]*node
}

type node struct {
	dir  string
	port int
	args []string
	proc *redisproc.Process
}

// StartCluster builds a cluster of masters primaries with
// replicasPerMaster replicas each (redis-cli --cluster create), waits until
// every node reports cluster_state:ok, and stops it at the end of the test.
// Nodes fail over after a second without their primary.
func StartCluster(t testing.TB, masters, replicasPerMaster int) *Cluster {
	t.Helper()
	if _, err := exec.LookPath("redis-cli"); err != nil {
		t.Fatal("redistest: StartCluster needs redis-cli (Debian: apt-get install redis-tools)")
	}
	c := &Cluster{t: t, nodes: map[string]*node{}}
	// Redis 6.2 has no cluster-port: its bus listens on port+10000.
	busSetting := ServerVersion(t).AtLeast(7, 0)
	for range masters * (1 + replicasPerMaster) {
		port, bus, err := clusterPorts(busSetting)
		if err != nil {
			t.Fatalf("redistest: free ports: %v", err)
		}
		n := &node{dir: t.TempDir(), port: port, args: []string{
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "1000",
			"--cluster-replica-validity-factor", "0",
		}}
		if busSetting {
			n.args = append(n.args, "--cluster-port", strconv.Itoa(bus))
		}
		n.start(t)
		if !busSetting && n.port != port {
			t.Fatalf("redistest: cluster node: port %d was taken, and Redis 6.2 needs its bus at port+10000", port)
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(n.port))
		c.Addrs = append(c.Addrs, addr)
		c.nodes[addr] = n
	}
	t.Cleanup(func() {
		for _, n := range c.nodes {
			n.proc.Stop()
		}
	})
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicasPerMaster), "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, out)
	}
	c.WaitOK()
	c.waitReplicas(replicasPerMaster)
	client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: c.Addrs, ClientName: ClientName})
	if err != nil {
		t.Fatalf("redistest: cluster client: %v", err)
	}
	t.Cleanup(client.Close)
	c.Client = client
	return c
}

// clusterPorts returns a free port for a node and one for its cluster bus:
// any free one when the server takes cluster-port, else port+10000.
func clusterPorts(busSetting bool) (port, bus int, err error) {
	for range 50 {
		if port, err = redisproc.FreePort(); err != nil {
			return 0, 0, err
		}
		if busSetting {
			bus, err = redisproc.FreePort()
			return port, bus, err
		}
		if port+10000 > 65535 {
			continue
		}
		if l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+10000))); err == nil {
			_ = l.Close()
			return port, port + 10000, nil
		}
	}
	return 0, 0, errors.New("no free port with a free port+10000 for the cluster bus")
}

func (n *node) start(t testing.TB) {
	t.Helper()
	p, err := redisproc.Launch(n.dir, n.port, n.args)
	if err != nil {
		t.Fatalf("redistest: cluster node: %v", err)
	}
	n.proc, n.port = p, portOf(p.Addr)
}

func portOf(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}

// WaitOK waits (up to 30s) until every running node says
// cluster_state:ok and agrees on the primaries.
func (c *Cluster) WaitOK() {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if c.allOK() {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatal("redistest: the cluster did not reach cluster_state:ok within 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *Cluster) allOK() bool {
	for addr, n := range c.nodes {
		if n.proc == nil {
			continue
		}
		out, err := exec.Command("redis-cli", "-h", "127.0.0.1", "-p", strconv.Itoa(portOf(addr)), "cluster", "info").Output()
		if err != nil || !strings.Contains(string(out), "cluster_state:ok") {
			return false
		}
	}
	return true
}

// waitReplicas waits until every node lists perMaster replicas for every
// slot range in CLUSTER SLOTS: Redis 7.0 leaves a replica out until the
// cluster has gossiped its replication offset, and a client made before
// that would not know it.
func (c *Cluster) waitReplicas(perMaster int) {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !c.replicasListed(perMaster) {
		if time.Now().After(deadline) {
			c.t.Fatalf("redistest: CLUSTER SLOTS did not list %d replicas per primary within 30s", perMaster)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (c *Cluster) replicasListed(perMaster int) bool {
	ctx := context.Background()
	for addr, nd := range c.nodes {
		if nd.proc == nil {
			continue
		}
		n, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, ForceSingleClient: true, DisableCache: true, ClientName: ClientName})
		if err != nil {
			return false
		}
		slots, err := n.Do(ctx, n.B().ClusterSlots().Build()).ToArray()
		n.Close()
		if err != nil || len(slots) == 0 {
			return false
		}
		for _, s := range slots {
			entry, _ := s.ToArray()
			if len(entry)-3 < perMaster { // from, to, primary, replicas...
				return false
			}
		}
	}
	return true
}

// Primaries returns the addresses of the nodes that are primaries now.
func (c *Cluster) Primaries() []string {
	c.t.Helper()
	var out []string
	for _, addr := range c.Addrs {
		if c.nodes[addr].proc == nil {
			continue
		}
		role, err := exec.Command("redis-cli", "-h", "127.0.0.1", "-p", strconv.Itoa(portOf(addr)), "role").Output()
		if err == nil && strings.HasPrefix(string(role), "master") {
			out = append(out, addr)
		}
	}
	return out
}

// Kill stops a node at once (SIGKILL).
func (c *Cluster) Kill(addr string) {
	c.t.Helper()
	n := c.nodes[addr]
	if n == nil || n.proc == nil {
		c.t.Fatalf("redistest: no running node %s", addr)
	}
	n.proc.Stop()
	n.proc = nil
}

// Node returns a plain client of one node, closed by t.Cleanup.
func (c *Cluster) Node(t testing.TB, addr string) rueidis.Client {
	t.Helper()
	n, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, ForceSingleClient: true, ClientName: ClientName, DisableCache: true})
	if err != nil {
		t.Fatalf("redistest: node %s: %v", addr, err)
	}
	t.Cleanup(n.Close)
	return n
}

// Info returns a section of INFO from one node.
func (c *Cluster) Info(t testing.TB, addr, section string) string {
	t.Helper()
	n := c.Node(t, addr)
	info, err := n.Do(context.Background(), n.B().Info().Section(section).Build()).ToString()
	if err != nil {
		t.Fatalf("redistest: INFO %s on %s: %v", section, addr, err)
	}
	return info
}
