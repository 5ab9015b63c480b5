// Command copysuite writes rueidiscompat's package, its test files
// transformed for the harness, into suite/ (run it from conformance/).
// TestConformance does the same before each run; this is for running the
// suite by hand (see README.md).
package main

import (
	"flag"
	"fmt"
	"os"

	conformance "github.com/redis/rueidis/wireredisconformance"
)

func main() {
	dst := flag.String("o", "suite", "directory to write the suite into")
	flag.Parse()
	src, err := conformance.CheckVersions(".")
	if err != nil {
		fmt.Fprintln(os.Stderr, "copysuite:", err)
		os.Exit(1)
	}
	counts, err := conformance.CopySuite(src, *dst)
	if err != nil {
		fmt.Fprintln(os.Stderr, "copysuite:", err)
		os.Exit(1)
	}
	fmt.Printf("copied %s %s into %s (%+v)\n", src.Path, src.Version, *dst, counts)
}
