package compile

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	tk "github.com/khtool/kh/internal/testkernel"
	"github.com/khtool/kh/kheaders"
)

// testTree fetches the header tree of a test kernel ("x86_64" or
// "arm64") into a fresh tmpfs cache, as kh fetch --from would.
func testTree(t *testing.T, arch string) *kheaders.Tree {
	t.Helper()
	archive := tk.File(t, arch, "kheaders.tar.xz")
	d, err := os.MkdirTemp("/dev/shm", "kh-tracing-test-")
	if err != nil {
		tk.Skip(t, "no /dev/shm for a tmpfs cache: %v", err)
	}
	os.Chmod(d, 0o755)
	cache := filepath.Join(d, "cache")
	t.Cleanup(func() {
		kheaders.Clean(context.Background(), kheaders.Options{CacheDir: cache}, true)
		os.RemoveAll(d)
	})
	tree, err := kheaders.Fetch(context.Background(), kheaders.Options{From: archive, CacheDir: cache})
	if err != nil {
		t.Fatalf("fetch %s: %v", archive, err)
	}
	if tree.Kind != kheaders.KindHeaders || tree.Arch != tk.SrcArch(arch) {
		t.Fatalf("fetched %+v", tree.Manifest)
	}
	return tree
}

// testBTFTree makes a BTF tree of a test kernel by hand, as the BTF
// fallback will: vmlinux.h from bpftool and kconfig.h from its config.
func testBTFTree(t *testing.T, arch string) *kheaders.Tree {
	t.Helper()
	bpftool := tk.NeedTool(t, "bpftool")
	btfFile := tk.File(t, arch, "vmlinux.btf")
	config := tk.File(t, arch, "config")
	dir := t.TempDir()
	vmlinux, err := exec.Command(bpftool, "btf", "dump", "file", btfFile, "format", "c").Output()
	if err != nil {
		t.Fatalf("bpftool btf dump: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, kheaders.BTFHeader), vmlinux, 0o644); err != nil {
		t.Fatal(err)
	}
	writeKconfigHeader(t, config, filepath.Join(dir, kheaders.BTFConfigHeader))
	return &kheaders.Tree{Manifest: kheaders.Manifest{
		Schema: kheaders.ManifestSchema, Path: dir, Kind: kheaders.KindBTF,
		Release: tk.Release(t, arch), Arch: tk.SrcArch(arch),
		Source: kheaders.Source{Kind: kheaders.SourceBTF, Location: btfFile},
	}}
}

// writeKconfigHeader turns a kernel .config into #define lines, as
// autoconf.h has them: =y is 1, =m defines NAME_MODULE.
func writeKconfigHeader(t *testing.T, config, out string) {
	t.Helper()
	f, err := os.Open(config)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), "=")
		if !ok || !strings.HasPrefix(name, "CONFIG_") {
			continue
		}
		switch value {
		case "y":
			b.WriteString("#define " + name + " 1\n")
		case "m":
			b.WriteString("#define " + name + "_MODULE 1\n")
		default:
			b.WriteString("#define " + name + " " + value + "\n")
		}
	}
	if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fakeHeaderTree makes the skeleton of a header tree for arch with the
// given autoconf.h lines: enough for CFlags, not for compiling.
func fakeHeaderTree(t *testing.T, arch string, config ...string) *kheaders.Tree {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"include/linux", "include/generated", "arch/" + arch + "/include/generated"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "include/linux/kconfig.h"), []byte("#include <generated/autoconf.h>\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "include/generated/autoconf.h"), []byte(strings.Join(config, "\n")+"\n"), 0o644)
	return &kheaders.Tree{Manifest: kheaders.Manifest{Path: dir, Kind: kheaders.KindHeaders, Release: "6.1.0-test", Arch: arch}}
}
