package wireredis_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// modulePath is this module's, which the scratch module requires.
const modulePath = "github.com/wireredis/wireredis"

// docPages returns the pages whose blocks are compiled: README.md and
// docs/*.md under root, as paths relative to root.
func docPages(root string) ([]string, error) {
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		return nil, err
	}
	pages := []string{"README.md"}
	for _, d := range docs {
		rel, err := filepath.Rel(root, d)
		if err != nil {
			return nil, err
		}
		pages = append(pages, filepath.ToSlash(rel))
	}
	return pages, nil
}

// pageDir is the directory of a page's files in the scratch module:
// docs/operations.md → operations.
func pageDir(page string) string {
	base := strings.TrimSuffix(filepath.Base(page), filepath.Ext(page))
	return strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9_]`).ReplaceAllString(base, "_"))
}

// writeSnippetModule lays the blocks out as a module in dir that requires the module
// at root (replace directive), with root's requirements, tools and
// go.sum, so that it builds from the module cache.
func writeSnippetModule(dir, root string, blocks []snippetBlock) error {
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return err
	}
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	var mod strings.Builder
	mod.WriteString("module example.com/docsnippets\n\n")
	for _, l := range strings.Split(string(gomod), "\n") {
		if !strings.HasPrefix(l, "module ") {
			mod.WriteString(l + "\n")
		}
	}
	fmt.Fprintf(&mod, "\nrequire %s v0.0.0-00010101000000-000000000000\n\nreplace %s => %s\n", modulePath, modulePath, absRoot)
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod.String()), 0o644); err != nil {
		return err
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		return err
	}
	written := map[string]snippetBlock{}
	var errs []error
	for _, b := range blocks {
		if b.Fragment != "" {
			continue
		}
		name := filepath.Join(pageDir(b.Page), filepath.FromSlash(b.File))
		if prev, ok := written[name]; ok {
			errs = append(errs, fmt.Errorf("%s:%d: file %s already comes from %s:%d", b.Page, b.HiddenLine-1, b.File, prev.Page, prev.HiddenLine-1))
			continue
		}
		written[name] = b
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b.Source(filepath.Join(absRoot, filepath.FromSlash(b.Page)))), 0o644); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}

// buildSnippetModule runs go generate or wire where the files ask for them, then go
// vet and go test over the module in dir; the error holds the go
// command's output.
func buildSnippetModule(dir string) error {
	env := append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "GOTOOLCHAIN=local")
	run := func(args ...string) error {
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out.String())
		}
		return nil
	}
	generate, wire, err := steps(dir)
	if err != nil {
		return err
	}
	// One go command for each step: each loads the packages anew.
	if len(generate) > 0 {
		if err := run(append([]string{"generate"}, relative(generate)...)...); err != nil {
			return err
		}
	}
	if len(wire) > 0 {
		if err := run(append([]string{"tool", "wire"}, relative(wire)...)...); err != nil {
			return err
		}
	}
	if err := run("vet", "./..."); err != nil {
		return err
	}
	// The pages' tests (docs/testing.md's) run too: they must pass as
	// written.
	return run("test", "-count=1", "./...")
}

// relative makes directories into the go command's package patterns.
func relative(dirs []string) []string {
	out := make([]string, len(dirs))
	for i, d := range dirs {
		out[i] = "./" + d
	}
	return out
}

// steps lists the directories (relative to dir) where go generate runs,
// and those where only wire does.
func steps(dir string) (generate, wire []string, err error) {
	byDir := map[string]string{}
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") {
			return err
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, filepath.Dir(p))
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case bytes.Contains(src, []byte("\n//go:generate ")) || bytes.HasPrefix(src, []byte("//go:generate ")):
			byDir[rel] = "generate"
		case bytes.Contains(src, []byte("//go:build wireinject")) && byDir[rel] == "":
			byDir[rel] = "wire"
		}
		return nil
	})
	for d, step := range byDir {
		if step == "generate" {
			generate = append(generate, d)
		} else {
			wire = append(wire, d)
		}
	}
	slices.Sort(generate)
	slices.Sort(wire)
	return generate, wire, err
}
