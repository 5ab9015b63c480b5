// Command keytablegen writes internal/keyspec/table_gen.go from the
// COMMAND reply of a Redis server: the one at -addr, or a redis-server from
// PATH that it starts and stops itself. What key specs cannot express is
// classes.go's: which commands a part refuses and why, which commands
// without keys it may send, the hand-written rules, and where replies
// carry names. A test checks that the committed table is what it writes
// now.
//
//	go generate ./internal/keyspec
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/redisproc"
)

func main() {
	out := flag.String("o", "table_gen.go", "file to write")
	addr := flag.String("addr", "", "Redis server to read COMMAND from (default: start redis-server from PATH)")
	flag.Parse()
	if err := run(*out, *addr); err != nil {
		fmt.Fprintln(os.Stderr, "keytablegen:", err)
		os.Exit(1)
	}
}

func run(out, addr string) error {
	if addr == "" {
		p, err := redisproc.Start()
		if err != nil {
			return err
		}
		defer p.Stop()
		addr = p.Addr
	}
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, ForceSingleClient: true, DisableCache: true})
	if err != nil {
		return err
	}
	defer c.Close()
	version, cmds, err := Fetch(context.Background(), c)
	if err != nil {
		return err
	}
	src, err := Generate(version, cmds)
	if err != nil {
		return err
	}
	return os.WriteFile(out, src, 0o644)
}
