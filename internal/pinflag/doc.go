// Package pinflag tells whether a rueidis command is pinned.
//
// rueidis recycles an unpinned command once it has been sent, so the
// caller of Do hands such a command over for good: a namespaced client may
// then prefix its keys in place instead of copying the whole command into
// a new one, which saves the copy's allocations on every call. A pinned
// command (Completed.Pin, used by rueidis's own helpers and by callers who
// send one command many times, possibly from several goroutines) stays
// its caller's and must be copied.
//
// rueidis has no accessor for the pin, so Unpinned reads it through
// unsafe. It does so only after the package has checked, once, that
// rueidis's command types have exactly the layout it expects and that
// Pin sets the field it reads; otherwise Verified is false and Unpinned
// always answers false, which sends every command down the copying path:
// slower, never wrong.
package pinflag
