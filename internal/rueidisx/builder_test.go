package rueidisx

import "testing"

func TestSingleNodeBuilder(t *testing.T) {
	b := SingleNodeBuilder()
	cmd := b.Mset().KeyValue().KeyValue("a", "1").KeyValue("b", "2").Build() // a cluster builder panics: two slots
	if cmd.Slot()&SingleNodeMark == 0 {
		t.Errorf("Slot() = %d: not marked single-node", cmd.Slot())
	}
	ping := b.Ping().Build()
	if ping.Slot() != SingleNodeMark {
		t.Errorf("PING Slot() = %d, want %d", ping.Slot(), SingleNodeMark)
	}
}
