package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/wireredis/wireredis/provider"
)

// command is one subcommand of wireredis.
type command struct {
	name    string
	summary string // one line, for the list of commands
	usage   string // synopsis, what it does, and an example, for -h
	// setup defines the command's flags on fs and returns what runs the
	// command once they are parsed.
	setup func(fs *flag.FlagSet) runner
}

// runner runs a command whose flags are parsed.
type runner func(ctx context.Context, stdout, stderr io.Writer) error

// commands is the command line, in the order the usage lists it: a new
// command is one more entry here (and a paragraph in doc.go).
var commands = []command{
	{
		name:    "gen",
		summary: "write typed parts (types, wire providers and a wire set) for go generate",
		usage: `usage: wireredis gen -part Name=namespace[,hashtag][,db=N][,url_env=VAR] ... [-o file|-]

Refuses parts whose variables would collide (rate-limit and rate_limit both
read REDIS_RATE_LIMIT_*). The file's header records the parts; config, ping
and keys read it back with -pkg. -o - writes to standard output. Each
part's variables follow its namespace, not its Name (RateLimit=rl reads
REDIS_RL_*): gen prints them to standard error.
Example, in a file of the package that uses the parts:
  //go:generate go run github.com/wireredis/wireredis/cmd/wireredis gen -part Session=session -part RateLimit=ratelimit,hashtag
writes wireredis_gen.go with SessionRedis and RateLimitRedis, their
providers, and RedisParts = wire.NewSet(ProvideSessionRedis, ProvideRateLimitRedis).`,
		setup: genCommand,
	},
	{
		name:    "config",
		summary: "show each part's effective settings (secrets redacted) and which parts share a connection",
		usage: `usage: wireredis config [-pkg dir] [-parts a,b] [-json] [-strict]

Resolves each part as the application does: the REDIS_* variables, and
what wireredis gen put in code (hash tag, db=N, url_env), read from the
generated file in -pkg. Without a generated file it knows the library's
session and cache parts; settings made in hand-written code (Overrides of
a feature.Part of your own) it cannot see. Variables it does not understand are warnings
(errors with -strict), with the nearest known name. Fingerprints are the
same as in the application's logs.
Exit status 2, naming the variable, when a setting is invalid.
Example:
  REDIS_URL=redis://cache:6379 REDIS_REPORTS_DB=1 wireredis config -pkg ./cmd/svc`,
		setup: configCommand,
	},
	{
		name:    "ping",
		summary: "dial each distinct connection, report latency and server version (exit 0/1: a health probe)",
		usage: `usage: wireredis ping [-pkg dir] [-parts a,b] [-timeout 2s]

Dials fail-fast, whatever REDIS_STARTUP says, each connection once, within
-timeout (TLS files included). Exit status 0 when all answer, 1 when one
does not, 2 on a bad setting or an unknown part.
Example (a container health check):
  wireredis ping -pkg . -timeout 1s`,
		setup: pingCommand,
	},
	{
		name:    "keys",
		summary: "list a part's keys, without the prefix (a namespaced SCAN)",
		usage: `usage: wireredis keys -part name [-pkg dir] [-match 'user:*'] [-count N]

The part's prefix, hash tag and connection are the application's (see
config). Exit status 2 for a part the tools do not know.
Example:
  wireredis keys -pkg . -part session -match 'user:*' -count 20`,
		setup: keysCommand,
	},
	{
		name:    "acl",
		summary: "print the ACL users under which the server holds the parts to their keys (for redis-cli)",
		usage: `usage: wireredis acl [-pkg dir] [-parts a,b] [-user name | -per-part] [-no-listing] [-no-scripts] [-pattern p ...]

Prints one ACL SETUSER line per user, which redis-cli takes as it is: the
keys and channels under each part's prefix, the commands a part sends, and
what its connection needs (client-side caching, SELECT for a database
other than 0, READONLY for replica reads, CLUSTER SLOTS). The server then
refuses, with NOPERM, a Lua script that reaches outside the namespace and
every command a part refuses. The lines hold no password: give each user
one. Users are named by -user, else by each part's REDIS_USERNAME (or
REDIS_<PART>_USERNAME); -per-part makes one user per part. See
docs/namespacing.md, "The server's side (ACL)".
Example:
  wireredis acl -pkg . -user app | redis-cli -h redis.internal`,
		setup: aclCommand,
	},
	{
		name:    "version",
		summary: "print the version of wireredis and of Go it was built with",
		usage: `usage: wireredis version

Example:
  wireredis version`,
		setup: versionCommand,
	},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func lookup(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// exitError carries an exit status other than 1.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func (e *exitError) Unwrap() error { return e.err }

func usage(w io.Writer) {
	fmt.Fprint(w, "usage: wireredis <command> [flags]\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\nRun 'wireredis <command> -h' for a command's flags and an example.\n")
}

// commandUsage prints a command's -h: its summary, usage and every flag
// with its default.
func commandUsage(w io.Writer, c command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "%s\n\n%s\n\nFlags:\n", c.summary, c.usage)
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		n++
		kind, help := flag.UnquoteUsage(f)
		fmt.Fprintf(w, "  -%s", f.Name)
		if kind != "" {
			fmt.Fprintf(w, " %s", kind)
		}
		if !strings.Contains(help, "(default") { // else the text says it better
			def := f.DefValue
			if def == "" {
				def = "none"
			}
			help += " (default: " + def + ")"
		}
		fmt.Fprintf(w, "\n    \t%s\n", help)
	})
	if n == 0 {
		fmt.Fprintln(w, "  none")
	}
}

// run executes one command and returns the exit status: 0 on success, 1 on
// failure, 2 on a usage or configuration error or an unknown part.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	if args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		return 0
	}
	c, ok := lookup(args[0])
	if !ok {
		fmt.Fprintf(stderr, "wireredis: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	fs := flag.NewFlagSet("wireredis "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the errors are printed below
	runCommand := c.setup(fs)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			commandUsage(stdout, c, fs)
			return 0
		}
		fmt.Fprintf(stderr, "wireredis %s: %v\n\n", c.name, err)
		commandUsage(stderr, c, fs)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "wireredis %s: unexpected argument %q\n\n", c.name, fs.Arg(0))
		commandUsage(stderr, c, fs)
		return 2
	}
	err := runCommand(ctx, stdout, stderr)
	report := func(err error) {
		fmt.Fprintf(stderr, "wireredis %s: %s\n", c.name, strings.ReplaceAll(err.Error(), "wireredis: ", ""))
	}
	var ee *exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		report(ee.err)
		return ee.code
	case errors.Is(err, provider.ErrInvalidConfig):
		report(err)
		return 2
	}
	report(err)
	return 1
}

// usageErr is a usage error with a message, exit status 2.
func usageErr(format string, a ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, a...)}
}

// discardLogger keeps the registry's connection logs out of a command's
// report.
func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
