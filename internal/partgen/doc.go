// Package partgen writes the Go source of typed wireredis parts: for each
// part a named type embedding *feature.Client, its wire provider, and one
// wire.NewSet with them all. cmd/wireredis gen is its command line.
package partgen
