// Package rueidisx does what rueidis (v1.0.80, whose layouts are those of
// v1.0.79) does not export, for the namespaced client: build single-node
// commands, tell whether a command is pinned, keep a command rueidis
// retries from its pool (hold.go), take a prefix off the names in a
// reply, and tell cheaply whether a reply is an error.
//
// rueidis offers no constructor for a single-node command builder, no
// accessor for a command's pin, and no way to change a RedisMessage. The
// first comes from a client that never dials; the other two read and write
// through mirrors of rueidis's types, used only after the package has
// checked, once, that rueidis's types have exactly the layout the mirrors
// expect and behave as they should. Check reports the outcome, and the
// others act on it, never silently: when the command mirror fails
// (PinVerified false) every command is copied (slower, never wrong), the
// registry logs it once and ConnStats.CopiesCommands says so; when the
// reply mirror fails (MessageVerified false) parts refuse to open, since
// their replies would keep the prefix; when the result mirror fails
// (ResultVerified false) Plain asks rueidis (slower, never wrong); when
// the command mirror fails, no command is held or marked retried, and
// rueidis recycles them as it does on its own. Recycle gives a held command back
// through rueidis's internal/cmds.PutCompletedForce (go:linkname: rueidis
// exports no way); a rueidis without it fails to link, and
// TestHoldAndRecycle fails if it stops recycling. CheckedVersion names the rueidis
// release the mirrors were checked against, and a test fails when go.mod
// names another.
package rueidisx
