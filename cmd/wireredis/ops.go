package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/registry"
)

func init() {
	register("config", command{
		summary: "show each part's effective settings (secrets redacted) and which parts share a connection",
		usage: `usage: wireredis config [-parts session,cache,...] [-json]

Resolves the settings from the environment exactly as the library does.
Exit status 2, naming the variable, when a setting is invalid.
Example:
  REDIS_URL=redis://cache:6379 REDIS_ANALYTICS_DB=1 wireredis config -parts session,cache,analytics`,
		run: configCmd,
	})
	register("ping", command{
		summary: "dial each distinct connection, report latency and server version (exit 0/1: a health probe)",
		usage: `usage: wireredis ping [-parts session,cache,...] [-timeout 2s]

Example (a container health check):
  wireredis ping -parts session,cache -timeout 1s`,
		run: pingCmd,
	})
	register("keys", command{
		summary: "list a part's keys, without the prefix (a namespaced SCAN)",
		usage: `usage: wireredis keys -part session [-match 'user:*'] [-count N]

Example:
  wireredis keys -part session -match 'user:*' -count 20`,
		run: keysCmd,
	})
}

// resolved is one part's settings.
type resolved struct {
	part string
	opts provider.Options
}

func partsFlag(fs *flag.FlagSet) *string {
	return fs.String("parts", "session,cache", "comma-separated part names")
}

// resolve loads the environment and each part's settings.
func resolve(list string) ([]resolved, error) {
	base, err := provider.Load()
	if err != nil {
		return nil, err
	}
	var out []resolved
	for _, p := range strings.Split(list, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		o, err := base.ForFeature(p)
		if err != nil {
			return nil, err
		}
		out = append(out, resolved{p, o})
	}
	if len(out) == 0 {
		return nil, usageErr("-parts names no part")
	}
	return out, nil
}

// sharing groups part names by fingerprint, in first-seen order.
func sharing(parts []resolved) (fps []string, by map[string][]string) {
	by = map[string][]string{}
	for _, r := range parts {
		fp := r.opts.Fingerprint()
		if by[fp] == nil {
			fps = append(fps, fp)
		}
		by[fp] = append(by[fp], r.part)
	}
	return fps, by
}

type partJSON struct {
	Part        string   `json:"part"`
	Prefix      string   `json:"prefix"`
	Addr        string   `json:"addr"`
	DB          int      `json:"db"`
	Username    string   `json:"username,omitempty"`
	PasswordSet bool     `json:"password_set"`
	TLS         bool     `json:"tls"`
	Protocol    int      `json:"protocol"`
	Settings    string   `json:"settings"`
	Fingerprint string   `json:"fingerprint"`
	SharesWith  []string `json:"shares_with"`
}

func configCmd(_ context.Context, fs *flag.FlagSet, args []string, stdout, _ io.Writer) error {
	list := partsFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	parts, err := resolve(*list)
	if err != nil {
		return err
	}
	fps, by := sharing(parts)
	if *asJSON {
		out := make([]partJSON, 0, len(parts))
		for _, r := range parts {
			o := r.opts
			var others []string
			for _, p := range by[o.Fingerprint()] {
				if p != r.part {
					others = append(others, p)
				}
			}
			out = append(out, partJSON{
				Part: r.part, Prefix: r.part + ":", Addr: o.Addr(), DB: o.DB, Username: o.Username,
				PasswordSet: o.Password != "", TLS: o.TLS, Protocol: o.Protocol, Settings: o.String(),
				Fingerprint: o.Fingerprint(), SharesWith: others,
			})
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PART\tFINGERPRINT\tSETTINGS")
	for _, r := range parts {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.part, r.opts.Fingerprint(), r.opts)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n%d connection(s) for %d part(s):\n", len(fps), len(parts))
	for _, fp := range fps {
		fmt.Fprintf(stdout, "  %s: %s\n", fp, strings.Join(by[fp], ", "))
	}
	return nil
}

func pingCmd(ctx context.Context, fs *flag.FlagSet, args []string, stdout, _ io.Writer) error {
	list := partsFlag(fs)
	timeout := fs.Duration("timeout", 2*time.Second, "bound on dial, handshake and PING of each connection")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *timeout <= 0 {
		return usageErr("-timeout must be more than 0")
	}
	parts, err := resolve(*list)
	if err != nil {
		return err
	}
	reg, closeAll := registry.New(discardLogger())
	defer closeAll()
	fps, by := sharing(parts)
	failed := 0
	for _, fp := range fps {
		var opts provider.Options
		for _, r := range parts {
			if r.opts.Fingerprint() == fp {
				opts = r.opts
				break
			}
		}
		opts.PingTimeout = *timeout
		who := strings.Join(by[fp], ",")
		latency, version, err := pingOnce(ctx, reg, opts, *timeout)
		if err != nil {
			failed++
			fmt.Fprintf(stdout, "FAIL  %s db=%d (%s): %v\n", opts.Addr(), opts.DB, who, err)
			continue
		}
		fmt.Fprintf(stdout, "ok    %s db=%d (%s): PING %s, redis %s\n", opts.Addr(), opts.DB, who, latency.Round(time.Microsecond), version)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d connection(s) failed", failed, len(fps))
	}
	return nil
}

func pingOnce(ctx context.Context, reg *registry.Registry, opts provider.Options, timeout time.Duration) (time.Duration, string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, release, err := reg.Acquire(ctx, opts)
	if err != nil {
		return 0, "", err
	}
	defer release()
	start := time.Now()
	if err := c.Do(ctx, c.B().Ping().Build()).Error(); err != nil {
		return 0, "", err
	}
	latency := time.Since(start)
	info, err := c.Do(ctx, c.B().Info().Section("server").Build()).ToString()
	if err != nil {
		return latency, "unknown", nil //nolint:nilerr // INFO may be denied by ACL; PING answered
	}
	version := "unknown"
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			version = v
		}
	}
	return latency, version, nil
}

func keysCmd(ctx context.Context, fs *flag.FlagSet, args []string, stdout, _ io.Writer) error {
	part := fs.String("part", "", "the part whose keys to list (required)")
	match := fs.String("match", "", "a glob pattern within the part ('user:*')")
	count := fs.Int("count", 0, "list at most this many keys (0: all)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *part == "" {
		return usageErr("-part is required")
	}
	if *count < 0 {
		return usageErr("-count must be 0 or more")
	}
	base, err := provider.Load()
	if err != nil {
		return err
	}
	reg, closeAll := registry.New(discardLogger())
	defer closeAll()
	c, release, err := feature.Open(ctx, reg, base, *part)
	if err != nil {
		return err
	}
	defer release()
	n := 0
	for key, err := range c.Scan(ctx, feature.ScanOptions{Match: *match}) {
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, key)
		if n++; *count > 0 && n >= *count {
			break
		}
	}
	return nil
}
