package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"

	"github.com/wireredis/wireredis/internal/partgen"
)

// partFlags collects repeated -part flags.
type partFlags struct {
	parts []partgen.Part
}

func (p *partFlags) String() string { return "" }

func (p *partFlags) Set(s string) error {
	part, err := partgen.ParsePart(s)
	if err != nil {
		return err
	}
	p.parts = append(p.parts, part)
	return nil
}

func genCommand(fs *flag.FlagSet) runner {
	out := fs.String("o", "wireredis_gen.go", "file to write")
	pkg := fs.String("package", os.Getenv("GOPACKAGE"), "package of the file (go generate sets $GOPACKAGE)")
	set := fs.String("set", "RedisParts", "name of the wire set of all the providers")
	suffix := fs.String("suffix", "Redis", "added to each part's Name to make its type name")
	var parts partFlags
	fs.Var(&parts, "part", "a part: Name=namespace[,hashtag][,db=N][,url_env=VAR]; repeat it")
	return func(context.Context, io.Writer, io.Writer) error {
		src, err := partgen.Generate(partgen.Config{Package: *pkg, Set: *set, Suffix: *suffix, Parts: parts.parts})
		if err != nil {
			return usageErr("%v", err)
		}
		if old, err := os.ReadFile(*out); err == nil && bytes.Equal(old, src) {
			return nil // unchanged: keep the file's time, for build caches
		}
		return os.WriteFile(*out, src, 0o644)
	}
}
