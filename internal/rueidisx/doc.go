// Package rueidisx does what rueidis (v1.0.80, whose layouts are those of
// v1.0.79) does not export, for the namespaced client: build single-node
// commands, tell whether a command is pinned, and take a prefix off the
// names in a reply.
//
// rueidis offers no constructor for a single-node command builder, no
// accessor for a command's pin, and no way to change a RedisMessage. The
// first comes from a client that never dials; the other two read and write
// through mirrors of rueidis's types, used only after the package has
// checked, once, that rueidis's types have exactly the layout the mirrors
// expect and behave as they should. When a check fails, PinVerified or
// MessageVerified is false: every command is then copied (slower, never
// wrong), and replies keep the prefix (the behaviour before replies were
// rewritten). Tests fail loudly in that case, so that the mirrors are
// updated with rueidis.
package rueidisx
