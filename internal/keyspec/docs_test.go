package keyspec_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/wireredis/wireredis/internal/keyspec"
)

// TestNamespacingDocIsCurrent checks docs/namespacing.md against the table:
// the count of each class and the list of refused commands.
func TestNamespacingDocIsCurrent(t *testing.T) {
	doc, err := os.ReadFile("../../docs/namespacing.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	counts := map[keyspec.Class]int{}
	total := 0
	for _, c := range keyspec.Table() {
		counts[c.Class]++
		total++
	}
	for class, n := range counts {
		if row := fmt.Sprintf("| %s | %d |", class, n); !strings.Contains(text, row) {
			t.Errorf("docs/namespacing.md lacks the row %q", row)
		}
	}
	if s := fmt.Sprintf("the %d commands and subcommands of %s", total, keyspec.ServerVersion()); !strings.Contains(text, s) {
		t.Errorf("docs/namespacing.md lacks %q", s)
	}
	_, section, _ := strings.Cut(text, "## What a part refuses")
	section, _, _ = strings.Cut(section, "\n## ")
	listed := map[string]bool{}
	for _, row := range strings.Split(section, "\n") {
		if !strings.HasPrefix(row, "| `") {
			continue
		}
		names, _, _ := strings.Cut(row[2:], " |")
		for _, n := range strings.Split(names, ", ") {
			listed[strings.Trim(n, "`")] = true
		}
	}
	for _, c := range keyspec.Table() {
		if c.Class == keyspec.Refused && !listed[c.Name] {
			t.Errorf("docs/namespacing.md does not list the refused command %s", c.Name)
		}
	}
	if len(listed) != counts[keyspec.Refused] {
		t.Errorf("docs/namespacing.md lists %d refused commands, the table %d", len(listed), counts[keyspec.Refused])
	}
}
