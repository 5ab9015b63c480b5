// Package conformance runs rueidiscompat's own test suite (its Ginkgo
// specs, at the pinned version) twice, once with its adapters over raw
// rueidis clients and once over wireredis parts, and compares the outcome
// of every spec: a spec that passes raw must pass through a part, unless
// expected.txt lists it with the reason.
//
// CopySuite writes the suite (rueidiscompat's package, its tests
// transformed by Transform) next to suite/harness_test.go, which builds the
// adapters from the environment the runner gives it. TestConformance
// starts the servers, runs the passes and compares; see README.md.
package conformance
