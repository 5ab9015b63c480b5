package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis"
	"github.com/wireredis/wireredis/provider"
)

// embeddedEnv is what rueidis needs to talk to miniredis: no CLIENT
// TRACKING, no cluster probe, RESP2.
var embeddedEnv = map[string]string{
	"REDIS_DISABLE_CACHE":       "true",
	"REDIS_FORCE_SINGLE_CLIENT": "true",
	"REDIS_PROTOCOL":            "2",
}

func init() {
	register("demo", command{
		summary: "build the session and cache parts with wire, write through them, show the keys as stored",
		usage: `usage: wireredis demo

Uses REDIS_URL (or REDIS_HOST, ...) when set, an embedded Redis otherwise.
Example:
  REDIS_URL=redis://localhost:6379/0 wireredis demo`,
		run: func(ctx context.Context, fs *flag.FlagSet, args []string, stdout, _ io.Writer) error {
			if err := parse(fs, args); err != nil {
				return err
			}
			return demo(ctx, stdout)
		},
	})
}

func demo(ctx context.Context, out io.Writer) error {
	if os.Getenv("REDIS_URL") == "" && os.Getenv("REDIS_URL_FILE") == "" && os.Getenv("REDIS_HOST") == "" {
		mr, err := miniredis.Run()
		if err != nil {
			return fmt.Errorf("start the embedded Redis: %w", err)
		}
		defer mr.Close()
		if err := os.Setenv("REDIS_URL", "redis://"+mr.Addr()); err != nil {
			return err
		}
		for k, v := range embeddedEnv {
			if err := os.Setenv(k, v); err != nil {
				return err
			}
		}
		fmt.Fprintf(out, "Redis: embedded (miniredis) at %s; set REDIS_URL to use a server of yours\n", mr.Addr())
	}

	parts, cleanup, err := wireredis.InitializeParts(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if cleanup != nil {
			cleanup()
		}
	}()
	opts, err := provider.Load()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Settings: %s\n\n", opts)

	s, c := parts.Session, parts.Cache
	fmt.Fprintln(out, `session.Do(SET user:42 "ann" EX 1800)`)
	if err := s.Do(ctx, s.B().Set().Key("user:42").Value("ann").ExSeconds(1800).Build()).Error(); err != nil {
		return err
	}
	fmt.Fprintln(out, `cache.Do(SET page:/home "<html>..." EX 60)`)
	if err := c.Do(ctx, c.B().Set().Key("page:/home").Value("<html>...</html>").ExSeconds(60).Build()).Error(); err != nil {
		return err
	}
	name, err := s.Do(ctx, s.B().Get().Key("user:42").Build()).ToString()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "session.Do(GET user:42) = %q\n", name)
	if err := c.Do(ctx, c.B().Get().Key("user:42").Build()).Error(); rueidis.IsRedisNil(err) {
		fmt.Fprintln(out, "cache.Do(GET user:42) = (nil): the cache part cannot see the session's keys")
	}

	if err := printStoredKeys(ctx, out, opts); err != nil {
		return err
	}

	stats := parts.Registry.Stats()
	fmt.Fprintf(out, "\nConnections: the registry opened %d for 2 parts\n", len(stats))
	for _, st := range stats {
		fmt.Fprintf(out, "  %s db=%d refs=%d parts=%s\n", st.Addr, st.DB, st.Refs, strings.Join(st.Namespaces, ","))
	}

	cleanup()
	cleanup = nil
	fmt.Fprintf(out, "\nAfter wire's cleanup: %d connections open\n", len(parts.Registry.Stats()))
	return nil
}

// printStoredKeys lists the keys as the server holds them, through a plain
// client of its own.
func printStoredKeys(ctx context.Context, out io.Writer, opts provider.Options) error {
	co, err := opts.ClientOption()
	if err != nil {
		return err
	}
	raw, err := rueidis.NewClient(co)
	if err != nil {
		return err
	}
	defer raw.Close()
	keys, err := raw.Do(ctx, raw.B().Keys().Pattern("*").Build()).AsStrSlice()
	if err != nil {
		return err
	}
	slices.Sort(keys)
	fmt.Fprintln(out, "\nKeys as stored on the server:")
	for _, k := range keys {
		ttl, err := raw.Do(ctx, raw.B().Ttl().Key(k).Build()).AsInt64()
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "  %-20s ttl %s\n", k, time.Duration(ttl)*time.Second)
	}
	return nil
}
