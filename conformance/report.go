package conformance

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/onsi/ginkgo/v2/types"
)

// Outcome is how one spec ended in one pass.
type Outcome struct {
	// State is Ginkgo's: passed, failed, panicked, skipped, timedout, ...
	State string
	// Failure is the failure message on one line (failureLine), when
	// there is one.
	Failure string
	// Location is where the spec is written (file:line of its It).
	Location string
	// Attempts is how many times the spec ran: more than one when it
	// failed and was run again (-ginkgo.flake-attempts).
	Attempts int
}

// Passed reports whether the spec ran and passed.
func (o Outcome) Passed() bool { return o.State == types.SpecStatePassed.String() }

// Ran reports whether the spec ran (it was not skipped).
func (o Outcome) Ran() bool {
	return o.State != types.SpecStateSkipped.String() && o.State != types.SpecStatePending.String()
}

// Pass is the outcome of every spec of one run of the suite, by name.
type Pass struct {
	Specs map[string]Outcome
	Order []string
}

// ErrSuiteFailed is returned when a suite node (BeforeSuite, AfterSuite)
// failed: then the specs' outcomes say nothing about the client.
var ErrSuiteFailed = errors.New("conformance: a suite node failed")

// ReadPass reads a Ginkgo JSON report (-ginkgo.json-report).
func ReadPass(path string) (Pass, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Pass{}, err
	}
	var reports []types.Report
	if err := json.Unmarshal(data, &reports); err != nil {
		return Pass{}, fmt.Errorf("%s: %w", path, err)
	}
	if len(reports) != 1 {
		return Pass{}, fmt.Errorf("%s: %d suites, want 1", path, len(reports))
	}
	p := Pass{Specs: map[string]Outcome{}}
	for _, s := range reports[0].SpecReports {
		if s.LeafNodeType != types.NodeTypeIt {
			if s.State.Is(types.SpecStateFailureStates) {
				return Pass{}, fmt.Errorf("%w: %s at %s: %s", ErrSuiteFailed, s.LeafNodeType, s.LeafNodeLocation, failureLine(s.Failure.Message))
			}
			continue
		}
		name := SpecName(s.ContainerHierarchyTexts, s.LeafNodeText)
		// Specs of equal names (rare: the same It text twice in one
		// container) are told apart by their order, the same in every pass.
		for i := 2; ; i++ {
			if _, dup := p.Specs[name]; !dup {
				break
			}
			name = fmt.Sprintf("%s #%d", SpecName(s.ContainerHierarchyTexts, s.LeafNodeText), i)
		}
		p.Specs[name] = Outcome{
			State:    s.State.String(),
			Failure:  failureLine(s.Failure.Message),
			Location: fmt.Sprintf("%s:%d", filepath.Base(s.LeafNodeLocation.FileName), s.LeafNodeLocation.LineNumber),
			Attempts: s.NumAttempts,
		}
		p.Order = append(p.Order, name)
	}
	if len(p.Order) == 0 {
		return Pass{}, fmt.Errorf("%s: no spec", path)
	}
	return p, nil
}

// SpecName is how expected.txt names a spec: its containers and its text,
// joined by " > ".
func SpecName(containers []string, text string) string {
	return strings.Join(append(slices.Clone(containers), text), " > ")
}

// failureLine makes a failure message one line: the wireredis error in
// it when there is one (the reason a part gave), else the message with
// its white space collapsed; at most 240 bytes.
func failureLine(msg string) string {
	s := strings.Join(strings.Fields(msg), " ")
	if i := strings.Index(s, "wireredis: "); i >= 0 {
		s = s[i:]
	}
	const max = 240
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}

// Counts are one configuration's numbers.
type Counts struct {
	Specs      int // specs run (the skipped ones left out)
	Skipped    int
	PassRaw    int
	PassPart   int
	FailToPass int // fail raw, pass through the part
	// RetriedRaw and RetriedPart count the specs that passed only when run
	// again.
	RetriedRaw  int
	RetriedPart int
}

// Flip is a spec that passed raw and did not pass through the part.
type Flip struct {
	Spec    string
	Outcome Outcome // through the part
	// Expected is the expected.txt entry that explains it, or nil.
	Expected *Expectation
}

// Comparison is one configuration: the part's pass against the raw one.
type Comparison struct {
	Config string
	Counts Counts
	Flips  []Flip
	// Stale are the expected.txt entries of this configuration whose spec
	// passed through the part, or did not run: the file says more than is
	// true. (An entry whose spec failed raw as well holds: it says nothing
	// about that pass.)
	Stale []*Expectation
	// Retried are the specs that passed through the part only when run
	// again: not differences, but worth a look.
	Retried []string
	// Missing are specs of one pass absent from the other.
	Missing []string
}

// Compare compares the part's pass with the raw pass of the same servers,
// and matches each PASS→FAIL with the expected differences of config.
func Compare(config string, raw, part Pass, expected []*Expectation) Comparison {
	c := Comparison{Config: config}
	for _, name := range raw.Order {
		r := raw.Specs[name]
		p, ok := part.Specs[name]
		if !ok {
			c.Missing = append(c.Missing, name)
			continue
		}
		if !r.Ran() || !p.Ran() {
			c.Counts.Skipped++
			continue
		}
		c.Counts.Specs++
		if r.Passed() {
			c.Counts.PassRaw++
		}
		if p.Passed() {
			c.Counts.PassPart++
		}
		if r.Passed() && r.Attempts > 1 {
			c.Counts.RetriedRaw++
		}
		if p.Passed() && p.Attempts > 1 {
			c.Counts.RetriedPart++
			c.Retried = append(c.Retried, name)
		}
		switch {
		case r.Passed() && !p.Passed():
			c.Flips = append(c.Flips, Flip{Spec: name, Outcome: p, Expected: Lookup(expected, config, name)})
		case !r.Passed() && p.Passed():
			c.Counts.FailToPass++
		}
	}
	for _, name := range part.Order {
		if _, ok := raw.Specs[name]; !ok {
			c.Missing = append(c.Missing, name)
		}
	}
	for _, e := range expected {
		if p, ok := part.Specs[e.Spec]; e.Applies(config) && (!ok || !p.Ran() || p.Passed() && !e.MayPass()) {
			c.Stale = append(c.Stale, e)
		}
	}
	return c
}

// Unexpected returns the flips no expected.txt entry explains.
func (c Comparison) Unexpected() []Flip {
	var out []Flip
	for _, f := range c.Flips {
		if f.Expected == nil {
			out = append(out, f)
		}
	}
	return out
}

// ByCategory counts the expected flips per category.
func (c Comparison) ByCategory() map[string]int {
	m := map[string]int{}
	for _, f := range c.Flips {
		if f.Expected != nil {
			m[f.Expected.Category]++
		}
	}
	return m
}

// OK reports whether the configuration conforms: every PASS→FAIL is
// expected, every expectation still holds, both passes ran the same specs.
func (c Comparison) OK() bool {
	return len(c.Unexpected()) == 0 && len(c.Stale) == 0 && len(c.Missing) == 0
}
