// Package redisproc runs redis-server processes on free loopback ports:
// for the test harness (redistest), the key table generator and the demo.
// It imports nothing beyond the standard library, so commands that
// consumers run (cmd/wireredis) stay light.
package redisproc
