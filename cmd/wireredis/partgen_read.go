package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ErrNoFile is matched by ReadDir's error for a directory that has no
// file written by wireredis gen.
var ErrNoFile = errors.New("no file written by wireredis gen")

// ReadDir reads back the parts of the files that wireredis gen wrote in
// dir (a package's directory), from the command line each records in its
// header: the same ParsePart reads it that read the flags, so the parts are
// those the generated providers open, with their hash tags, databases and
// url_env variables. It fails when dir has no such file.
func ReadDir(dir string) ([]Part, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	var parts []Part
	found := false
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		if !bytes.HasPrefix(src, []byte(Marker+"\n")) {
			continue
		}
		found = true
		ps, err := readHeader(src)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		parts = append(parts, ps...)
	}
	if !found {
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNoFile, err)
		}
		return nil, fmt.Errorf("%w in %s", ErrNoFile, dir)
	}
	return parts, nil
}

// readHeader parses the "// wireredis gen ..." line of a generated file.
func readHeader(src []byte) ([]Part, error) {
	sc := bufio.NewScanner(bytes.NewReader(src))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "//") {
			break
		}
		rest, ok := strings.CutPrefix(line, commandPrefix+" ")
		if !ok {
			continue
		}
		var parts []Part
		args := strings.Fields(rest)
		for i := 0; i < len(args); i++ {
			switch args[i] {
			case "-set", "-suffix":
				i++
			case "-part":
				if i+1 == len(args) {
					return nil, errors.New("the wireredis gen line ends with -part")
				}
				i++
				p, err := ParsePart(args[i])
				if err != nil {
					return nil, err
				}
				parts = append(parts, p)
			default:
				return nil, fmt.Errorf("the wireredis gen line has %q, which this version does not know; regenerate the file", args[i])
			}
		}
		return parts, nil
	}
	return nil, errors.New("no wireredis gen line in the header; regenerate the file")
}
