package caps

import (
	"os"
	"testing"
)

func TestCanTrace(t *testing.T) {
	for _, tc := range []struct {
		caps uint64
		want bool
	}{
		{0, false},
		{1 << SysAdmin, true},
		{1 << BPF, false},
		{1<<BPF | 1<<Perfmon, true},
		{1 << Syslog, false},
	} {
		if got := CanTrace(tc.caps); got != tc.want {
			t.Errorf("CanTrace(%#x) = %v, want %v", tc.caps, got, tc.want)
		}
	}
}

func TestEffective(t *testing.T) {
	c, err := Effective()
	if err != nil {
		t.Fatal(err)
	}
	// root in the initial user namespace has CAP_SYS_ADMIN; others, as a
	// rule, none.
	if os.Geteuid() == 0 && !Has(c, SysAdmin) {
		t.Logf("root without CAP_SYS_ADMIN (a container?): %#x", c)
	}
	if os.Geteuid() != 0 && Has(c, SysAdmin) {
		t.Logf("non-root with CAP_SYS_ADMIN: %#x", c)
	}
}
