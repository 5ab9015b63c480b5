package feature

import (
	"github.com/redis/rueidis"
	"github.com/redis/rueidis/rueidiscompat"
	"github.com/redis/rueidis/rueidislock"
)

// Compat returns rueidiscompat's go-redis-style API over the part, for
// teams that know go-redis: part.Compat().Set(ctx, "k", "v", 0) writes
// namespace:k. Replies that carry key names (Keys, Scan, BLPop) show them
// prefixed, as with Do.
func (c *Client) Compat() rueidiscompat.Cmdable { return rueidiscompat.NewAdapter(c) }

// LockerOption adapts opt so that rueidislock.NewLocker uses the part:
// the lock keys live under the namespace (session:rueidislock:{name}:0),
// and closing the locker leaves the shared connection open.
//
//	locker, err := rueidislock.NewLocker(part.LockerOption(rueidislock.LockerOption{}))
//
// The locker learns of released locks by polling every TryNextAfter rather
// than through client-side caching invalidations, which a shared
// connection cannot route to it.
func (c *Client) LockerOption(opt rueidislock.LockerOption) rueidislock.LockerOption {
	opt.ClientOption.DisableCache = true
	opt.ClientBuilder = func(rueidis.ClientOption) (rueidis.Client, error) { return c, nil }
	return opt
}
