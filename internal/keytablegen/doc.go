// Package keytablegen writes internal/keyspec's table from a live Redis
// server's COMMAND reply, plus the classification that key specs cannot
// express (classes.go). cmd/keytablegen runs it; a test checks that the
// committed table is what it writes now.
package keytablegen
