// Command keytablegen writes internal/keyspec/table_gen.go from the
// COMMAND replies of every Redis and Valkey server the project supports:
// redis-server from PATH and each server build in the servers directory
// (REDIS_SERVERS_DIR, by default ../shared/servers beside the module's
// root), which it starts and stops itself; or the servers at -addr. The
// table is their union: each command's entry comes from the servers that
// have it (see merge.go). What key specs cannot express is classes.go's:
// which commands a part refuses and why, which commands without keys it
// may send, the hand-written rules, and where replies carry names. A test
// checks that the committed table is what it writes now.
//
//	go generate ./internal/keyspec
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
)

func main() {
	out := flag.String("o", "table_gen.go", "file to write")
	var addrs []string
	flag.Func("addr", "a running server to read COMMAND from (repeatable; default: start every server of -servers and redis-server from PATH)", func(a string) error {
		addrs = append(addrs, a)
		return nil
	})
	dir := flag.String("servers", "", "directory of server builds (default: $"+ServersDirEnv+", or ../shared/servers beside the module's root)")
	flag.Parse()
	if err := run(*out, addrs, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "keytablegen:", err)
		os.Exit(1)
	}
}

func run(out string, addrs []string, dir string) error {
	ctx := context.Background()
	var sources []Source
	if len(addrs) > 0 {
		for _, a := range addrs {
			src, err := FetchAddr(ctx, a)
			if err != nil {
				return fmt.Errorf("%s: %w", a, err)
			}
			sources = append(sources, src)
		}
	} else {
		bins, err := ServerPrograms(dir)
		if err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "keytablegen: reading", strings.Join(bins, ", "))
		if sources, err = FetchPrograms(ctx, bins); err != nil {
			return err
		}
	}
	src, err := Generate(sources)
	if err != nil {
		return err
	}
	return os.WriteFile(out, src, 0o644)
}
