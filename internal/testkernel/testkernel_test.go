package testkernel

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRoot is issue 14 item 12: KH_TESTKERNEL names the test kernels
// (and a wrong one is an error, not a silent fall back elsewhere); the
// only default is ../shared/testkernel beside the clone.
func TestRoot(t *testing.T) {
	fake := t.TempDir()
	os.MkdirAll(filepath.Join(fake, "x86_64"), 0o755)
	os.WriteFile(filepath.Join(fake, "x86_64", "release"), []byte("6.1.192\n"), 0o644)
	t.Setenv("KH_TESTKERNEL", fake)
	if got, err := Root(); err != nil || got != fake {
		t.Errorf("Root() = %q, %v; want %q", got, err, fake)
	}
	empty := t.TempDir()
	t.Setenv("KH_TESTKERNEL", empty)
	if got, err := Root(); err == nil || !strings.Contains(err.Error(), "KH_TESTKERNEL="+empty) {
		t.Errorf("Root() with an empty KH_TESTKERNEL = %q, %v", got, err)
	}
	t.Setenv("KH_TESTKERNEL", "")
	got, err := Root()
	if err != nil && !strings.Contains(err.Error(), "set KH_TESTKERNEL") {
		t.Errorf("Root() without KH_TESTKERNEL: %v", err)
	}
	if err == nil && !strings.HasSuffix(got, "/shared/testkernel") {
		t.Errorf("Root() without KH_TESTKERNEL = %q, not ../shared/testkernel", got)
	}
}
