package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tk "github.com/khtool/kh/internal/testkernel"
)

// kh runs the CLI in-process and returns stdout, stderr and the status.
func kh(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, testSystem(nil, &out, &errb))
	return out.String(), errb.String(), code
}

// testSystem is the process as a test gives it to run: its streams, and
// the test's environment (so t.Setenv applies).
func testSystem(stdin io.Reader, stdout, stderr io.Writer) system {
	return system{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv, environ: os.Environ}
}

func testkernel(t *testing.T, arch string) string {
	t.Helper()
	return tk.Dir(t, arch)
}

// cacheDir returns a fresh cache directory on tmpfs.
func cacheDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("/dev/shm", "kh-cli-test-")
	if err != nil {
		t.Skipf("no /dev/shm: %v", err)
	}
	os.Chmod(d, 0o755)
	t.Cleanup(func() {
		kh(t, "clean", "--all", "--cache-dir", filepath.Join(d, "c"))
		os.RemoveAll(d)
	})
	return filepath.Join(d, "c")
}

func TestFetchCLI(t *testing.T) {
	dir := testkernel(t, "arm64")
	cache := cacheDir(t)
	out, errs, code := kh(t, "fetch", "--cache-dir", cache, "--from", filepath.Join(dir, "kheaders.tar.xz"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	path := strings.TrimSpace(out)
	if strings.Count(out, "\n") != 1 || !filepath.IsAbs(path) || errs != "" {
		t.Fatalf("fetch printed %q (stderr %q), want one absolute path", out, errs)
	}
	if _, err := os.Stat(filepath.Join(path, "arch/arm64/include/asm")); err != nil {
		t.Fatal(err)
	}
	out, _, code = kh(t, "fetch", "--cache-dir", cache, "--from", filepath.Join(dir, "kheaders.ko"), "-o", "json")
	var m map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &m) != nil {
		t.Fatalf("fetch -o json: exit %d, %q", code, out)
	}
	for _, k := range []string{"schema", "path", "release", "arch", "kind", "source", "sha256", "files", "bytes", "created", "cached"} {
		if _, ok := m[k]; !ok {
			t.Errorf("manifest lacks %q: %s", k, out)
		}
	}
	if m["path"] != path || m["arch"] != "arm64" || m["release"] != "6.1.192" || m["cached"] != true {
		t.Errorf("manifest: %s", out)
	}
	if src := m["source"].(map[string]any); src["kind"] != "module" {
		t.Errorf("source: %v", src)
	}

	out, _, code = kh(t, "list", "--cache-dir", cache)
	if code != 0 || !strings.Contains(out, "RELEASE") || !strings.Contains(out, path) {
		t.Fatalf("list: exit %d, %q", code, out)
	}
	out, _, code = kh(t, "list", "--cache-dir", cache, "-o", "json")
	var rows []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &rows) != nil || len(rows) != 1 || rows[0]["path"] != path {
		t.Fatalf("list -o json: exit %d, %q", code, out)
	}
	// Not the running kernel's tree: kh clean removes it.
	out, _, code = kh(t, "clean", "--cache-dir", cache)
	if code != 0 || !strings.Contains(out, "removed "+path) {
		t.Fatalf("clean: exit %d, %q", code, out)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("tree still there after clean: %v", err)
	}
	out, _, code = kh(t, "list", "--cache-dir", cache, "-o", "json")
	if code != 0 || strings.TrimSpace(out) != "[]" {
		t.Fatalf("list after clean: %q", out)
	}
}

func TestErrorsCLI(t *testing.T) {
	cache := cacheDir(t)
	bad := filepath.Join(t.TempDir(), "bad.tar.xz")
	os.WriteFile(bad, []byte("\xfd7zXZ\x00 but then garbage"), 0o644)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"fetch", "--cache-dir", cache, "--from", bad}, 1, "kh: bad archive"},
		{[]string{"fetch", "--cache-dir", cache, "--from", "/nonexistent/kheaders.tar.xz"}, 1, "no such file"},
		{[]string{"fetch", "--cache-dir", cache, "--from", "/etc/hostname"}, 1, "neither a kheaders archive"},
		{[]string{"fetch", "extra-arg"}, 2, "takes no arguments"},
		{[]string{"fetch", "--bogus"}, 2, "unknown flag"},
		{[]string{"fetch", "-o", "yaml"}, 2, "unknown output format"},
		{[]string{"nosuchcommand"}, 2, "unknown command"},
		// Cache flags exist only on the commands that use the cache.
		{[]string{"btf", "--cache-dir", cache}, 2, "unknown flag: --cache-dir"},
		{[]string{"config", "--allow-disk"}, 2, "unknown flag: --allow-disk"},
		{[]string{"run", "--cache-dir", cache, "x.o"}, 2, "unknown flag: --cache-dir"},
		{[]string{"list", "--allow-disk"}, 2, "unknown flag: --allow-disk"},
	} {
		out, errs, code := kh(t, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) || out != "" {
			t.Errorf("kh %v: exit %d, stdout %q, stderr %q; want exit %d and %q", tc.args, code, out, errs, tc.code, tc.want)
		}
		if first, _, _ := strings.Cut(errs, "\n"); !strings.HasPrefix(first, "kh: ") {
			t.Errorf("kh %v: error is not one 'kh: ' line: %q", tc.args, errs)
		}
	}
	// Nothing was published from the bad archive.
	out, _, _ := kh(t, "list", "--cache-dir", cache, "-o", "json")
	if strings.TrimSpace(out) != "[]" {
		t.Fatalf("bad archive left something in the cache: %s", out)
	}
}
