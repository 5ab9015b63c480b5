package conformance

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// SummaryInfo is what the summary says besides the comparisons.
type SummaryInfo struct {
	Server   string   // redis-server version
	Skips    []string // what was skipped, and why
	Duration time.Duration
}

// Summary writes the run's numbers as Markdown, ready to paste into
// docs/namespacing.md, followed by the PASS→FAIL that expected.txt does
// not explain and its entries that no longer hold.
func Summary(cs []Comparison, info SummaryInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "rueidiscompat %s's own Ginkgo suite, against redis-server %s", CompatVersion, info.Server)
	if len(cs) > 0 {
		fmt.Fprintf(&b, ": %d specs run in each configuration, %d skipped in every pass", cs[0].Counts.Specs, cs[0].Counts.Skipped)
	}
	if len(info.Skips) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(info.Skips, "; "))
	}
	b.WriteString(". Each configuration compares a pass with the adapters over parts (namespace `t`) with a pass over raw rueidis clients on servers of the same kind")
	if info.Duration > 0 {
		fmt.Fprintf(&b, "; the six passes took %s", info.Duration.Round(time.Second))
	}
	b.WriteString(". A failed spec is run again, up to twice, in every pass alike (the suite has specs that depend on which cluster node a command reaches)")
	if len(cs) > 0 {
		var raw, part []string
		for _, c := range cs {
			raw = append(raw, fmt.Sprint(c.Counts.RetriedRaw))
			part = append(part, fmt.Sprint(c.Counts.RetriedPart))
		}
		fmt.Fprintf(&b, ": specs that passed only then, raw %s, through a part %s (configurations in the order of the table)", strings.Join(raw, "/"), strings.Join(part, "/"))
	}
	b.WriteString(".\n\n")

	b.WriteString("| configuration | specs | pass raw | pass through a part | PASS→FAIL, expected | PASS→FAIL, not expected | FAIL→PASS |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, c := range cs {
		n := c.Counts
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %d |\n", configTitle(c.Config), n.Specs, n.PassRaw, n.PassPart,
			len(c.Flips)-len(c.Unexpected()), len(c.Unexpected()), n.FailToPass)
	}

	categories := map[string]bool{}
	for _, c := range cs {
		for cat := range c.ByCategory() {
			categories[cat] = true
		}
	}
	if len(categories) > 0 {
		b.WriteString("\nExpected differences (expected.txt) by category:\n\n| category |")
		for _, c := range cs {
			fmt.Fprintf(&b, " %s |", c.Config)
		}
		b.WriteString("\n| --- |" + strings.Repeat(" ---: |", len(cs)) + "\n")
		for _, cat := range sortedKeys(categories) {
			fmt.Fprintf(&b, "| %s: %s |", cat, Categories[cat])
			for _, c := range cs {
				fmt.Fprintf(&b, " %d |", c.ByCategory()[cat])
			}
			b.WriteString("\n")
		}
	}

	// The unexpected flips, one line per spec with the configurations.
	type seen struct {
		configs []string
		outcome Outcome
	}
	unexpected := map[string]*seen{}
	var order []string
	for _, c := range cs {
		for _, f := range c.Unexpected() {
			s := unexpected[f.Spec]
			if s == nil {
				s = &seen{outcome: f.Outcome}
				unexpected[f.Spec] = s
				order = append(order, f.Spec)
			}
			s.configs = append(s.configs, c.Config)
		}
	}
	if len(order) > 0 {
		fmt.Fprintf(&b, "\nPASS→FAIL not in expected.txt (%d specs):\n\n", len(order))
		for _, spec := range order {
			s := unexpected[spec]
			fmt.Fprintf(&b, "- %s [%s] (%s at %s): %s\n", spec, strings.Join(s.configs, ", "), s.outcome.State, s.outcome.Location, s.outcome.Failure)
		}
	}
	var retried []string
	for _, c := range cs {
		for _, r := range c.Retried {
			retried = append(retried, fmt.Sprintf("- %s: %s", c.Config, r))
		}
	}
	if len(retried) > 0 {
		fmt.Fprintf(&b, "\nPassed through a part only when run again (%d; not differences, but worth a look):\n\n%s\n", len(retried), strings.Join(retried, "\n"))
	}
	var stale []string
	for _, c := range cs {
		for _, e := range c.Stale {
			stale = append(stale, fmt.Sprintf("- %s: %s", c.Config, e))
		}
		for _, m := range c.Missing {
			stale = append(stale, fmt.Sprintf("- %s: ran in one pass only: %s", c.Config, m))
		}
	}
	if len(stale) > 0 {
		fmt.Fprintf(&b, "\nexpected.txt entries that no longer hold, and specs missing from a pass (%d):\n\n%s\n", len(stale), strings.Join(stale, "\n"))
	}
	return b.String()
}

func configTitle(config string) string {
	topology, prefix, _ := strings.Cut(config, "/")
	switch topology {
	case "standalone":
		topology = "one server"
	case "cluster":
		topology = "3-master cluster"
	}
	switch prefix {
	case "plain":
		prefix = "plain part (`t:`)"
	case "hashtag":
		prefix = "hash-tag part (`{t}:`)"
	}
	return topology + ", " + prefix
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
