package redistest

import (
	"context"
	"testing"
)

func TestStartCluster(t *testing.T) {
	c := StartCluster(t, 3, 1)
	if n := len(c.Primaries()); n != 3 {
		t.Errorf("%d primaries, want 3", n)
	}
	ctx := context.Background()
	for _, k := range []string{"a", "b", "c", "d"} {
		if err := c.Client.Do(ctx, c.Client.B().Set().Key(k).Value("v").Build()).Error(); err != nil {
			t.Fatal(err)
		}
	}
	if c.Client.Mode() != "cluster" {
		t.Errorf("Mode = %s", c.Client.Mode())
	}
}
