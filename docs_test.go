package wireredis_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot is where README.md, docs/ and go.mod are: the root package's
// directory, where its tests run.
const repoRoot = "."

// TestDocSnippets compiles every Go block of README.md and docs/*.md
// (see docs_snippets_test.go): a block that does not compile, or that
// neither is a whole file nor says how it is compiled, fails with its
// page and line.
func TestDocSnippets(t *testing.T) {
	pages, err := docPages(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []snippetBlock
	compiled := map[string]int{}
	for _, page := range pages {
		text, err := os.ReadFile(filepath.Join(repoRoot, page))
		if err != nil {
			t.Fatal(err)
		}
		bs, err := parseSnippets(page, string(text))
		if err != nil {
			t.Error(err)
		}
		for _, b := range bs {
			if b.Fragment == "" && !b.HiddenOnly {
				compiled[page]++
			}
		}
		blocks = append(blocks, bs...)
	}
	if t.Failed() {
		return
	}
	t.Logf("compiling %d blocks: %v", len(blocks), compiled)
	dir := t.TempDir()
	if err := writeSnippetModule(dir, repoRoot, blocks); err != nil {
		t.Fatal(err)
	}
	if err := buildSnippetModule(dir); err != nil {
		t.Fatal(err)
	}
}

// TestBrokenSnippetsFail: the harness fails on a block that does not
// compile, naming its page and line; on a block without a package clause
// or directive; and on a fragment without a reason.
func TestBrokenSnippetsFail(t *testing.T) {
	page := strings.Join([]string{
		"# A page",                       // 1
		"",                               // 2
		"<!-- snippet: file=p/p.go",      // 3
		"package p",                      // 4
		"-->",                            // 5
		"```go",                          // 6
		"func F() int { return \"x\" }",  // 7
		"```",                            // 8
		"<!-- snippet: file=q/q.go",      // 9
		"import \"fmt\"",                 // 10
		"-->",                            // 11
		"```go",                          // 12
		"package q",                      // 13
		"",                               // 14
		"func G() { fmt.Println(nope) }", // 15
		"```",                            // 16
		"<!-- snippet: file=r/r.go",      // 17
		"package r",                      // 18
		"func H() {",                     // 19
		"...",                            // 20
		"}",                              // 21
		"-->",                            // 22
		"```go",                          // 23
		"x := 1",                         // 24
		"```",                            // 25
	}, "\n")
	blocks, err := parseSnippets("docs/broken.md", page)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := writeSnippetModule(dir, repoRoot, blocks); err != nil {
		t.Fatal(err)
	}
	err = buildSnippetModule(dir)
	for _, want := range []string{"docs/broken.md:7:", "docs/broken.md:15:", "docs/broken.md:24:"} {
		if err == nil || !strings.Contains(err.Error(), filepath.FromSlash(want)) {
			t.Errorf("blocks that do not compile: %v, want an error at %s", err, want)
		}
	}

	for _, c := range []struct{ page, want string }{
		{"```go\nfmt.Println(1)\n```", "broken.md:1: a ```go block without a package clause needs a directive"},
		{"<!-- snippet: fragment: -->\n```go\nx\n```", "broken.md:1: a fragment says why"},
		{"<!-- snippet: file=a.go -->\n\ntext\n```go\npackage a\n```", "broken.md:1: snippet directive not followed"},
		{"<!-- snippet: bogus -->\n```go\npackage a\n```", `unknown snippet directive "bogus"`},
	} {
		if _, err := parseSnippets("docs/broken.md", c.page); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q): %v, want %q", c.page, err, c.want)
		}
	}
}
