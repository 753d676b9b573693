package kmod

import (
	"bytes"
	"compress/gzip"
	"errors"
	"github.com/khtool/kh/internal/fsutil"
	"os"
	"path/filepath"
	"testing"

	tk "github.com/khtool/kh/internal/testkernel"
)

func testkernel(t *testing.T, arch string) string {
	t.Helper()
	return tk.Dir(t, arch)
}

func TestKheadersModule(t *testing.T) {
	for _, arch := range []string{"x86_64", "arm64"} {
		t.Run(arch, func(t *testing.T) {
			dir := testkernel(t, arch)
			want, err := os.ReadFile(filepath.Join(dir, "kheaders.tar.xz"))
			if err != nil {
				t.Fatal(err)
			}
			release, _ := os.ReadFile(filepath.Join(dir, "release"))
			ko, err := os.ReadFile(filepath.Join(dir, "kheaders.ko"))
			if err != nil {
				t.Fatal(err)
			}
			var gz bytes.Buffer
			w := gzip.NewWriter(&gz)
			w.Write(ko)
			w.Close()
			for name, data := range map[string][]byte{"plain": ko, "gzip": gz.Bytes()} {
				m, err := Parse(data)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				got, err := m.Between("kernel_headers_data", "kernel_headers_data_end")
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("%s: payload %d bytes differs from kheaders.tar.xz (%d bytes)", name, len(got), len(want))
				}
				if m.Release() != string(bytes.TrimSpace(release)) {
					t.Errorf("%s: release %q, want %q", name, m.Release(), release)
				}
				if n := m.Modinfo("name"); len(n) != 1 || n[0] != "kheaders" {
					t.Errorf("%s: modinfo name = %q", name, n)
				}
			}
		})
	}
}

func TestFind(t *testing.T) {
	root := t.TempDir()
	mk := func(p string) string {
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		os.WriteFile(full, []byte("x"), 0o644)
		return full
	}
	std := mk("lib/modules/6.1.0/kernel/kernel/kheaders.ko.xz")
	vendor := mk("vendor_dlkm/lib/modules/kheaders.ko")
	deep := mk("system_dlkm/lib/modules/6.1.0/some/where/kheaders.ko.zst")
	mk("odm/lib/modules/other.ko")
	got := Find(root, "6.1.0", "kheaders")
	want := []string{std, vendor, deep}
	if len(got) != len(want) {
		t.Fatalf("Find = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Find = %q, want %q", got, want)
		}
	}
	if got := Find(root, "6.2.0", "configs"); len(got) != 0 {
		t.Fatalf("Find(configs) = %q", got)
	}
	// modules.dep names a module in a non-standard place.
	odd := mk("lib/modules/6.2.0/extra/cfg/configs.ko.gz")
	os.WriteFile(filepath.Join(root, "lib/modules/6.2.0/modules.dep"), []byte("extra/cfg/configs.ko.gz:\n"), 0o644)
	if got := Find(root, "6.2.0", "configs"); len(got) != 1 || got[0] != odd {
		t.Fatalf("Find via modules.dep = %q", got)
	}
}

func TestNotModule(t *testing.T) {
	if _, err := Parse([]byte("hello")); err != ErrNotModule {
		t.Fatalf("err = %v", err)
	}
}

// TestOpenTooLarge: a module file over MaxSize is refused from fstat,
// without reading it.
func TestOpenTooLarge(t *testing.T) {
	p := filepath.Join(t.TempDir(), "huge.ko")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var tl *fsutil.TooLargeError
	if _, err := Open(p); !errors.As(err, &tl) || tl.Size != MaxSize+1 {
		t.Fatalf("Open of a file over MaxSize: %v", err)
	}
}
