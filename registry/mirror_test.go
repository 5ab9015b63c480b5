package registry

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/wireredis/wireredis/internal/rueidisx"
)

// TestMirrorFailureIsLoggedOnce: a rueidis whose layout the mirrors do
// not match is said once a process, in the first registry's log, not
// silently taken.
func TestMirrorFailureIsLoggedOnce(t *testing.T) {
	check, once := mirrorCheck, &mirrorLogged
	t.Cleanup(func() { mirrorCheck, mirrorLogged = check, sync.Once{} })
	*once = sync.Once{}
	mirrorCheck = func() error {
		return fmt.Errorf("%w (command mirror; rueidis v9.9.9 linked, v1.0.79 checked)", rueidisx.ErrLayout)
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	for range 3 {
		_, closeAll := New(logger)
		closeAll()
	}
	if n := strings.Count(logs.String(), "command mirror"); n != 1 {
		t.Fatalf("the mirror's failure was logged %d times, want once:\n%s", n, &logs)
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "v9.9.9") {
		t.Errorf("the line should be an error naming the linked version:\n%s", &logs)
	}
}
