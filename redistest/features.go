package redistest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/wireredis/wireredis/internal/redisproc"
)

// SkipPrefix starts the message of every test skipped because the server
// lacks a feature: the test matrix counts those skips per server.
const SkipPrefix = "redistest: needs"

// Feature is something of a server that some tests need and older servers
// lack. Has asks the running server, not its version number, so that
// forks (Valkey reports redis_version 7.2.4) are judged by what they do.
type Feature struct {
	// Name says what is missing, for the skip message: "LMPOP (Redis 7.0)".
	Name string
	has  func(ctx context.Context, s *Server) bool
}

// Commands is the feature of having every one of names ("LMPOP",
// "CLIENT NO-TOUCH"), as COMMAND INFO says.
func Commands(since string, names ...string) Feature {
	return Feature{
		Name: strings.Join(names, ", ") + " (" + since + ")",
		has: func(ctx context.Context, s *Server) bool {
			for _, n := range names {
				if !s.HasCommand(ctx, n) {
					return false
				}
			}
			return true
		},
	}
}

// The features the suite asks for.
var (
	// KeySpecs: COMMAND INFO describes keys with key specs, and COMMAND
	// DOCS exists (Redis 7.0; Redis 6.2 has only first/last/step).
	KeySpecs = Commands("Redis 7.0", "COMMAND DOCS")
	// Redis70 are the commands Redis 7.0 added that the suite's tests of
	// every command family send (LMPOP, SINTERCARD, EVAL_RO, FUNCTION,
	// EXPIRETIME, ...).
	Redis70 = Commands("Redis 7.0", "LMPOP", "SINTERCARD", "EVAL_RO", "FCALL", "EXPIRETIME", "FUNCTION LOAD")
	// Functions: FUNCTION and FCALL (Redis 7.0).
	Functions = Commands("Redis 7.0", "FUNCTION LOAD", "FCALL")
	// ShardedPubSub: SSUBSCRIBE, SPUBLISH (Redis 7.0).
	ShardedPubSub = Commands("Redis 7.0", "SSUBSCRIBE", "SPUBLISH")
	// HashFieldExpiry: HEXPIRE and its family (Redis 7.4).
	HashFieldExpiry = Commands("Redis 7.4", "HEXPIRE", "HTTL", "HPERSIST")
)

// Require skips t, with a message that starts with SkipPrefix, unless the
// server has every feature.
func (s *Server) Require(t testing.TB, features ...Feature) {
	t.Helper()
	ctx := context.Background()
	for _, f := range features {
		if !f.has(ctx, s) {
			t.Skipf("%s %s, which this server (%s) lacks", SkipPrefix, f.Name, s.Version(t))
		}
	}
}

// HasCommand reports whether the server knows name, a command or "CONTAINER
// SUBCOMMAND".
func (s *Server) HasCommand(ctx context.Context, name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if has, ok := s.commands[name]; ok {
		return has
	}
	reply, err := s.Client.Do(ctx, s.Client.B().CommandInfo().CommandName(strings.ReplaceAll(strings.ToLower(name), " ", "|")).Build()).ToArray()
	has := err == nil && len(reply) == 1 && !reply[0].IsNil()
	if s.commands == nil {
		s.commands = map[string]bool{}
	}
	s.commands[name] = has
	return has
}

// Version is the server's name and version, from INFO server ("redis
// 7.0.15", "valkey 8.0.1").
func (s *Server) Version(t testing.TB) string {
	t.Helper()
	info, err := s.Client.Do(context.Background(), s.Client.B().Info().Section("server").Build()).ToString()
	if err != nil {
		t.Fatalf("redistest: INFO server: %v", err)
	}
	return redisproc.ServerName(info)
}

// RequireBinary skips t, with a message that starts with SkipPrefix,
// unless the server program the harness runs (REDIS_SERVER_BIN) passes ok
// (nil: never): for tests that must decide before they start a server.
func RequireBinary(t testing.TB, what string, ok func(Version) bool) {
	t.Helper()
	v := ServerVersion(t)
	if ok == nil || !ok(v) {
		t.Skipf("%s %s, which this server (%s) lacks", SkipPrefix, what, v)
	}
}

// ServerVersion is the version of the server program the harness runs.
func ServerVersion(t testing.TB) Version {
	t.Helper()
	v, err := redisproc.BinaryVersion(redisproc.Binary())
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	return Version(v)
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
// Redis 7.2, so a test that depends on a behaviour should ask the server
// (Server.Require) rather than compare across forks.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || v.Major == major && v.Minor >= minor
}

// DeniedByACL reports whether err is a server's ACL refusal, in the words
// of any supported version: NOPERM for a command; inside a script, Redis
// 6.2 and 7.0 say "The user executing the script can't access/run ...",
// Redis 7.2, 7.4 and Valkey 8 "ACL failure in script: ...".
func DeniedByACL(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "NOPERM") || strings.Contains(msg, "ACL failure in script") ||
		strings.Contains(msg, "script can't access") || strings.Contains(msg, "script can't run")
}

var tlsBuilt sync.Map // program -> bool

// RequireTLS skips t, with a message that starts with SkipPrefix, unless
// the server program was built with TLS (linked with OpenSSL: Debian's
// redis-server is; the builds of ../shared/servers are not).
func RequireTLS(t testing.TB) {
	t.Helper()
	bin := redisproc.Binary()
	built, ok := tlsBuilt.Load(bin)
	if !ok {
		path, err := exec.LookPath(bin)
		if err != nil {
			t.Fatalf("redistest: %v", err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("redistest: %v", err)
		}
		built = bytes.Contains(data, []byte("libssl")) || bytes.Contains(data, []byte("SSL_CTX_new"))
		tlsBuilt.Store(bin, built)
	}
	if !built.(bool) {
		t.Skipf("%s TLS (a server built with it), which this server (%s) lacks", SkipPrefix, bin)
	}
}
