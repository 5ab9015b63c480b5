package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/wireredis/wireredis/provider"
)

const usageText = `usage: wireredis-demo [-serve addr]

Runs the example application: the session and cache parts and a generated
analytics part, built by wire. Uses REDIS_URL (or REDIS_HOST, ...) when
set; otherwise an embedded Redis (a redis-server from PATH, else
miniredis). The analytics part gets REDIS_ANALYTICS_DB=1 unless you set
it, so it opens a connection of its own. With -serve it keeps an HTTP API
running until SIGINT/SIGTERM.
Examples:
  go run ./cmd/wireredis-demo
  REDIS_URL=redis://localhost:6379/0 go run ./cmd/wireredis-demo -serve :8080
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs the demo and returns the exit status: 0 on success, 1 on
// failure, 2 on a usage error or an invalid setting.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("wireredis-demo", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the errors are printed below
	serve := fs.String("serve", "", "serve the HTTP API on this address (such as :8080) until SIGINT/SIGTERM")
	printUsage := func(w io.Writer) {
		fmt.Fprint(w, usageText)
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout)
			return 0
		}
		fmt.Fprintf(stderr, "wireredis-demo: %v\n\n", err)
		printUsage(stderr)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "wireredis-demo: unexpected argument %q\n\n", fs.Arg(0))
		printUsage(stderr)
		return 2
	}
	err := runDemo(ctx, stdout, *serve)
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "wireredis-demo: %s\n", strings.ReplaceAll(err.Error(), "wireredis: ", ""))
	if errors.Is(err, provider.ErrInvalidConfig) {
		return 2
	}
	return 1
}
