package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"

	"github.com/wireredis/wireredis/internal/partgen"
)

func init() {
	register("gen", command{
		summary: "write typed parts (types, wire providers and a wire set) for go generate",
		usage: `usage: wireredis gen -part Name=namespace[,hashtag][,db=N][,url_env=VAR] ... [-o file]

Example, in a file of the package that uses the parts:
  //go:generate go run github.com/wireredis/wireredis/cmd/wireredis gen -part Session=session -part RateLimit=ratelimit,hashtag
writes wireredis_gen.go with SessionRedis and RateLimitRedis, their
providers, and RedisParts = wire.NewSet(ProvideSessionRedis, ProvideRateLimitRedis).`,
		run: gen,
	})
}

// partFlags collects repeated -part flags, and their text for the header.
type partFlags struct {
	parts []partgen.Part
	text  []string
}

func (p *partFlags) String() string { return "" }

func (p *partFlags) Set(s string) error {
	part, err := partgen.ParsePart(s)
	if err != nil {
		return err
	}
	p.parts = append(p.parts, part)
	p.text = append(p.text, s)
	return nil
}

func gen(_ context.Context, fs *flag.FlagSet, args []string, stdout, _ io.Writer) error {
	out := fs.String("o", "wireredis_gen.go", "file to write")
	pkg := fs.String("package", os.Getenv("GOPACKAGE"), "package of the file (go generate sets $GOPACKAGE)")
	set := fs.String("set", "RedisParts", "name of the wire set of all the providers")
	suffix := fs.String("suffix", "Redis", "added to each part's Name to make its type name")
	var parts partFlags
	fs.Var(&parts, "part", "a part: Name=namespace[,hashtag][,db=N][,url_env=VAR]; repeat it")
	if err := parse(fs, args); err != nil {
		return err
	}
	// The header records the flags that shape the content, in one order,
	// so the bytes do not depend on -o, -package or flag order.
	command := "wireredis gen"
	if *set != "RedisParts" {
		command += " -set " + *set
	}
	if *suffix != "Redis" {
		command += " -suffix " + *suffix
	}
	for _, p := range parts.text {
		command += " -part " + p
	}
	src, err := partgen.Generate(partgen.Config{Package: *pkg, Set: *set, Suffix: *suffix, Parts: parts.parts, Command: command})
	if err != nil {
		return usageErr("%v", err)
	}
	if old, err := os.ReadFile(*out); err == nil && bytes.Equal(old, src) {
		return nil // unchanged: keep the file's time, for build caches
	}
	return os.WriteFile(*out, src, 0o644)
}
