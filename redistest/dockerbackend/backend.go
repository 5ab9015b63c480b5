// Package dockerbackend lets redistest run Redis servers in containers
// where redis-server is not on PATH: import it for its init, in a test
// file, and start a Docker engine.
//
//	import _ "github.com/wireredis/wireredis/redistest/dockerbackend"
//
// It is a module of its own, so that only those who import it have
// dockertest, and Docker's libraries, in their module graph.
package dockerbackend

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/ory/dockertest/v3"

	"github.com/wireredis/wireredis/internal/redisproc"
	"github.com/wireredis/wireredis/redistest"
)

func init() { redistest.RegisterBackend(docker{}) }

// docker runs redis:7.0 containers.
type docker struct{}

// Available is true when a Docker engine answers a ping within a second
// (dockertest's dialer waits 30s on a host that does not answer).
func (docker) Available() bool {
	pool, err := dockertest.NewPool("")
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return pool.Client.PingWithContext(ctx) == nil
}

func (docker) Start(args []string) (string, func(), error) {
	pool, err := dockertest.NewPool("")
	if err != nil {
		return "", nil, fmt.Errorf("docker: %w", err)
	}
	cmd := append([]string{"redis-server", "--save", "", "--appendonly", "no"}, args...)
	res, err := pool.RunWithOptions(&dockertest.RunOptions{Repository: "redis", Tag: "7.0", Cmd: cmd})
	if err != nil {
		return "", nil, fmt.Errorf("start a redis:7.0 container: %w", err)
	}
	stop := func() { _ = res.Close() }
	addr := net.JoinHostPort("127.0.0.1", res.GetPort("6379/tcp"))
	if err := pool.Retry(func() error { _, err := redisproc.Probe(addr); return err }); err != nil {
		stop()
		return "", nil, fmt.Errorf("the container on %s did not answer: %w", addr, err)
	}
	return addr, stop, nil
}
