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
	summary string
	// usage is the synopsis and an example, shown by -h.
	usage string
	run   func(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{}

// order is how usage lists the commands.
var order = []string{"demo", "gen", "config", "ping", "keys"}

func register(name string, c command) { commands[name] = c }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// exitError carries an exit status other than 1.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func usage(w io.Writer) {
	fmt.Fprint(w, "usage: wireredis <command> [flags]\n\nCommands:\n")
	for _, name := range order {
		fmt.Fprintf(w, "  %-7s %s\n", name, commands[name].summary)
	}
	fmt.Fprint(w, "\nRun 'wireredis <command> -h' for a command's flags and an example.\n")
}

// run executes one command and returns the exit status: 0 on success, 1 on
// failure, 2 on a usage or configuration error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "wireredis: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	fs := flag.NewFlagSet("wireredis "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "%s\n\n%s\n\nFlags:\n", c.summary, c.usage)
		fs.PrintDefaults()
	}
	for _, a := range args[1:] {
		if a == "-h" || a == "-help" || a == "--help" {
			fs.SetOutput(stdout)
			fs.Usage()
			fs.SetOutput(stderr)
			return 0
		}
	}
	err := c.run(ctx, fs, args[1:], stdout, stderr)
	report := func(err error) {
		fmt.Fprintf(stderr, "wireredis %s: %s\n", args[0], strings.TrimPrefix(err.Error(), "wireredis: "))
	}
	var ee *exitError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		return 2 // the flag package has printed it
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

var errUsage = errors.New("usage")

// parse parses flags; no positional arguments are taken. (run has
// answered -h already.)
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	return nil
}

// usageErr is a usage error with a message, exit status 2.
func usageErr(format string, a ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, a...)}
}

// discardLogger keeps the registry's connection logs out of a command's
// report.
func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
