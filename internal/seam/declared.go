package seam

import (
	"cmp"
	"slices"
	"sync"

	"github.com/wireredis/wireredis/provider"
)

var declared struct {
	mu    sync.Mutex
	parts []provider.PartName
}

// DeclarePart records that the program has the part namespace, of Go
// name name. The files wireredis gen writes declare their parts, and
// package feature its own (session, cache), when the program starts;
// feature.Part.Open declares a part as it opens. The registry then warns,
// once, about each REDIS_<X>_* variable that names no declared part
// (REDIS_RATELIMIT_DB for the part RateLimit whose variables are
// REDIS_RL_*). Declaring a part twice is harmless; a Go name given later
// completes one declared without it.
func DeclarePart(name, namespace string) {
	if provider.EnvToken(namespace) == "" {
		return
	}
	declared.mu.Lock()
	defer declared.mu.Unlock()
	for i, p := range declared.parts {
		if p.Namespace == namespace {
			if p.Name == "" {
				declared.parts[i].Name = name
			}
			return
		}
	}
	declared.parts = append(declared.parts, provider.PartName{Name: name, Namespace: namespace})
}

// DeclaredParts returns the parts declared so far (DeclarePart), by
// namespace.
func DeclaredParts() []provider.PartName {
	declared.mu.Lock()
	out := slices.Clone(declared.parts)
	declared.mu.Unlock()
	slices.SortFunc(out, func(a, b provider.PartName) int { return cmp.Compare(a.Namespace, b.Namespace) })
	return out
}
