package testsupport

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// grace is how long goroutines get to end. rueidis leaves two kinds that
// end by themselves: the cluster detection of every NewClient without
// ForceSingleClient sleeps up to a second after Close before it returns,
// and a cluster topology refresh closes the connections it dropped five
// seconds later. A goroutine that really leaks is still there after grace
// and is reported; a run with none left waits for nothing.
const grace = 7 * time.Second

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
