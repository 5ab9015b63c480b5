// Package partgen writes the Go source of typed wireredis parts: for each
// part a named type embedding *feature.Client, its wire provider, and one
// wire.NewSet with them all. cmd/wireredis gen is its command line. The
// file's header records that command line, the description of every
// part; ReadDir reads it back, so that the operator tools resolve the
// parts (hash tag, db=N, url_env) as the generated providers do.
package partgen
