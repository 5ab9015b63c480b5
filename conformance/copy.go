package conformance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// The pinned versions: the suite is rueidiscompat's at CompatVersion, and
// its adapter code must run over the rueidis the library uses.
const (
	CompatModule  = "github.com/redis/rueidis/rueidiscompat"
	CompatVersion = "v1.0.79"
	RueidisModule = "github.com/redis/rueidis"
)

// harnessFile is the one file of the suite directory that is ours: it
// builds the adapters (see suite/harness_test.go). Everything else there
// is written by CopySuite.
const harnessFile = "harness_test.go"

// stampFile names the module and version the copy came from.
const stampFile = "COPIED_FROM"

// Module is what `go list -m -json` says of a module.
type Module struct {
	Path    string
	Version string
	Dir     string
}

// ListModule asks the go command, run in moduleRoot, which version of path
// the build uses and where its files are (downloading it if needed).
func ListModule(moduleRoot, path string) (Module, error) {
	cmd := exec.Command("go", "list", "-m", "-json", path)
	cmd.Dir = moduleRoot
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return Module{}, fmt.Errorf("go list -m %s: %w: %s", path, err, strings.TrimSpace(stderr.String()))
	}
	var m Module
	if err := json.Unmarshal(out, &m); err != nil {
		return Module{}, fmt.Errorf("go list -m %s: %w", path, err)
	}
	if m.Dir == "" {
		// go list leaves Dir empty until the module is downloaded.
		dl := exec.Command("go", "mod", "download", path)
		dl.Dir = moduleRoot
		if out, err := dl.CombinedOutput(); err != nil {
			return Module{}, fmt.Errorf("go mod download %s: %w: %s", path, err, out)
		}
		return ListModule(moduleRoot, path)
	}
	return m, nil
}

// CheckVersions fails unless the build of moduleRoot uses rueidiscompat
// and rueidis at CompatVersion, and returns rueidiscompat's module.
func CheckVersions(moduleRoot string) (Module, error) {
	compat, err := ListModule(moduleRoot, CompatModule)
	if err != nil {
		return Module{}, err
	}
	if compat.Version != CompatVersion {
		return Module{}, fmt.Errorf("the build uses %s %s, the suite is pinned to %s: update CompatVersion and expected.txt together", CompatModule, compat.Version, CompatVersion)
	}
	rueidis, err := ListModule(moduleRoot, RueidisModule)
	if err != nil {
		return Module{}, err
	}
	if rueidis.Version != CompatVersion {
		return Module{}, fmt.Errorf("the build uses %s %s, rueidiscompat %s expects %s", RueidisModule, rueidis.Version, CompatVersion, CompatVersion)
	}
	return compat, nil
}

// CopySuite writes rueidiscompat's package from srcDir (its module
// directory in the module cache) into dst: the sources as they are, the
// test files through Transform. Files a previous copy left in dst are
// removed first; the harness stays.
func CopySuite(src Module, dst string) (TransformCounts, error) {
	var total TransformCounts
	if err := clearCopy(dst); err != nil {
		return total, err
	}
	entries, err := os.ReadDir(src.Dir)
	if err != nil {
		return total, err
	}
	var copied []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || (!strings.HasSuffix(name, ".go") && name != "LICENSE") {
			continue
		}
		if name == harnessFile {
			return total, fmt.Errorf("%s %s has a file named %s, which would replace the harness", src.Path, src.Version, name)
		}
		data, err := os.ReadFile(filepath.Join(src.Dir, name))
		if err != nil {
			return total, err
		}
		if strings.HasSuffix(name, "_test.go") {
			var counts TransformCounts
			data, counts, err = Transform(name, data)
			if err != nil {
				return total, fmt.Errorf("%s: %w", name, err)
			}
			total.Add(counts)
		}
		if err := os.WriteFile(filepath.Join(dst, name), data, 0o644); err != nil {
			return total, err
		}
		copied = append(copied, name)
	}
	if err := total.Check(); err != nil {
		return total, err
	}
	stamp := fmt.Sprintf("%s %s\n%s\n", src.Path, src.Version, strings.Join(copied, "\n"))
	return total, os.WriteFile(filepath.Join(dst, stampFile), []byte(stamp), 0o644)
}

// clearCopy removes what a previous CopySuite wrote into dir.
func clearCopy(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	keep := []string{harnessFile, ".gitignore"}
	for _, e := range entries {
		if e.IsDir() || slices.Contains(keep, e.Name()) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}
