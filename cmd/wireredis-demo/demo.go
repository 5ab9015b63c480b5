package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/cmd/wireredis-demo/internal/demo"
	"github.com/wireredis/wireredis/internal/redisproc"
	"github.com/wireredis/wireredis/provider"
)

// embeddedEnv is what rueidis needs to talk to miniredis: no CLIENT
// TRACKING, no cluster probe, RESP2.
var embeddedEnv = map[string]string{
	"REDIS_DISABLE_CACHE":       "true",
	"REDIS_FORCE_SINGLE_CLIENT": "true",
	"REDIS_PROTOCOL":            "2",
}

// embedRedis starts a Redis for the demo when the environment names none,
// and points REDIS_URL at it. The func stops it.
func embedRedis(out io.Writer) (func(), error) {
	if os.Getenv("REDIS_URL") != "" || os.Getenv("REDIS_URL_FILE") != "" || os.Getenv("REDIS_HOST") != "" {
		return func() {}, nil
	}
	if _, err := exec.LookPath("redis-server"); err == nil {
		p, err := redisproc.Start()
		if err == nil {
			fmt.Fprintf(out, "Redis: embedded redis-server at %s (set REDIS_URL to use yours)\n", p.Addr)
			return p.Stop, os.Setenv("REDIS_URL", "redis://"+p.Addr)
		}
	}
	mr, err := miniredis.Run()
	if err != nil {
		return nil, fmt.Errorf("start the embedded Redis: %w", err)
	}
	fmt.Fprintf(out, "Redis: embedded miniredis at %s, without client-side caching (set REDIS_URL to use yours)\n", mr.Addr())
	if err := os.Setenv("REDIS_URL", "redis://"+mr.Addr()); err != nil {
		return nil, err
	}
	for k, v := range embeddedEnv {
		if err := os.Setenv(k, v); err != nil {
			return nil, err
		}
	}
	return mr.Close, nil
}

var demoParts = []string{"session", "cache", "analytics"}

func runDemo(ctx context.Context, out io.Writer, serveAddr string) error {
	stop, err := embedRedis(out)
	if err != nil {
		return err
	}
	defer stop()
	if os.Getenv("REDIS_ANALYTICS_DB") == "" && os.Getenv("REDIS_ANALYTICS_URL") == "" {
		if err := os.Setenv("REDIS_ANALYTICS_DB", "1"); err != nil {
			return err
		}
		fmt.Fprintln(out, "REDIS_ANALYTICS_DB=1 (set by the demo): the analytics part gets a connection of its own")
	}
	logger := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey || a.Key == slog.LevelKey {
			return slog.Attr{}
		}
		return a
	}}))
	fmt.Fprintln(out, "\n== wire: initializeDemo (cmd/wireredis-demo/wire.go)")
	tel := newDemoTelemetry()
	defer tel.shutdown()
	app, cleanup, err := initializeDemo(ctx, logger, tel.tp, tel.mp)
	if err != nil {
		return err
	}
	defer func() {
		if cleanup != nil {
			cleanup()
		}
	}()
	if err := reportParts(out, app); err != nil {
		return err
	}
	if serveAddr != "" {
		err := serve(ctx, out, app, serveAddr)
		fmt.Fprintln(out, "\n== shutdown: wire's cleanup releases the parts in reverse order")
		cleanup()
		cleanup = nil
		fmt.Fprintf(out, "connections open: %d\n", len(app.Registry.Stats()))
		return err
	}
	scriptCtx, root := tel.tp.Tracer("wireredis demo").Start(ctx, "demo script")
	err = script(scriptCtx, out, app)
	root.End()
	if err != nil {
		return err
	}
	if err := printStoredKeys(ctx, out); err != nil {
		return err
	}
	tel.printTrace(out, "demo script")
	if err := tel.printMetrics(out); err != nil {
		return err
	}
	fmt.Fprintln(out, "\n== shutdown: wire's cleanup releases the parts in reverse order")
	cleanup()
	cleanup = nil
	fmt.Fprintf(out, "connections open: %d\n", len(app.Registry.Stats()))
	return nil
}

