package provider

import (
	"os"
	"strings"
	"testing"
)

// TestConfigurationDocListsEveryVariable keeps docs/configuration.md in
// step with the variables the loader reads.
func TestConfigurationDocListsEveryVariable(t *testing.T) {
	doc, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range Variables() {
		if row := "| `" + v + "` |"; !strings.Contains(string(doc), row) {
			t.Errorf("docs/configuration.md has no row for %s", v)
		}
	}
}
