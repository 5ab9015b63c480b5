package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: wireredis <command>

Commands:
  demo    build the session and cache parts with wire, write through them,
          and show the keys as stored and the shared connection.
          Uses REDIS_URL (or REDIS_HOST...) when set, an embedded Redis otherwise.
          Example: REDIS_URL=redis://localhost:6379/0 wireredis demo
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command and returns the exit status: 0 on success, 1 on
// failure, 2 on a usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "demo":
		if len(args) > 1 {
			if args[1] == "-h" || args[1] == "--help" {
				fmt.Fprint(stdout, usage)
				return 0
			}
			fmt.Fprintf(stderr, "wireredis demo: unexpected argument %q\n\n%s", args[1], usage)
			return 2
		}
		if err := demo(ctx, stdout); err != nil {
			fmt.Fprintln(stderr, "wireredis demo:", err)
			return 1
		}
		return 0
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "wireredis: unknown command %q\n\n%s", args[0], usage)
	return 2
}
