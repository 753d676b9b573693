// Package testkernel finds the real test kernels that kh's tests use
// (../shared/testkernel next to the repository: Linux 6.1 for x86_64 and
// arm64 with kheaders.ko, kheaders.tar.xz, config, vmlinux.btf and the
// kernel image) and decides what a test does when something it needs is
// missing.
//
// Tests skip with a clear message where the kernels, qemu or a tool are
// missing. With KH_STRICT=1 (set by .ci/run) they fail instead, so CI
// proves that every such test really ran.
package testkernel

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Arches are the architectures of the test kernels, as directory names.
var Arches = []string{"x86_64", "arm64"}

// Root returns the directory holding the test kernels: $KH_TESTKERNEL,
// else ../shared/testkernel beside the repository. There is no
// machine-specific fallback: a clone elsewhere sets KH_TESTKERNEL.
func Root() (string, error) {
	if v := os.Getenv("KH_TESTKERNEL"); v != "" {
		if _, err := os.Stat(filepath.Join(v, "x86_64", "release")); err != nil {
			return "", fmt.Errorf("KH_TESTKERNEL=%s holds no test kernels (%v)", v, err)
		}
		return filepath.Abs(v)
	}
	_, file, _, _ := runtime.Caller(0)
	beside := filepath.Clean(filepath.Join(filepath.Dir(file), "../../../shared/testkernel"))
	if _, err := os.Stat(filepath.Join(beside, "x86_64", "release")); err != nil {
		return "", fmt.Errorf("test kernels not found in %s; set KH_TESTKERNEL to their directory", beside)
	}
	return beside, nil
}

// Dir returns the test kernel directory of arch ("x86_64" or "arm64"), or
// skips the test.
func Dir(t testing.TB, arch string) string {
	t.Helper()
	root, err := Root()
	if err != nil {
		Skip(t, "%v", err)
	}
	return filepath.Join(root, arch)
}

// File returns the path of a file of arch's test kernel (e.g.
// "kheaders.ko"), or skips the test.
func File(t testing.TB, arch, name string) string {
	t.Helper()
	p := filepath.Join(Dir(t, arch), name)
	if _, err := os.Stat(p); err != nil {
		Skip(t, "test kernel file missing: %v", err)
	}
	return p
}

// Release returns uname -r of arch's test kernel.
func Release(t testing.TB, arch string) string {
	t.Helper()
	b, err := os.ReadFile(File(t, arch, "release"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// SrcArch returns the kernel SRCARCH of a test kernel arch.
func SrcArch(arch string) string {
	if arch == "x86_64" {
		return "x86"
	}
	return arch
}

// Strict reports whether missing prerequisites fail tests (KH_STRICT=1).
func Strict() bool { return os.Getenv("KH_STRICT") == "1" }

// Skip skips the test with a message, or fails it under KH_STRICT=1.
func Skip(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if Strict() {
		t.Fatalf("KH_STRICT=1 and a prerequisite is missing: %s", msg)
	}
	t.Skip(msg)
}

// NeedTool returns the path of an executable, or skips the test.
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Skip(t, "%s is not installed", name)
	}
	return p
}

// NeedRoot skips the test unless it runs as root.
func NeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Skip(t, "needs root")
	}
}

// PrivateMounts lets a test that mounts file systems run in its own mount
// namespace: in the test process it runs the test again, alone, in a
// child process under `unshare -m --propagation private` (needs root and
// unshare, else it skips), reports the child's output and failure, and
// returns false (the caller returns too); in that child it returns true
// and the test does its work, whose mounts vanish with the child. Only
// for top-level tests.
func PrivateMounts(t *testing.T) bool {
	t.Helper()
	if os.Getenv("KH_TEST_MOUNTNS") == t.Name() {
		return true
	}
	NeedRoot(t)
	unshare := NeedTool(t, "unshare")
	cmd := exec.Command(unshare, "-m", "--propagation", "private", os.Args[0],
		"-test.run=^"+regexp.QuoteMeta(t.Name())+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "KH_TEST_MOUNTNS="+t.Name())
	out, err := cmd.CombinedOutput()
	t.Logf("in a private mount namespace:\n%s", out)
	if err != nil {
		t.Fatalf("the test failed in its mount namespace: %v", err)
	}
	if bytes.Contains(out, []byte("--- SKIP: "+t.Name())) {
		t.Skip("skipped in its mount namespace")
	}
	return false
}

// RunAs runs argv as another user (uid and gid, no supplementary groups)
// with setpriv, for tests that play an attacker or a second user (needs
// root and setpriv, else it skips). It returns the combined output and the
// error.
func RunAs(t testing.TB, uid int, argv ...string) (string, error) {
	t.Helper()
	NeedRoot(t)
	setpriv := NeedTool(t, "setpriv")
	args := append([]string{fmt.Sprintf("--reuid=%d", uid), fmt.Sprintf("--regid=%d", uid), "--clear-groups", "--"}, argv...)
	out, err := exec.Command(setpriv, args...).CombinedOutput()
	return string(out), err
}

// DiskDir returns a new empty directory that is not on tmpfs (for tests
// of what kh does with a cache on disk): t.TempDir(), or, where that is
// tmpfs, a directory made in the current directory (the package's, in the
// clone) and removed after the test; it skips if both are tmpfs.
func DiskDir(t *testing.T) string {
	t.Helper()
	isTmpfs := func(p string) bool {
		var st unix.Statfs_t
		return unix.Statfs(p, &st) == nil && st.Type == unix.TMPFS_MAGIC
	}
	if d := t.TempDir(); !isTmpfs(d) {
		return d
	}
	d, err := os.MkdirTemp(".", "disk-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	abs, err := filepath.Abs(d)
	if err != nil {
		t.Fatal(err)
	}
	if isTmpfs(abs) {
		Skip(t, "no directory off tmpfs: both %s and %s are tmpfs", os.TempDir(), abs)
	}
	return abs
}
