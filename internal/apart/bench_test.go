package apart_test

import (
	"testing"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/apart"
	"github.com/wireredis/wireredis/redistest"
)

// BenchmarkClassify is what Classify adds to each command the registry's
// connections send (counted.Client.Do asks it of every one): a short
// name, a long one, and an UNSUBSCRIBE.
func BenchmarkClassify(b *testing.B) {
	bu := redistest.Start(b).Client.B()
	for _, cmd := range []rueidis.Completed{
		bu.Get().Key("k").Build(),
		bu.Zrangebyscore().Key("k").Min("0").Max("1").Build(),
		bu.Unsubscribe().Channel("ch").Build(),
	} {
		b.Run(cmd.Commands()[0], func(b *testing.B) {
			for b.Loop() {
				if apart.Classify(&cmd) == apart.Renamed {
					b.Fatal("renamed")
				}
			}
		})
	}
}
