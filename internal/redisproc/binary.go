package redisproc

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
)

// BinaryEnv names the setting that chooses the server program: a path to
// redis-server or valkey-server of any version (the test matrix runs the
// suite once per server), or a name looked up in PATH.
const BinaryEnv = "REDIS_SERVER_BIN"

// Binary is the server program the harness runs: REDIS_SERVER_BIN, or
// redis-server from PATH.
func Binary() string {
	if b := os.Getenv(BinaryEnv); b != "" {
		return b
	}
	return "redis-server"
}

// Version is what a server program says of itself (--version).
type Version struct {
	// Server is "redis" or "valkey".
	Server string
	// Major, Minor and Patch number the release: 6.2.16, 8.0.1.
	Major, Minor, Patch int
}

func (v Version) String() string {
	return fmt.Sprintf("%s %d.%d.%d", v.Server, v.Major, v.Minor, v.Patch)
}

// AtLeast compares the release numbers alone: Valkey 8 is a fork of
// Redis 7.2, so callers asking about a behaviour should ask the server
// (COMMAND INFO) rather than compare across forks.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || v.Major == major && v.Minor >= minor
}

var versions sync.Map // bin -> versionResult

type versionResult struct {
	v   Version
	err error
}

// BinaryVersion runs bin --version once per program and parses its
// answer ("Redis server v=7.0.15 sha=...", "Valkey server v=8.0.1 ...").
func BinaryVersion(bin string) (Version, error) {
	if r, ok := versions.Load(bin); ok {
		return r.(versionResult).v, r.(versionResult).err
	}
	out, err := exec.Command(bin, "--version").Output()
	var v Version
	if err == nil {
		v, err = ParseVersion(string(out))
	} else {
		err = fmt.Errorf("%s --version: %w", bin, err)
	}
	versions.Store(bin, versionResult{v, err})
	return v, err
}

// ParseVersion reads the first line of a server's --version output.
func ParseVersion(out string) (Version, error) {
	var v Version
	fields := strings.Fields(out)
	if len(fields) < 3 {
		return v, fmt.Errorf("not a server version: %q", out)
	}
	v.Server = strings.ToLower(fields[0])
	num, ok := strings.CutPrefix(fields[2], "v=")
	parts := strings.Split(num, ".")
	if !ok || len(parts) != 3 {
		return v, fmt.Errorf("not a server version: %q", out)
	}
	for i, dst := range []*int{&v.Major, &v.Minor, &v.Patch} {
		n, err := strconv.Atoi(parts[i])
		if err != nil {
			return v, fmt.Errorf("not a server version: %q", out)
		}
		*dst = n
	}
	return v, nil
}
