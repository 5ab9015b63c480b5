package feature

import (
	"github.com/redis/rueidis"
	"github.com/redis/rueidis/rueidislock"
)

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
