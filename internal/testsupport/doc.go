// Package testsupport is what the project's tests share: a check that
// no goroutine is left behind, a buffer several goroutines may write, one
// helper that polls for a condition with a deadline, and a fake server
// for what a server that is not Redis may send.
//
// Tests wait for signals the code under test gives, or poll the server's
// state through WaitFor; they never sleep in the hope that something has
// happened.
package testsupport
