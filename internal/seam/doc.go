// Package seam is where registry, feature and telemetry meet: what each
// offers the others and no user calls. Keeping it here, in one internal
// package, keeps their public APIs to what users call.
//
// Three things cross it:
//
//   - Telemetry: the registry carries Hooks (observe.go), and each part
//     it opens asks them for its Part observer. Neither feature nor
//     registry imports OpenTelemetry; package telemetry is the one
//     implementation.
//   - The registry's plumbing (registry.go): its logger, and the values
//     it keeps for the parts, per registry (their prefix claims) and per
//     connection (a part's command learner), which feature reaches
//     through Of; and the client a lazy or background part gets before
//     its connection is made (Deferred).
//   - The parts a program declares (declared.go): feature records them,
//     the registry warns about variables that name none of them.
//
// And one guard both use (context.go): Honest, for deriving from a
// caller's context that breaks the context package's contract.
package seam
