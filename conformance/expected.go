package conformance

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// Categories are the kinds of expected difference, each with what it
// means. An expected.txt entry names one.
var Categories = map[string]string{
	"refused":         "refused by design (docs/namespacing.md, What a part refuses)",
	"unknown-command": "not in the key table (a module's command): its keys cannot be placed, so it is refused",
	"script":          "a script's reply carries the prefix: a part cannot know which strings of it are keys",
	"node-local":      "on a cluster the spec reads one node's state (Pub/Sub), and which node rueidis asks a command without a key is chance, raw or through a part: such a spec may pass or fail",
}

// MayPass reports whether the entry's spec may pass through a part all the
// same: its failure is chance, not a rule (node-local).
func (e *Expectation) MayPass() bool { return e.Category == "node-local" }

// Configs are the configurations a run compares: where the servers are
// (one server, or a 3-master cluster) and how the part prefixes (plain
// "t:", or hash tag "{t}:").
var Configs = []string{"standalone/plain", "standalone/hashtag", "cluster/plain", "cluster/hashtag"}

// Expectation is one entry of expected.txt: a spec that passes raw and
// fails through a part, in some configurations, and why.
type Expectation struct {
	Configs  []string // "all", or items of Configs or their halves ("cluster", "hashtag")
	Spec     string
	Category string
	Reason   string
	Line     int
}

// Applies reports whether the entry is about config.
func (e *Expectation) Applies(config string) bool {
	topology, prefix, _ := strings.Cut(config, "/")
	for _, c := range e.Configs {
		if c == "all" || c == config || c == topology || c == prefix {
			return true
		}
	}
	return false
}

func (e *Expectation) String() string {
	return fmt.Sprintf("expected.txt:%d: %s | %s | %s | %s", e.Line, strings.Join(e.Configs, ","), e.Spec, e.Category, e.Reason)
}

// Lookup returns the entry of expected for spec in config, or nil.
func Lookup(expected []*Expectation, config, spec string) *Expectation {
	for _, e := range expected {
		if e.Spec == spec && e.Applies(config) {
			return e
		}
	}
	return nil
}

// ReadExpected reads expected.txt.
func ReadExpected(path string) ([]*Expectation, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	return ParseExpected(path, f)
}

// ParseExpected parses the expected differences: one per line,
//
//	configs | spec | category | reason
//
// with configs "all" or a comma-separated list of configurations
// ("cluster/hashtag") or their halves ("cluster", "hashtag"). Blank lines
// and lines starting with # are ignored. A spec may appear more than once
// for disjoint configurations, never twice for one.
func ParseExpected(name string, r io.Reader) ([]*Expectation, error) {
	var out []*Expectation
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.SplitN(text, " | ", 4)
		if len(fields) != 4 {
			return nil, fmt.Errorf("%s:%d: want configs | spec | category | reason", name, line)
		}
		e := &Expectation{Spec: strings.TrimSpace(fields[1]), Category: strings.TrimSpace(fields[2]), Reason: strings.TrimSpace(fields[3]), Line: line}
		for _, c := range strings.Split(fields[0], ",") {
			c = strings.TrimSpace(c)
			if !validConfig(c) {
				return nil, fmt.Errorf("%s:%d: unknown configuration %q (all, %s, or their halves)", name, line, c, strings.Join(Configs, ", "))
			}
			e.Configs = append(e.Configs, c)
		}
		if _, ok := Categories[e.Category]; !ok {
			return nil, fmt.Errorf("%s:%d: unknown category %q", name, line, e.Category)
		}
		if e.Spec == "" || e.Reason == "" {
			return nil, fmt.Errorf("%s:%d: the spec and the reason must be given", name, line)
		}
		for _, config := range Configs {
			if e.Applies(config) {
				if prev := Lookup(out, config, e.Spec); prev != nil {
					return nil, fmt.Errorf("%s:%d: %q is listed for %s already, at line %d", name, line, e.Spec, config, prev.Line)
				}
			}
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

func validConfig(c string) bool {
	if c == "all" || slices.Contains(Configs, c) {
		return true
	}
	for _, config := range Configs {
		topology, prefix, _ := strings.Cut(config, "/")
		if c == topology || c == prefix {
			return true
		}
	}
	return false
}
