//go:build race

package registry_test

// raceDetector is whether the race detector is on.
const raceDetector = true
