package feature

// WithObserver is withObserver for the benchmarks of feature_test, which
// measure a part over a sink with telemetry (parts get theirs from the
// registry otherwise).
var WithObserver = withObserver

// SetReplyMirror replaces the check of rueidisx's reply mirror until the
// test ends.
func SetReplyMirror(t interface{ Cleanup(func()) }, check func() error) {
	old := replyMirror
	replyMirror = check
	t.Cleanup(func() { replyMirror = old })
}
