package wireredis_test

// TestDocSnippets (docs_test.go) compiles the Go code blocks of README.md
// and docs/*.md, so that they cannot rot.
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

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
)

// snippetBlock is a Go code block of a page, or a hidden file.
type snippetBlock struct {
	Page string // the page's path, as errors name it: docs/operations.md
	Line int    // the page's line of the block's first line of code
	Code string // the block, without its fences and their indentation
	// File is where it goes in the scratch module, under the page's
	// directory; empty for a fragment.
	File string
	// Fragment is the reason a block is not compiled.
	Fragment string
	// Hidden is the code the directive adds (see the top of this file), from
	// the page's line HiddenLine.
	Hidden     string
	HiddenLine int
	// HiddenOnly is a snippet-file: a file with no block.
	HiddenOnly bool
}

var (
	fenceOpen   = regexp.MustCompile("^(\\s*)(```+)\\s*(\\S*)\\s*$")
	directiveRE = regexp.MustCompile(`^\s*<!--\s*snippet(-file)?:\s*(.*?)\s*(-->)?\s*$`)
	packageRE   = regexp.MustCompile(`(?m)^package [A-Za-z_][A-Za-z0-9_]*\s*$`)
)

// parseSnippets finds the Go blocks of page and their directives.
func parseSnippets(page string, text string) ([]snippetBlock, error) {
	lines := strings.Split(text, "\n")
	var (
		out     []snippetBlock
		errs    []error
		pending *snippetBlock // a directive waiting for its block
		whole   int           // numbers the blocks without a directive
	)
	fail := func(line int, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s:%d: %s", page, line, fmt.Sprintf(format, args...)))
	}
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if m := directiveRE.FindStringSubmatch(line); m != nil {
			if pending != nil {
				fail(pending.HiddenLine-1, "snippet directive not followed by a ```go block")
			}
			b := snippetBlock{Page: page, HiddenLine: i + 2, HiddenOnly: m[1] != ""}
			if m[3] == "" { // the comment goes on: hidden code up to -->
				var hidden []string
				for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "-->"; i++ {
					hidden = append(hidden, lines[i])
				}
				if i == len(lines) {
					fail(b.HiddenLine-1, "snippet comment never closed with a line -->")
					break
				}
				b.Hidden = strings.Join(hidden, "\n")
			}
			arg := m[2]
			switch {
			case b.HiddenOnly:
				b.File = arg
			case strings.HasPrefix(arg, "fragment:"):
				b.Fragment = strings.TrimSpace(strings.TrimPrefix(arg, "fragment:"))
				if b.Fragment == "" {
					fail(b.HiddenLine-1, "a fragment says why it is not compiled")
				}
			case strings.HasPrefix(arg, "file="):
				b.File = strings.TrimPrefix(arg, "file=")
			default:
				fail(b.HiddenLine-1, "unknown snippet directive %q (file=DIR/NAME.go or fragment: REASON)", arg)
				continue
			}
			if b.File != "" && (!strings.HasSuffix(b.File, ".go") || path.IsAbs(b.File) || strings.Contains(b.File, "..")) {
				fail(b.HiddenLine-1, "snippet file %q: want a relative DIR/NAME.go", b.File)
				continue
			}
			if b.HiddenOnly {
				out = append(out, b)
				continue
			}
			pending = &b
			continue
		}
		m := fenceOpen.FindStringSubmatch(line)
		if m == nil {
			if pending != nil && strings.TrimSpace(line) != "" {
				fail(pending.HiddenLine-1, "snippet directive not followed by a ```go block")
				pending = nil
			}
			continue
		}
		indent, fence, lang := m[1], m[2], m[3]
		start := i + 1
		var code []string
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != fence; i++ {
			code = append(code, strings.TrimPrefix(lines[i], indent))
		}
		if lang != "go" {
			if pending != nil {
				fail(pending.HiddenLine-1, "snippet directive before a ```%s block", lang)
				pending = nil
			}
			continue
		}
		b := snippetBlock{Page: page}
		if pending != nil {
			b = *pending
			pending = nil
		}
		b.Line = start + 1
		b.Code = strings.Join(code, "\n")
		if b.File == "" && b.Fragment == "" {
			if !packageRE.MatchString(b.Code) {
				fail(b.Line-1, "a ```go block without a package clause needs a directive before it: <!-- snippet: file=DIR/NAME.go --> (with hidden code to complete it) or <!-- snippet: fragment: REASON -->")
				continue
			}
			whole++
			b.File = fmt.Sprintf("block%d/block.go", whole)
		}
		out = append(out, b)
	}
	if pending != nil {
		fail(pending.HiddenLine-1, "snippet directive not followed by a ```go block")
	}
	return out, errors.Join(errs...)
}

// Source is the file the block becomes, with //line directives that point
// the compiler's errors at the page, named pagePath (wire takes a
// relative name as relative to the file's directory: give it absolute).
func (b snippetBlock) Source(pagePath string) string {
	lineAt := func(n int) string { return fmt.Sprintf("//line %s:%d\n", pagePath, n) }
	hidden := func() string {
		if b.Hidden == "" {
			return ""
		}
		return lineAt(b.HiddenLine) + b.Hidden + "\n"
	}
	if b.HiddenOnly {
		return hidden()
	}
	code := lineAt(b.Line) + b.Code + "\n"
	if b.Hidden == "" {
		return code
	}
	// "..." in the hidden code stands for the block.
	var before, after []string
	found := false
	for _, l := range strings.Split(b.Hidden, "\n") {
		switch {
		case found:
			after = append(after, l)
		case strings.TrimSpace(l) == "...":
			found = true
		default:
			before = append(before, l)
		}
	}
	if found {
		n := len(before)
		return lineAt(b.HiddenLine) + strings.Join(before, "\n") + "\n" + code +
			lineAt(b.HiddenLine+n+1) + strings.Join(after, "\n") + "\n"
	}
	// After the block's package clause, or before a block without one.
	if loc := packageRE.FindStringIndex(b.Code); loc != nil {
		head := b.Code[:loc[1]]
		rest := b.Code[loc[1]:]
		restLine := b.Line + strings.Count(head, "\n") + 1
		return lineAt(b.Line) + head + "\n" + hidden() + lineAt(restLine) + strings.TrimPrefix(rest, "\n") + "\n"
	}
	return hidden() + code
}
