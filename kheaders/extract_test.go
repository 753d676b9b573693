package kheaders

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// extractInSandbox extracts into parent/stage and reports what exists in
// parent afterwards other than stage, so tests can prove that nothing was
// written outside the staging directory.
func extractInSandbox(t *testing.T, archive []byte, lim Limits) (Stats, string, []string, error) {
	t.Helper()
	parent := t.TempDir()
	stage := filepath.Join(parent, "stage")
	os.Mkdir(stage, 0o700)
	os.Mkdir(filepath.Join(parent, "outside"), 0o755)
	st, err := Extract(context.Background(), archive, stage, lim)
	var outside []string
	filepath.Walk(parent, func(p string, fi os.FileInfo, err error) error {
		if p == stage {
			return filepath.SkipDir
		}
		if p != parent && p != filepath.Join(parent, "outside") {
			outside = append(outside, p)
		}
		return nil
	})
	t.Cleanup(func() { makeWritable(stage) })
	return st, stage, outside, err
}

func TestExtractMinimal(t *testing.T) {
	entries := append(minimalTree(),
		tarEntry{name: "./include/linux/suid.h", typ: tar.TypeReg, body: "x", mode: 0o6755},
		link("./include/linux/alias.h", "kconfig.h"),
		link("./include/up.h", "../arch/x86/include/asm.h"),
	)
	st, stage, outside, err := extractInSandbox(t, makeArchive(t, entries), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if len(outside) > 0 {
		t.Fatalf("wrote outside the staging directory: %v", outside)
	}
	want := Stats{Release: "6.1.0-test", Arch: "x86", Files: 4, Dirs: 6, Symlinks: 2, Bytes: int64(len("/* asm */\n") + len("#define UTS_RELEASE \"6.1.0-test\"\n") + len("#define __LINUX_KCONFIG_H\n") + 1)}
	if st != want {
		t.Fatalf("stats = %+v, want %+v", st, want)
	}
	fi, err := os.Stat(filepath.Join(stage, "include/linux/suid.h"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&(os.ModeSetuid|os.ModeSetgid) != 0 || fi.Mode().Perm() != 0o555 {
		t.Errorf("suid.h mode %v, want 0555 without setuid/setgid", fi.Mode())
	}
	fi, _ = os.Stat(filepath.Join(stage, "include/linux/kconfig.h"))
	if fi.Mode().Perm() != 0o444 {
		t.Errorf("kconfig.h mode %v, want 0444", fi.Mode())
	}
	fi, _ = os.Stat(filepath.Join(stage, "include/linux"))
	if fi.Mode().Perm() != 0o555 {
		t.Errorf("directory mode %v, want 0555", fi.Mode())
	}
	if b, err := os.ReadFile(filepath.Join(stage, "include/up.h")); err != nil || string(b) != "/* asm */\n" {
		t.Errorf("symlink include/up.h: %q, %v", b, err)
	}
}

func TestExtractHostile(t *testing.T) {
	base := minimalTree()
	with := func(extra ...tarEntry) []tarEntry { return append(minimalTree(), extra...) }
	small := DefaultLimits()
	small.MaxEntries, small.MaxTotal, small.MaxFileSize = len(base)+2, 200, 100

	valid := makeArchive(t, base)
	validTar := makeTar(t, base)

	tests := []struct {
		name    string
		archive []byte
		lim     Limits
		want    string // part of the error
	}{
		{"traversal", makeArchive(t, with(file("../evil", "x"))), DefaultLimits(), "leaves the tree"},
		{"traversal inside", makeArchive(t, with(file("include/../../evil", "x"))), DefaultLimits(), "not a clean path"},
		{"absolute", makeArchive(t, with(file("/tmp/kh-evil-absolute", "x"))), DefaultLimits(), "absolute name"},
		{"symlink out", makeArchive(t, with(link("include/out", "../../etc/passwd"))), DefaultLimits(), "leaves the tree"},
		{"symlink absolute", makeArchive(t, with(link("include/abs", "/etc/passwd"))), DefaultLimits(), "absolute path"},
		{"symlink chain", makeArchive(t, with(dir("a/"), link("a/l", ".."), link("e", "a/l/../.."))), DefaultLimits(), "leaves the tree"},
		{"symlink loop", makeArchive(t, with(link("x", "y"), link("y", "x/z"))), DefaultLimits(), "too many levels"},
		{"write through symlink", makeArchive(t, with(link("sub", "include"), file("sub/x.h", "x"))), DefaultLimits(), "through the symlink"},
		{"write through escaping symlink", makeArchive(t, with(link("sub", "../outside"), file("sub/x.h", "x"))), DefaultLimits(), "through the symlink"},
		{"hard link", makeArchive(t, with(tarEntry{name: "h", typ: tar.TypeLink, linkname: "include/linux/kconfig.h"})), DefaultLimits(), "hard links"},
		{"char device", makeArchive(t, with(tarEntry{name: "null", typ: tar.TypeChar})), DefaultLimits(), "device files"},
		{"block device", makeArchive(t, with(tarEntry{name: "sda", typ: tar.TypeBlock})), DefaultLimits(), "device files"},
		{"fifo", makeArchive(t, with(tarEntry{name: "p", typ: tar.TypeFifo})), DefaultLimits(), "FIFOs"},
		{"duplicate file", makeArchive(t, with(file("include/d.h", "a"), file("include/d.h", "b"))), DefaultLimits(), "duplicate"},
		{"duplicate dir", makeArchive(t, with(dir("include/"))), DefaultLimits(), "duplicate"},
		{"file where dir must be", makeArchive(t, with(file("include/f", "a"), file("include/f/g.h", "b"))), DefaultLimits(), "is a file"},
		{"dir over file", makeArchive(t, with(file("include/f", "a"), dir("include/f/"))), DefaultLimits(), "duplicate"},
		{"long name", makeArchive(t, with(file(strings.Repeat("a/", 2100)+"x", "x"))), DefaultLimits(), "bytes long"},
		{"long component", makeArchive(t, with(file("include/"+strings.Repeat("c", 300), "x"))), DefaultLimits(), "component"},
		{"deep", makeArchive(t, with(file(strings.Repeat("d/", 70)+"x", "x"))), DefaultLimits(), "levels deep"},
		{"too many entries", makeArchive(t, with(file("a1", ""), file("a2", ""), file("a3", ""))), small, "entries"},
		{"too big in total", makeArchive(t, with(file("a1", strings.Repeat("x", 90)), file("a2", strings.Repeat("x", 90)))), small, "in total"},
		{"file too big", makeArchive(t, with(file("big", strings.Repeat("x", 101)))), small, "file is 101 bytes"},
		{"dictionary 4 GiB", setDict(t, valid, 40), DefaultLimits(), "dictionary"},
		{"not xz", []byte("this is not an xz archive at all"), DefaultLimits(), "not an xz archive"},
		{"empty", nil, DefaultLimits(), "not an xz archive"},
		{"xz of non-tar", xzCompress(t, bytes.Repeat([]byte("hello world\n"), 200)), DefaultLimits(), "tar"},
		{"truncated xz", valid[:len(valid)*2/3], DefaultLimits(), ""},
		{"truncated xz footer", valid[:len(valid)-3], DefaultLimits(), ""},
		{"corrupt data", flip(valid, len(valid)/2), DefaultLimits(), ""},
		{"bad check", flip(valid, xzIndexStart(valid)-3), DefaultLimits(), ""},
		{"bad index indicator", flip(valid, xzIndexStart(valid)), DefaultLimits(), ""},
		{"bad index record", flip(valid, xzIndexStart(valid)+2), DefaultLimits(), ""},
		{"bad footer", flip(valid, len(valid)-6), DefaultLimits(), ""},
		{"trailing garbage", append(append([]byte(nil), valid...), "GARBAGE!"...), DefaultLimits(), ""},
		{"tar without end marker", xzCompress(t, validTar[:tarEnd(validTar)]), DefaultLimits(), "truncated"},
		{"junk after tar end", xzCompress(t, append(append([]byte(nil), validTar...), "junk"...)), DefaultLimits(), "trailing data"},
		{"empty tar", xzCompress(t, makeTar(t, nil)), DefaultLimits(), "not a kernel header archive"},
		{"no release", makeArchive(t, []tarEntry{dir("include/"), dir("arch/x86/include/")}), DefaultLimits(), "UTS_RELEASE"},
		{"two arches", makeArchive(t, with(dir("arch/arm64/"), dir("arch/arm64/include/"))), DefaultLimits(), "exactly one arch"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, outside, err := extractInSandbox(t, tc.archive, tc.lim)
			if err == nil {
				t.Fatal("hostile archive accepted")
			}
			var ae *ArchiveError
			if !errors.As(err, &ae) {
				t.Errorf("error is not an *ArchiveError: %v", err)
			}
			if tc.want != "" && !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			if len(outside) > 0 {
				t.Errorf("wrote outside the staging directory: %v", outside)
			}
			if _, err := os.Lstat("/tmp/kh-evil-absolute"); err == nil {
				t.Errorf("absolute path was written")
			}
		})
	}
}

// tarEnd returns the length of a tar stream without its end-of-archive
// marker and padding.
func tarEnd(tarData []byte) int {
	var end int64
	cr := &countingReader{r: bytes.NewReader(tarData)}
	tr := tar.NewReader(cr)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		end = cr.n + (h.Size+511)&^511
	}
	return int(end)
}

// xzIndexStart returns the offset of the index of a one-stream xz file:
// the footer's backward size says how long the index is.
func xzIndexStart(data []byte) int {
	bs := binary.LittleEndian.Uint32(data[len(data)-8:])
	return len(data) - 12 - int(bs+1)*4
}

func flip(data []byte, i int) []byte {
	out := append([]byte(nil), data...)
	out[i] ^= 0x55
	return out
}

// TestExtractDefaultFileLimit checks the default 256 MiB per-file limit
// with a header that claims 300 MiB: refused at the header, before any
// data is read or written.
func TestExtractDefaultFileLimit(t *testing.T) {
	var b bytes.Buffer
	w := tar.NewWriter(&b)
	w.WriteHeader(&tar.Header{Name: "include/huge.h", Typeflag: tar.TypeReg, Size: 300 << 20, Mode: 0o644})
	w.Flush() // the header only: the data would never be read
	_, _, _, err := extractInSandbox(t, xzCompress(t, b.Bytes()), DefaultLimits())
	if err == nil || !strings.Contains(err.Error(), "file is 314572800 bytes (limit 268435456)") {
		t.Fatalf("err = %v", err)
	}
}

func TestExtractCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	stage := t.TempDir()
	_, err := Extract(ctx, makeArchive(t, minimalTree()), stage, DefaultLimits())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestDefaultLimits(t *testing.T) {
	l := DefaultLimits()
	if l.MaxEntries != 200000 || l.MaxTotal != 1<<30 || l.MaxFileSize != 256<<20 || l.MaxDict != 64<<20 {
		t.Fatalf("DefaultLimits = %+v", l)
	}
}
