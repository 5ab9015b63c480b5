package feature

import (
	"context"

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
	// convention (BILLING_REDIS_URL); when set, it replaces the address
	// after the REDIS_<NAMESPACE>_* overrides.
	URLVar string
	// Overrides change the settings in code, last and in order.
	Overrides []func(*provider.Options)
}

// Open returns the part's client: its settings are base with the part's
// REDIS_<NAMESPACE>_* variables, then URLVar, then Overrides; its
// connection is acquired from reg (shared with parts of equal settings).
// The func releases the reference; the client must not be used after it.
func (p Part) Open(ctx context.Context, reg *registry.Registry, base provider.Options) (*Client, func(), error) {
	opts, err := p.Options(base)
	if err != nil {
		return nil, nil, err
	}
	options := []Option{WithLogger(reg.Logger())}
	if p.HashTag {
		options = append(options, WithHashTag())
	}
	unclaim, err := reg.Claim(opts, p.Namespace, p.Prefix())
	if err != nil {
		return nil, nil, err
	}
	shared, unshare, err := reg.Acquire(ctx, opts)
	if err != nil {
		unclaim()
		return nil, nil, err
	}
	release := func() { unshare(); unclaim() }
	if opts.LearnCommands {
		l := reg.Value(shared, learnerKey{}, func() any { return NewCommandLearner(shared) }).(*CommandLearner)
		options = append(options, LearnCommands(l))
	}
	return New(shared, p.Namespace, options...), release, nil
}

// Options returns the part's settings: base with the part's
// REDIS_<NAMESPACE>_* variables, then URLVar, then Overrides, as Open
// uses them.
func (p Part) Options(base provider.Options) (provider.Options, error) {
	if err := ValidNamespace(p.Namespace); err != nil {
		return provider.Options{}, err
	}
	opts, err := base.ForFeature(p.Namespace)
	if err != nil {
		return provider.Options{}, err
	}
	if p.URLVar != "" {
		if opts, err = opts.WithURLVar(p.URLVar); err != nil {
			return provider.Options{}, err
		}
	}
	for _, o := range p.Overrides {
		o(&opts)
	}
	return opts, nil
}

// Prefix is what the part puts in front of its keys and channels:
// "namespace:", or "{namespace}:" with HashTag.
func (p Part) Prefix() string { return keyPrefix(p.Namespace, p.HashTag) }

// Open is Part{Namespace: namespace, Overrides: overrides}.Open.
func Open(ctx context.Context, reg *registry.Registry, base provider.Options, namespace string, overrides ...func(*provider.Options)) (*Client, func(), error) {
	return Part{Namespace: namespace, Overrides: overrides}.Open(ctx, reg, base)
}

// learnerKey keys the CommandLearner of a connection in the registry.
type learnerKey struct{}
