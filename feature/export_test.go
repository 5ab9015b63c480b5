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

// KeepViews makes c keep each view of a caller's context apart after its
// call, never lending it again (views.go); call it before c is used.
func KeepViews(c *Client) { c.keepViews = true }

// LendViews makes c recycle its views whatever its connection is.
func LendViews(c *Client) { c.lendsViews = true }

// LendsViews reports whether c recycles its views.
func LendsViews(c *Client) bool { return c.lendsViews }

// LateViewUses is how often a view was used after its call returned.
func LateViewUses() int64 { return lateUses.Load() }
