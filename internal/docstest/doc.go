// Package docstest compiles the Go code blocks of README.md and docs/*.md
// (TestDocSnippets), so that they cannot rot.
//
// Each ```go block is a file of a scratch module that requires this one
// through a replace directive. An HTML comment just before a block says
// how it is compiled:
//
//   - none: the block is a whole Go file (it has a package clause), a
//     package of its own;
//   - <!-- snippet: file=DIR/NAME.go -->: the block is that file of the
//     page's program; the lines after the first, up to -->, are hidden
//     code around it: a line "..." in them stands for the block, else
//     they follow the block's package clause (its imports, say), or, when
//     it has none, come before it;
//   - <!-- snippet: fragment: REASON -->: not compiled, for the reason
//     given (a shell session in Go's clothes, code of a module this one
//     does not require).
//
// <!-- snippet-file: DIR/NAME.go, then the file, then --> adds a file no
// block shows. In each directory of the scratch module, go generate runs
// where a file has a //go:generate line, else go tool wire where one has
// //go:build wireinject; then go vet ./... compiles everything, tests
// included, and go test ./... runs the pages' tests (docs/testing.md has
// some: they need a redis-server, as redistest does). Errors name the
// page and line of the block (//line directives).
package docstest
