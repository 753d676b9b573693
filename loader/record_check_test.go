package loader

import (
	"errors"
	"testing"

	"github.com/cilium/ebpf"
)

// TestCheckRecordTypes: a record type must name a ring buffer or perf
// event array of the object (issue 14 item 6: --record nosuchmap=T was
// accepted silently).
func TestCheckRecordTypes(t *testing.T) {
	spec := &ebpf.CollectionSpec{Maps: map[string]*ebpf.MapSpec{
		"events": {Type: ebpf.RingBuf},
		"perfs":  {Type: ebpf.PerfEventArray},
		"counts": {Type: ebpf.Array},
	}}
	if err := checkRecordTypes(spec, map[string]string{"events": "event", "perfs": "x"}); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"nosuchmap", "counts"} {
		err := checkRecordTypes(spec, map[string]string{bad: "event"})
		var rm *RecordMapError
		if !errors.As(err, &rm) || rm.Map != bad || len(rm.Have) != 2 || rm.Have[0] != "events" {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
