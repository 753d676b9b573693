package kheaders

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	tk "github.com/khtool/kh/internal/testkernel"
)

// TestExtractMatchesTar checks that the tree kh extracts from the real
// archives is identical (contents, file types, symlinks) to what GNU tar
// makes of them.
func TestExtractMatchesTar(t *testing.T) {
	tk.NeedTool(t, "tar")
	for _, arch := range []string{"x86_64", "arm64"} {
		t.Run(arch, func(t *testing.T) {
			dir := testkernel(t, arch)
			archive := filepath.Join(dir, "kheaders.tar.xz")
			ours := filepath.Join(t.TempDir(), "ours")
			os.Mkdir(ours, 0o700)
			st, err := Extract(context.Background(), readFile(t, archive), ours, DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			want := string(readFile(t, filepath.Join(dir, "release")))
			if st.Release+"\n" != want && st.Release != want {
				t.Errorf("release %q, want %q", st.Release, want)
			}
			wantArch := map[string]string{"x86_64": "x86", "arm64": "arm64"}[arch]
			if st.Arch != wantArch {
				t.Errorf("arch %q, want %q", st.Arch, wantArch)
			}
			theirs := filepath.Join(t.TempDir(), "tar")
			os.Mkdir(theirs, 0o700)
			if out, err := exec.Command("tar", "-C", theirs, "-xJf", archive).CombinedOutput(); err != nil {
				t.Fatalf("tar: %v: %s", err, out)
			}
			a, b := treeListing(t, ours), treeListing(t, theirs)
			if a != b {
				t.Fatalf("trees differ: %s", firstDiff(a, b))
			}
			t.Logf("%d files, %d dirs, %d symlinks, %d bytes", st.Files, st.Dirs, st.Symlinks, st.Bytes)
			makeWritable(ours)
		})
	}
}
