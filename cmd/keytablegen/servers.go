package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/redisproc"
)

// ServersDirEnv names the setting for the directory of server builds, one
// subdirectory per server with its redis-server or valkey-server.
const ServersDirEnv = "REDIS_SERVERS_DIR"

// ServersDir is dir, or REDIS_SERVERS_DIR, or ../shared/servers beside the
// root of the module that holds the working directory.
func ServersDir(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	if d := os.Getenv(ServersDirEnv); d != "" {
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if mod, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.Contains(string(mod), "module github.com/wireredis/wireredis\n") {
			return filepath.Join(d, "..", "shared", "servers"), nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("not inside the wireredis module: set " + ServersDirEnv)
		}
	}
}

// ErrNoServers is matched by ServerPrograms' error when the servers
// directory is missing.
var ErrNoServers = errors.New("no servers directory")

// ServerPrograms lists the server programs the table is generated from:
// redis-server from PATH and each <dir>/*/redis-server or valkey-server.
func ServerPrograms(dir string) ([]string, error) {
	dir, err := ServersDir(dir)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("%w: the key table is generated from every server build in %s (set %s, or -servers): %w", ErrNoServers, dir, ServersDirEnv, err)
	}
	var bins []string
	for _, name := range []string{"redis-server", "valkey-server"} {
		found, _ := filepath.Glob(filepath.Join(dir, "*", name))
		bins = append(bins, found...)
	}
	if len(bins) == 0 {
		return nil, fmt.Errorf("%w: %s holds no */redis-server or */valkey-server (set %s)", ErrNoServers, dir, ServersDirEnv)
	}
	slices.Sort(bins)
	path, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errors.New("redis-server is not on PATH (Debian: apt-get install redis-server)")
	}
	return append([]string{path}, bins...), nil
}

// FetchPrograms starts each program in turn and reads its COMMAND reply.
// Two programs of the same server and version count once.
func FetchPrograms(ctx context.Context, bins []string) ([]Source, error) {
	var out []Source
	seen := map[string]bool{}
	for _, bin := range bins {
		p, err := redisproc.StartBinary(bin)
		if err != nil {
			return nil, err
		}
		src, err := FetchAddr(ctx, p.Addr)
		p.Stop()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", bin, err)
		}
		if !seen[src.Server] {
			seen[src.Server] = true
			out = append(out, src)
		}
	}
	return out, nil
}

// FetchAddr reads the COMMAND reply of the server at addr.
func FetchAddr(ctx context.Context, addr string) (Source, error) {
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, ForceSingleClient: true, DisableCache: true})
	if err != nil {
		return Source{}, err
	}
	defer c.Close()
	return Fetch(ctx, c)
}
