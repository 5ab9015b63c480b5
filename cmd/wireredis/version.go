package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

func versionCommand(*flag.FlagSet) runner {
	return func(_ context.Context, stdout, _ io.Writer) error {
		_, err := fmt.Fprintln(stdout, version())
		return err
	}
}

// version is the module's version as the build recorded it (a tag when
// wireredis is a dependency, "(devel)" in its own repository, with the
// commit when the build knows it), and Go's.
func version() string {
	v, rev, dirty := "(devel)", "", false
	if info, ok := debug.ReadBuildInfo(); ok {
		if info.Main.Version != "" {
			v = info.Main.Version
		}
		for _, dep := range info.Deps {
			if dep.Path == "github.com/wireredis/wireredis" {
				v = dep.Version // built as a tool of another module
				if dep.Replace != nil {
					v += " (replaced by " + dep.Replace.Path + ")"
				}
			}
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" {
		v += " " + rev
		if dirty {
			v += "-dirty"
		}
	}
	return "wireredis " + v + " " + runtime.Version()
}
