package feature

import (
	"context"
	"fmt"

	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/registry"
)

// Open returns the part called namespace: its settings are base with the
// part's REDIS_<NAMESPACE>_* overrides, then the code overrides, in order;
// its connection is acquired from reg (shared with parts of equal
// settings). The func releases the reference; the client must not be used
// after it.
func Open(ctx context.Context, reg *registry.Registry, base provider.Options, namespace string, overrides ...func(*provider.Options)) (*Client, func(), error) {
	if namespace == "" {
		return nil, nil, fmt.Errorf("wireredis: feature.Open needs a namespace")
	}
	opts, err := base.ForFeature(namespace)
	if err != nil {
		return nil, nil, err
	}
	for _, o := range overrides {
		o(&opts)
	}
	shared, release, err := reg.Acquire(ctx, opts)
	if err != nil {
		return nil, nil, err
	}
	var options []Option
	if opts.LearnCommands {
		l := reg.Value(shared, learnerKey{}, func() any { return NewCommandLearner(shared) }).(*CommandLearner)
		options = append(options, LearnCommands(l))
	}
	return New(shared, namespace, options...), release, nil
}

// learnerKey keys the CommandLearner of a connection in the registry.
type learnerKey struct{}
