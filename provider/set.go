package provider

import "github.com/google/wire"

// Set provides Options loaded from the process environment.
var Set = wire.NewSet(Load)
