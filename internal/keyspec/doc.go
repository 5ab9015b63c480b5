// Package keyspec knows where the keys are in every Redis command.
//
// The table (table_gen.go) is generated from a live server's COMMAND key
// specs by cmd/keytablegen; rules.go holds the few hand-written rules for
// what key specs cannot say or say otherwise than the server reads
// (SORT's BY/GET patterns and STORE, GEORADIUS's last STORE, XREAD's
// STREAMS, COPY's DB). Find applies them to a command's arguments.
package keyspec

//go:generate go run ../../cmd/keytablegen -o table_gen.go
