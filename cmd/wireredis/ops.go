package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/internal/redisproc"
	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/registry"
)

func partsFlag(fs *flag.FlagSet) *string {
	return fs.String("parts", "", "comma-separated part names (default: the parts of -pkg's generated file, else session,cache)")
}

type partJSON struct {
	Part        string            `json:"part"`
	Prefix      string            `json:"prefix"`
	Addr        string            `json:"addr"`
	DB          int               `json:"db"`
	Username    string            `json:"username,omitempty"`
	PasswordSet bool              `json:"password_set"`
	TLS         bool              `json:"tls"`
	Protocol    int               `json:"protocol"`
	Startup     string            `json:"startup"`
	Settings    string            `json:"settings"`
	Sources     map[string]string `json:"sources"`
	Fingerprint string            `json:"fingerprint"`
	SharesWith  []string          `json:"shares_with"`
}

func configCommand(fs *flag.FlagSet) runner {
	src := pkgFlag(fs)
	list := partsFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	strict := fs.Bool("strict", false, "fail (exit 2) on REDIS_ variables that are not understood, instead of warning")
	return func(_ context.Context, stdout, stderr io.Writer) error {
		chosen, known, err := src.pick(*list)
		if err != nil {
			return err
		}
		base, parts, err := resolve(chosen)
		if err != nil {
			return err
		}
		if err := reportUnknown(base, src.partNames(known), *strict, stderr); err != nil {
			return err
		}
		groups := sharing(parts)
		if *asJSON {
			return configJSON(stdout, groups)
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "PART\tPREFIX\tFINGERPRINT\tSETTINGS")
		for _, r := range parts {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.part.Namespace, r.part.Prefix(), r.opts.Fingerprint(), r.opts)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\n%d connection(s) for %d part(s):\n", len(groups), len(parts))
		for _, g := range groups {
			fmt.Fprintf(stdout, "  %s: %s\n", g[0].opts.Fingerprint(), strings.Join(partNames(g), ", "))
		}
		return nil
	}
}

func configJSON(w io.Writer, groups [][]resolved) error {
	var out []partJSON
	for _, g := range groups {
		for _, r := range g {
			o := r.opts
			var others []string
			for _, p := range partNames(g) {
				if p != r.part.Namespace {
					others = append(others, p)
				}
			}
			out = append(out, partJSON{
				Part: r.part.Namespace, Prefix: r.part.Prefix(), Addr: o.Addr(), DB: o.DB, Username: o.Username,
				PasswordSet: o.Password != "", TLS: o.TLS, Protocol: o.Protocol, Startup: string(o.Startup),
				Settings: o.String(), Sources: o.Sources(), Fingerprint: o.Fingerprint(), SharesWith: others,
			})
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// reportUnknown warns about the REDIS_ variables that mean nothing to the
// loader or name no known part; under -strict they are an error.
func reportUnknown(base provider.Options, known []provider.PartName, strict bool, stderr io.Writer) error {
	unknown := base.UnknownVariablesOf(known)
	if len(unknown) == 0 {
		return nil
	}
	if strict {
		errs := make([]error, len(unknown))
		for i, u := range unknown {
			errs[i] = u
		}
		return &exitError{code: 2, err: errors.Join(errs...)}
	}
	for _, u := range unknown {
		fmt.Fprintf(stderr, "warning: %s: %s\n", u.Var, u.Reason)
	}
	return nil
}

func partNames(rs []resolved) []string {
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = r.part.Namespace
	}
	return names
}

// probeOptions are a part's settings for the tools' own dial: fail-fast
// whatever REDIS_STARTUP says (a probe must dial, not report "not ready"),
// within timeout when it is set. Neither changes the connection's identity.
func probeOptions(o provider.Options, timeout time.Duration) provider.Options {
	o.Startup = provider.StartupFailFast
	if timeout > 0 {
		o.PingTimeout = timeout
	}
	return o
}

func pingCommand(fs *flag.FlagSet) runner {
	src := pkgFlag(fs)
	list := partsFlag(fs)
	timeout := fs.Duration("timeout", 2*time.Second, "bound on dial, handshake and PING of each connection, TLS files included")
	return func(ctx context.Context, stdout, _ io.Writer) error {
		if *timeout <= 0 {
			return usageErr("-timeout must be more than 0")
		}
		chosen, _, err := src.pick(*list)
		if err != nil {
			return err
		}
		_, parts, err := resolve(chosen)
		if err != nil {
			return err
		}
		reg, closeAll := registry.New(discardLogger())
		defer closeAll()
		groups := sharing(parts)
		failed := 0
		var invalid []error // a TLS file, read when dialling: exit status 2
		for _, g := range groups {
			opts := probeOptions(g[0].opts, *timeout)
			who := strings.Join(partNames(g), ",")
			latency, version, err := pingOnce(ctx, reg, opts, *timeout)
			if err != nil {
				failed++
				if errors.Is(err, provider.ErrInvalidConfig) {
					invalid = append(invalid, err)
				}
				fmt.Fprintf(stdout, "FAIL  %s db=%d (%s): %s\n", opts.Addr(), opts.DB, who, strings.ReplaceAll(err.Error(), "wireredis: ", ""))
				continue
			}
			fmt.Fprintf(stdout, "ok    %s db=%d (%s): PING %s, %s\n", opts.Addr(), opts.DB, who, latency.Round(time.Microsecond), version)
		}
		if len(invalid) > 0 {
			return errors.Join(invalid...)
		}
		if failed > 0 {
			return fmt.Errorf("%d of %d connection(s) failed", failed, len(groups))
		}
		return nil
	}
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
		return latency, "version unknown", nil //nolint:nilerr // INFO may be denied by ACL; PING answered
	}
	version := redisproc.ServerName(info)
	if version == "" {
		version = "version unknown"
	}
	return latency, version, nil
}

func keysCommand(fs *flag.FlagSet) runner {
	src := pkgFlag(fs)
	part := fs.String("part", "", "the part whose keys to list (required)")
	match := fs.String("match", "", "a glob pattern within the part, such as 'user:*' (default: every key)")
	count := fs.Int("count", 0, "list at most this many keys (0: all)")
	return func(ctx context.Context, stdout, _ io.Writer) error {
		if *part == "" || strings.Contains(*part, ",") {
			return usageErr("-part names one part, and is required")
		}
		if *count < 0 {
			return usageErr("-count must be 0 or more")
		}
		chosen, _, err := src.pick(*part)
		if err != nil {
			return err
		}
		_, parts, err := resolve(chosen)
		if err != nil {
			return err
		}
		r := parts[0]
		reg, closeAll := registry.New(discardLogger())
		defer closeAll()
		c, release, err := r.part.OpenWith(ctx, reg, probeOptions(r.opts, 0))
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
}
