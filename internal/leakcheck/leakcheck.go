package leakcheck

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// grace is how long goroutines get to end. rueidis's cluster detection, run
// by every NewClient without ForceSingleClient, leaves a refresh goroutine
// that sleeps up to a second after Close before it returns; a goroutine
// that really leaks is still there after grace and is reported.
const grace = 3 * time.Second

// Find waits up to grace for the goroutines other than the test runner's
// to end, and describes those left.
func Find() error {
	deadline := time.Now().Add(grace)
	for {
		err := goleak.Find()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// VerifyTestMain runs the tests, then fails the run when goroutines are
// left behind.
func VerifyTestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := Find(); err != nil {
			fmt.Fprintf(os.Stderr, "leakcheck: goroutines left after the tests: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
