package rueidisx

import (
	"errors"
	"fmt"
	"runtime/debug"
)

// CheckedVersion is the rueidis release whose types the mirrors were
// written for and checked against. A test fails when go.mod names
// another, so that an upgrade re-reads the mirrors.
const CheckedVersion = "v1.0.80"

// ErrLayout is matched by Check's error: the rueidis linked in does not
// have the layout the mirrors expect.
var ErrLayout = errors.New("rueidis's types differ from wireredis's mirrors of them")

// Check reports whether the mirrors passed their checks: nil, or an error
// that says which failed, what follows, and which rueidis is linked in.
// When the reply mirror fails, replies could keep the part's prefix, so
// parts refuse to open; when only the command mirror fails, every command
// is copied before it is prefixed (slower, never wrong); when only
// the result mirror fails, Plain asks rueidis (slower, never wrong).
func Check() error {
	switch {
	case !messageVerified:
		return fmt.Errorf("%w (reply mirror; rueidis %s linked, %s checked): replies would keep the part's prefix, so parts do not open; use rueidis %s or a wireredis release made for yours",
			ErrLayout, LinkedVersion(), CheckedVersion, CheckedVersion)
	case !pinVerified:
		return fmt.Errorf("%w (command mirror; rueidis %s linked, %s checked): every command is copied before it is prefixed, which is slower",
			ErrLayout, LinkedVersion(), CheckedVersion)
	case !resultVerified:
		return fmt.Errorf("%w (result mirror; rueidis %s linked, %s checked): every reply is asked whether it is an error the slower way",
			ErrLayout, LinkedVersion(), CheckedVersion)
	}
	return nil
}

// LinkedVersion is the version of rueidis in the running binary, or
// "unknown" when it carries no build information.
func LinkedVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "github.com/redis/rueidis" {
				if dep.Replace != nil {
					dep = dep.Replace
				}
				return dep.Version
			}
		}
	}
	return "unknown"
}
