package dockerbackend

import (
	"testing"
	"time"
)

// TestAvailableAnswersQuickly: redistest asks the backend before every
// server it cannot start from PATH; with no engine (as here), or one that
// does not answer, the answer must come within the second it allows.
func TestAvailableAnswersQuickly(t *testing.T) {
	start := time.Now()
	up := docker{}.Available()
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Available took %s (engine up: %t)", took, up)
	}
	t.Logf("Docker engine answering: %t", up)
}
