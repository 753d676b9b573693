package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/khtool/kh/cache"
	"github.com/khtool/kh/internal/tracefs"
	"github.com/khtool/kh/kconfig"
	"github.com/khtool/kh/kheaders"
	"github.com/khtool/kh/loader"
)

// TestAdvice: the CLI turns the library's typed errors into advice that
// names kh's flags and commands, on the same line.
func TestAdvice(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("fetch: %w", &kheaders.NotFoundError{Release: "6.1", Looked: []string{"x: absent"}}), "no kernel headers for 6.1: x: absent; enable CONFIG_IKHEADERS"},
		{&cache.NotTmpfsError{Dir: "/d", FSType: "ext4"}, "kh: cache directory /d is on ext4, not tmpfs; use a tmpfs location (--cache-dir, KH_CACHE_DIR) or pass --allow-disk"},
		{fmt.Errorf("write: %w", cache.ErrNoSpace), "; free space with `kh clean`"},
		{fmt.Errorf("p.o: %w", loader.ErrNotPermitted), "; run as root or with CAP_BPF and CAP_PERFMON"},
		{tracefs.ErrNoTraceFS, "; mount it with `mount -t tracefs"},
		{fmt.Errorf("x: %w", kconfig.ErrNoConfig), "; pass --from"},
	} {
		if got := errorLine(tc.err); !strings.Contains(got, tc.want) || strings.Contains(got, "\n") {
			t.Errorf("errorLine(%v) = %q, want it to contain %q", tc.err, got, tc.want)
		}
	}
	if got := errorLine(errors.New("plain")); got != "kh: plain" {
		t.Errorf("errorLine(plain) = %q", got)
	}
}
