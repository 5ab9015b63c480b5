package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
)

// partFlags collects repeated -part flags.
type partFlags struct {
	parts []Part
}

func (p *partFlags) String() string { return "" }

func (p *partFlags) Set(s string) error {
	part, err := ParsePart(s)
	if err != nil {
		return err
	}
	p.parts = append(p.parts, part)
	return nil
}

func genCommand(fs *flag.FlagSet) runner {
	out := fs.String("o", "wireredis_gen.go", "file to write; - for standard output")
	pkg := fs.String("package", os.Getenv("GOPACKAGE"), "package of the file (go generate sets $GOPACKAGE)")
	set := fs.String("set", "RedisParts", "name of the wire set of all the providers")
	suffix := fs.String("suffix", "Redis", "added to each part's Name to make its type name")
	var parts partFlags
	fs.Var(&parts, "part", "a part: Name=namespace[,hashtag][,db=N][,url_env=VAR]; repeat it")
	return func(_ context.Context, stdout, stderr io.Writer) error {
		src, err := Generate(Config{Package: *pkg, Set: *set, Suffix: *suffix, Parts: parts.parts})
		if err != nil {
			return usageErr("%v", err)
		}
		if err := writeGenerated(*out, src, stdout); err != nil {
			return err
		}
		DescribeVariables(stderr, *suffix, parts.parts)
		return nil
	}
}

// writeGenerated writes src to the file out, or to stdout when out is
// "-". Only a regular file is read first, to leave an unchanged file
// alone (its time matters to build caches): reading a pipe or a terminal
// (-o /dev/stdout) would wait for input that never comes.
func writeGenerated(out string, src []byte, stdout io.Writer) error {
	if out == "-" {
		_, err := stdout.Write(src)
		return err
	}
	if fi, err := os.Stat(out); err == nil && fi.Mode().IsRegular() {
		if old, err := os.ReadFile(out); err == nil && bytes.Equal(old, src) {
			return nil
		}
	}
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(src)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
