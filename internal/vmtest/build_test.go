package vmtest

import "testing"

func TestWithoutRace(t *testing.T) {
	if got := withoutRace("-race -mod=mod --race=true -buildvcs=false"); got != "-mod=mod -buildvcs=false" {
		t.Errorf("withoutRace = %q", got)
	}
}
