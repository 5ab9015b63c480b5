package testsupport

import (
	"testing"
	"time"
)

// pollEvery is how often WaitFor asks.
const pollEvery = 5 * time.Millisecond

// WaitFor asks cond until it holds, for up to limit, and fails t (naming
// what it waited for) when it does not: for state that has no signal of
// its own, such as a server's count of blocked clients or connections.
func WaitFor(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Eventually(limit, cond) {
		t.Fatalf("waited %s for %s", limit, what)
	}
}

// Eventually asks cond until it holds, for up to limit, and reports
// whether it did: WaitFor for a test that goes on either way.
func Eventually(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pollEvery)
	}
	return true
}
