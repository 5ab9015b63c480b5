package provider

import (
	"os"
	"reflect"
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
	var vars []string
	typ := reflect.TypeFor[Options]()
	for i := range typ.NumField() {
		if tag := typ.Field(i).Tag.Get("env"); tag != "" {
			vars = append(vars, tag)
		}
	}
	vars = append(vars, varURL)
	for _, v := range fileVars {
		vars = append(vars, v+fileSuffix)
	}
	for _, v := range vars {
		if row := "| `REDIS_" + v + "` |"; !strings.Contains(string(doc), row) {
			t.Errorf("docs/configuration.md has no row for REDIS_%s", v)
		}
	}
}
