package vmproto

import (
	"github.com/khtool/kh/internal/testkernel"

	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func mkTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "include/linux"), 0o755))
	must(os.WriteFile(filepath.Join(root, "include/linux/types.h"), []byte("typedef int x;\n"), 0o644))
	must(os.WriteFile(filepath.Join(root, "a b"), []byte("spaces\n"), 0o600))
	must(os.Symlink("include/linux", filepath.Join(root, "link")))
	return root
}

func TestTreeListing(t *testing.T) {
	root := mkTree(t)
	l, err := TreeListing(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("typedef int x;\n"))
	want := strings.Join([]string{
		`f "a b" ` + fileSum(t, filepath.Join(root, "a b")),
		`d "include"`,
		`d "include/linux"`,
		`f "include/linux/types.h" ` + hex.EncodeToString(sum[:]),
		`l "link" -> "include/linux"`,
	}, "\n") + "\n"
	if string(l) != want {
		t.Fatalf("listing:\n%s\nwant:\n%s", l, want)
	}
}

func fileSum(t *testing.T, p string) string {
	t.Helper()
	s, err := FileSHA256(p)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTreeDigestSensitivity(t *testing.T) {
	root := mkTree(t)
	base, err := TreeDigest(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Modes and times do not count.
	if err := os.Chmod(filepath.Join(root, "a b"), 0o755); err != nil {
		t.Fatal(err)
	}
	if d, _ := TreeDigest(root, nil); d != base {
		t.Errorf("chmod changed the digest")
	}
	// Contents, names, symlink targets and extra entries do.
	changes := map[string]func(string) error{
		"content": func(r string) error { return os.WriteFile(filepath.Join(r, "a b"), []byte("other\n"), 0o600) },
		"rename":  func(r string) error { return os.Rename(filepath.Join(r, "a b"), filepath.Join(r, "a c")) },
		"target": func(r string) error {
			os.Remove(filepath.Join(r, "link"))
			return os.Symlink("include", filepath.Join(r, "link"))
		},
		"extra dir": func(r string) error { return os.Mkdir(filepath.Join(r, "new"), 0o755) },
	}
	for name, change := range changes {
		r := mkTree(t)
		if err := change(r); err != nil {
			t.Fatal(err)
		}
		if d, _ := TreeDigest(r, nil); d == base {
			t.Errorf("%s: digest unchanged", name)
		}
	}
	r := mkTree(t)
	if err := os.WriteFile(filepath.Join(r, ".kh-manifest.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if d, _ := TreeDigest(r, []string{".kh-manifest.json"}); d != base {
		t.Errorf("excluded file changed the digest")
	}
	if err := os.MkdirAll(filepath.Join(r, "cache/x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if d, _ := TreeDigest(r, []string{".kh-manifest.json", "cache"}); d != base {
		t.Errorf("excluded directory changed the digest")
	}
}

// TestTreeDigestTar checks the host use: a tree unpacked by tar(1) digests
// like the tree it was made from.
func TestTreeDigestTar(t *testing.T) {
	testkernel.NeedTool(t, "tar")
	root := mkTree(t)
	want, err := TreeDigest(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "t.tar")
	if out, err := exec.Command("tar", "-C", root, "-cf", archive, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar -c: %v: %s", err, out)
	}
	dst := t.TempDir()
	if out, err := exec.Command("tar", "-C", dst, "-xf", archive).CombinedOutput(); err != nil {
		t.Fatalf("tar -x: %v: %s", err, out)
	}
	if got, err := TreeDigest(dst, nil); err != nil || got != want {
		t.Fatalf("digest of the unpacked tree = %s, %v; want %s", got, err, want)
	}
}

func TestTreeListingErrors(t *testing.T) {
	root := mkTree(t)
	if _, err := TreeListing(filepath.Join(root, "a b"), nil); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("file as root: err = %v", err)
	}
	if _, err := TreeListing(filepath.Join(root, "missing"), nil); err == nil {
		t.Errorf("missing root: no error")
	}
}
