package feature

import (
	"context"
	"fmt"

	"github.com/wireredis/wireredis/internal/rueidisx"
	"github.com/wireredis/wireredis/internal/seam"
	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/registry"
)

// Part describes one part of a service: its namespace, and how its
// settings differ from the base ones. Generated providers (wireredis gen)
// are a Part and a call to Open.
type Part struct {
	// Namespace prefixes the part's keys and names its variables
	// (REDIS_<NAMESPACE>_*).
	Namespace string
	// HashTag prefixes keys with "{namespace}:" instead of "namespace:", so
	// that all of the part's keys hash to one cluster slot and multi-key
	// commands across them work on a cluster.
	HashTag bool
	// URLVar names a variable that holds the part's URL in another
	// convention (BILLING_REDIS_URL); when set, it replaces the inherited
	// address, and speaks for the part as REDIS_<NAMESPACE>_URL would (the
	// two must not both be set).
	URLVar string
	// Overrides change the settings in code, last and in order. A setting
	// they change must not also be set by a REDIS_<NAMESPACE>_* variable
	// (or URLVar): Open fails naming both.
	Overrides []func(*provider.Options)
}

// Declare tells the program that it has the part p, of Go name name
// (RateLimit, for the type RateLimitRedis), and returns p. The registry
// then knows, when the first part opens, which REDIS_<X>_* variables name
// no part, and warns about them once, with the variable probably meant:
// REDIS_RATELIMIT_DB for the part RateLimit of namespace rl, whose
// variables are REDIS_RL_*. The files wireredis gen writes declare their
// parts, and this package its own; declare a part of your own that opens
// after others, in a package-level variable:
//
//	var reportsPart = feature.Declare("Reports", feature.Part{Namespace: "reports"})
//
// (Part.Open declares the part too, but only as it opens: the variables
// of a part that opens later would be reported as naming no part.)
func Declare(name string, p Part) Part {
	seam.DeclarePart(name, p.Namespace)
	return p
}

// Open returns the part's client: its settings are Options(base); its
// connection is acquired from reg (shared with parts of equal settings).
// The func releases the reference; the client must not be used after it.
func (p Part) Open(ctx context.Context, reg *registry.Registry, base provider.Options) (*Client, func(), error) {
	opts, err := p.Options(base)
	if err != nil {
		return nil, nil, err
	}
	return p.OpenWith(ctx, reg, opts)
}

// Options resolves the part's settings: base, then the part's
// REDIS_<NAMESPACE>_* variables, then URLVar, then Overrides, each more
// specific than the one before (provider.Options.WithOverrides says what
// may not be set twice). The operator tools (wireredis config, ping, keys)
// resolve a part through it, as Open does.
func (p Part) Options(base provider.Options) (provider.Options, error) {
	if err := ValidNamespace(p.Namespace); err != nil {
		return provider.Options{}, err
	}
	opts, err := base.ForPart(p.Namespace)
	if err != nil {
		return provider.Options{}, err
	}
	if p.URLVar != "" {
		if opts, err = opts.WithURLVar(p.URLVar); err != nil {
			return provider.Options{}, err
		}
	}
	return opts.WithOverrides(p.Overrides...)
}

// OpenWith opens the part with settings resolved by Options and perhaps
// changed since (the operator tools dial fail-fast, whatever the part's
// start-up policy).
//
// It claims the part's prefix on the server: a part whose prefix
// overlaps another's there is refused (ErrOverlap).
func (p Part) OpenWith(ctx context.Context, reg *registry.Registry, opts provider.Options) (*Client, func(), error) {
	if err := ValidNamespace(p.Namespace); err != nil {
		return nil, nil, err
	}
	if err := replyMirror(); err != nil {
		return nil, nil, fmt.Errorf("wireredis: part %q: %w", p.Namespace, err)
	}
	seam.DeclarePart("", p.Namespace)
	plumbing := seam.Of(reg)
	unclaim, err := claimsOf(plumbing).claim(opts, p.Namespace, p.Prefix())
	if err != nil {
		return nil, nil, err
	}
	shared, unshare, err := reg.Acquire(ctx, opts)
	if err != nil {
		unclaim()
		return nil, nil, err
	}
	release := func() { unshare(); unclaim() }
	options := []Option{WithLogger(plumbing.Logger())}
	if opts.CommandTimeout > 0 {
		by := opts.Sources()["COMMAND_TIMEOUT"]
		if own := "REDIS_" + provider.EnvToken(p.Namespace) + "_COMMAND_TIMEOUT"; by == "REDIS_COMMAND_TIMEOUT" {
			by += "; " + own + " for this part" // where to change it for this part alone
		}
		options = append(options, withCommandTimeout(opts.CommandTimeout, by))
	}
	if hooks := plumbing.Hooks(); hooks != nil && opts.OTelEnabled() {
		if obs := hooks.Part(p.Namespace, seam.Conn{Addr: opts.Addr(), DB: opts.DB}); obs != nil {
			options = append(options, withObserver(obs))
		}
	}
	if p.HashTag {
		options = append(options, WithHashTag())
	}
	if opts.LearnCommands {
		l := plumbing.ConnValue(shared, learnerKey{}, func() any { return NewCommandLearner(shared) }).(*CommandLearner)
		options = append(options, LearnCommands(l))
	}
	return New(shared, p.Namespace, options...), release, nil
}

// Prefix is what the part puts in front of its keys and channels:
// "namespace:", or "{namespace}:" with HashTag.
func (p Part) Prefix() string { return keyPrefix(p.Namespace, p.HashTag) }

// Open is Part{Namespace: namespace, Overrides: overrides}.Open.
func Open(ctx context.Context, reg *registry.Registry, base provider.Options, namespace string, overrides ...func(*provider.Options)) (*Client, func(), error) {
	return Part{Namespace: namespace, Overrides: overrides}.Open(ctx, reg, base)
}

// replyMirror is nil when replies can be given back without the prefix:
// internal/rueidisx's mirror of rueidis's replies matches the rueidis
// linked in. Otherwise parts do not open, rather than answer with
// prefixed names. Tests replace it.
var replyMirror = func() error {
	if rueidisx.MessageVerified() {
		return nil
	}
	return rueidisx.Check()
}

// learnerKey keys the CommandLearner of a connection in the registry.
type learnerKey struct{}
