//go:build race

package feature_test

// raceEnabled: the race detector is on (go test -race).
const raceEnabled = true
