package nodeslot

import "testing"

func TestBuilderIsSingleNode(t *testing.T) {
	b := Builder()
	cmd := b.Mset().KeyValue().KeyValue("a", "1").KeyValue("b", "2").Build() // a cluster builder panics: two slots
	if cmd.Slot()&Mark == 0 {
		t.Errorf("Slot() = %d: not marked single-node", cmd.Slot())
	}
	ping := b.Ping().Build()
	if ping.Slot() != Mark {
		t.Errorf("PING Slot() = %d, want %d", ping.Slot(), Mark)
	}
}
