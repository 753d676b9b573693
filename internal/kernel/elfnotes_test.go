package kernel

import (
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/khtool/kh/internal/testkernel"
)

// TestImageBuildID builds an ELF file whose .notes section holds, like
// vmlinux's, a "Linux" note and then the GNU build ID (the x86_64 test
// kernel's), with clang and llvm-objcopy, and reads the ID back.
func TestImageBuildID(t *testing.T) {
	clang := testkernel.NeedTool(t, "clang")
	objcopy := testkernel.NeedTool(t, "llvm-objcopy")
	want := strings.TrimSpace(string(mustRead(t, testkernel.File(t, "x86_64", "build-id"))))
	id, err := hex.DecodeString(want)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	notes := append(note("Linux", 0x100, []byte("salt")), note("GNU", ntGNUBuildID, id)...)
	np, obj, src := filepath.Join(dir, "notes"), filepath.Join(dir, "vmlinux"), filepath.Join(dir, "k.c")
	os.WriteFile(np, notes, 0o644)
	os.WriteFile(src, []byte("int start_kernel(void) { return 0; }\n"), 0o644)
	run := func(name string, args ...string) {
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v: %s", name, args, err, out)
		}
	}
	run(clang, "-c", "-o", obj, src)
	run(objcopy, "--add-section", ".notes="+np, "--set-section-flags", ".notes=alloc,readonly", obj)
	got, err := ImageBuildID(obj)
	if err != nil || got != want {
		t.Fatalf("ImageBuildID = %q, %v; want %q", got, err, want)
	}
	// A bzImage is not ELF: a clear error.
	_, err = ImageBuildID(testkernel.File(t, "x86_64", "bzImage"))
	if err == nil || !strings.Contains(err.Error(), "not an ELF kernel image") {
		t.Errorf("bzImage: %v", err)
	}
	// An ELF file without a build ID.
	plain := filepath.Join(dir, "plain.o")
	run(clang, "-c", "-o", plain, src)
	if _, err := ImageBuildID(plain); err == nil {
		t.Error("an ELF file without notes gave a build ID")
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