func reportParts(out io.Writer, app *demo.App) error {
	base, err := provider.Load()
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "\n== parts")
	for _, name := range demoParts {
		o, err := base.ForPart(name)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%-10s prefix %-11s %s db=%d\n", name, name+":", o.Addr(), o.DB)
	}
	stats := app.Registry.Stats()
	fmt.Fprintf(out, "\n== connections: the registry opened %d for %d parts\n", len(stats), len(demoParts))
	for _, st := range stats {
		fmt.Fprintf(out, "%s db=%d refs=%d parts=%s\n", st.Addr, st.DB, st.Refs, strings.Join(st.Parts, ","))
	}
	return nil
}

// script runs the services once and reports what they did.
func script(ctx context.Context, out io.Writer, app *demo.App) error {
	fmt.Fprintln(out, "\n== sessions")
	token, err := app.Sessions.Login(ctx, "ann")
	if err != nil {
		return err
	}
	user, err := app.Sessions.Read(ctx, token)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "login ann → token %s…; read → %s\n", token[:6], user)
	if err := app.Sessions.Touch(ctx, token); err != nil {
		return err
	}
	fmt.Fprintf(out, "touch → TTL back to %s\n", demo.SessionTTL)
	if err := app.Sessions.Logout(ctx, token); err != nil {
		return err
	}
	if _, err := app.Sessions.Read(ctx, token); errors.Is(err, demo.ErrNoSession) {
		fmt.Fprintln(out, "logout → read again: no such session")
	}
	if _, err := app.Sessions.Login(ctx, "bob"); err != nil {
		return err
	}
	fmt.Fprintln(out, "login bob (stays logged in)")

	fmt.Fprintln(out, "\n== cache-aside (client-side caching through DoCache)")
	load := func(context.Context) (string, error) { return "Blue teapot, 0.75 l", nil }
	for range 4 { // a request every 20ms
		if _, err := app.Cache.Get(ctx, "product:42", load); err != nil {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
	st := app.Cache.Stats()
	fmt.Fprintf(out, "4 lookups of product:42: %d loaded from the source, %d read from Redis, %d served by the client-side cache\n", st.Loads, st.RedisHits, st.ClientCache)

	fmt.Fprintln(out, "\n== analytics")
	for range 2 {
		if _, err := app.Analytics.Count(ctx, "login"); err != nil {
			return err
		}
	}
	fmt.Fprintln(out, "counted 2 login events")
	return nil
}

// printStoredKeys lists the keys as the server holds them, for each
// connection of the demo's parts, through plain clients of its own.
func printStoredKeys(ctx context.Context, out io.Writer) error {
	base, err := provider.Load()
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "\n== keys as stored on the server")
	seen := map[string]bool{}
	for _, name := range demoParts {
		o, err := base.ForPart(name)
		if err != nil {
			return err
		}
		if seen[o.Fingerprint()] {
			continue
		}
		seen[o.Fingerprint()] = true
		co, err := o.ClientOption()
		if err != nil {
			return err
		}
		co.ClientName = "wireredis-demo-inspector"
		raw, err := rueidis.NewClient(co)
		if err != nil {
			return err
		}
		keys, err := raw.Do(ctx, raw.B().Keys().Pattern("*").Build()).AsStrSlice()
		if err != nil {
			raw.Close()
			return err
		}
		slices.Sort(keys)
		for _, k := range keys {
			ttl, _ := raw.Do(ctx, raw.B().Ttl().Key(k).Build()).AsInt64()
			shown := "no TTL"
			if ttl >= 0 {
				shown = "ttl " + (time.Duration(ttl) * time.Second).String()
			}
			if strings.HasPrefix(k, "session:tok:") {
				k = k[:len("session:tok:")+6] + "…"
			}
			fmt.Fprintf(out, "db %d  %-24s %s\n", o.DB, k, shown)
		}
		raw.Close()
	}
	return nil
}

// serve runs the HTTP API until ctx ends (SIGINT/SIGTERM), then lets the
// requests in flight finish.
func serve(ctx context.Context, out io.Writer, app *demo.App, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: app.Handler(), ReadHeaderTimeout: 5 * time.Second}
	fmt.Fprintf(out, "\n== serving on http://%s until SIGINT/SIGTERM\n", ln.Addr())
	fmt.Fprintln(out, "try: curl -X POST 'http://HOST/login?user=ann'; curl http://HOST/products/42; curl http://HOST/stats")
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(out, "stopping: waiting for the requests in flight")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
