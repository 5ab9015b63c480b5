package registry

import (
	"log/slog"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/seam"
)

// What the registry offers feature and telemetry goes through
// internal/seam, so that users see none of it.
func init() {
	seam.Of = func(reg any) seam.Registry { return plumbing{reg.(*Registry)} }
}

// plumbing is a registry as its sibling packages see it (seam.Registry).
type plumbing struct{ r *Registry }

func (p plumbing) Logger() *slog.Logger { return p.r.log }
func (p plumbing) Hooks() seam.Hooks    { return p.r.hooks }
func (p plumbing) Observe(h seam.Hooks) { p.r.hooks = h }
func (p plumbing) Value(key any, create func() any) any {
	return p.r.value(key, create)
}
func (p plumbing) ConnValue(client rueidis.Client, key any, create func() any) any {
	return p.r.connValue(client, key, create)
}

var _ seam.Deferred = (*deferred)(nil)
