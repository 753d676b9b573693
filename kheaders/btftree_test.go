package kheaders

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/khtool/kh/btf"
)

func gzipBytes(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(data)
	w.Close()
	return b.Bytes()
}

// TestFetchBTFTree fetches on a kernel with BTF and a configuration but
// no kheaders: Fetch publishes a BTF tree whose vmlinux.h is what bpftool
// makes of the same BTF.
func TestFetchBTFTree(t *testing.T) {
	dir := testkernel(t, "x86_64")
	btfData := readFile(t, filepath.Join(dir, "vmlinux.btf"))
	config := readFile(t, filepath.Join(dir, "config"))
	root := fakeRoot(t, map[string][]byte{
		"/sys/kernel/btf/vmlinux": btfData,
		"/proc/config.gz":         gzipBytes(t, config),
	})
	cacheDir := tmpfsDir(t)
	opts := Options{Root: root, Release: "6.1.192", CacheDir: cacheDir}
	tree, err := Fetch(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if tree.Kind != KindBTF || tree.Source.Kind != SourceBTF || tree.Release != "6.1.192" || tree.Files != 2 || tree.Cached {
		t.Fatalf("tree %+v", tree)
	}
	kc := string(readFile(t, filepath.Join(tree.Path, BTFConfigHeader)))
	for _, want := range []string{"#define CONFIG_BPF_SYSCALL 1", "#define CONFIG_IKHEADERS_MODULE 1", "#define CONFIG_KPROBES 1"} {
		if !strings.Contains(kc, want+"\n") {
			t.Errorf("kconfig.h lacks %q", want)
		}
	}
	again, err := Fetch(context.Background(), opts)
	if err != nil || again.Path != tree.Path || !again.Cached {
		t.Fatalf("second fetch: %+v, %v", again, err)
	}

	_, err = Fetch(context.Background(), Options{Root: root, Release: "6.1.192", CacheDir: cacheDir, Require: KindHeaders})
	var nf *NotFoundError
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "only kernel headers are acceptable") {
		t.Fatalf("--require kheaders: err = %v", err)
	}

	// The header is btf.WriteC's, which package btf checks against
	// bpftool v7.7.0 and against the BTF itself.
	spec, err := btf.Load(filepath.Join(dir, "vmlinux.btf"))
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := btf.WriteC(context.Background(), &want, spec, nil); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(tree.Path, BTFHeader)); !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("vmlinux.h (%d bytes) differs from btf.WriteC's (%d bytes)", len(got), want.Len())
	}
}

// TestBuildDirConfig accepts /lib/modules/RELEASE/build only when its
// configuration agrees with the running kernel's.
func TestBuildDirConfig(t *testing.T) {
	const rel = "6.1.0-9-amd64"
	tree := buildDirFiles(rel)
	running := []byte("CONFIG_BPF=y\nCONFIG_KPROBES=y\n")
	files := map[string][]byte{"/proc/config.gz": gzipBytes(t, running)}
	for k, v := range tree {
		files["/lib/modules/"+rel+"/build/"+k] = v
	}
	// The tree's autoconf.h lacks CONFIG_KPROBES: refused.
	root := fakeRoot(t, files)
	_, err := Fetch(context.Background(), Options{Root: root, Release: rel, CacheDir: tmpfsDir(t), Require: KindHeaders})
	if err == nil || !strings.Contains(err.Error(), "differs from the running kernel's in 1 options (CONFIG_KPROBES=y") {
		t.Fatalf("err = %v", err)
	}
	// Agreeing configuration: used in place.
	os.WriteFile(filepath.Join(root, "lib/modules", rel, "build/include/generated/autoconf.h"), []byte("#define CONFIG_BPF 1\n#define CONFIG_KPROBES 1\n"), 0o644)
	got, err := Fetch(context.Background(), Options{Root: root, Release: rel, CacheDir: tmpfsDir(t)})
	if err != nil || got.Source.Kind != SourceDir {
		t.Fatalf("tree %+v, %v", got, err)
	}
}
