package kheaders

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzLimits keep each fuzz run small.
func fuzzLimits() Limits {
	l := DefaultLimits()
	l.MaxEntries, l.MaxTotal, l.MaxFileSize = 500, 1<<20, 256<<10
	return l
}

// checkTreeInvariants verifies what any accepted archive must give: only
// directories, regular files and symlinks, nothing writable, no setuid or
// setgid, and every symlink resolving inside the tree (or dangling).
func checkTreeInvariants(t *testing.T, dir string) {
	t.Helper()
	realDir, _ := filepath.EvalSymlinks(dir)
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatalf("walk: %v", err)
		}
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := filepath.EvalSymlinks(p)
			if err == nil && target != realDir && !strings.HasPrefix(target, realDir+"/") {
				t.Fatalf("symlink %s resolves outside the tree: %s", p, target)
			}
		case fi.IsDir():
			if p != dir && fi.Mode().Perm() != 0o555 {
				t.Fatalf("directory %s has mode %v", p, fi.Mode())
			}
		case fi.Mode().IsRegular():
			if fi.Mode()&(fs.ModeSetuid|fs.ModeSetgid) != 0 || fi.Mode().Perm()&0o222 != 0 {
				t.Fatalf("file %s has mode %v", p, fi.Mode())
			}
		default:
			t.Fatalf("%s has type %v", p, fi.Mode().Type())
		}
		return nil
	})
}

func fuzzSeeds(f *testing.F, compressed bool) {
	mini, err := os.ReadFile("../testdata/kheaders-mini.tar.xz")
	if err != nil {
		f.Fatal(err)
	}
	entries := [][]tarEntry{
		minimalTree(),
		append(minimalTree(), link("include/l", "linux/kconfig.h"), link("e", "include/l/../..")),
		append(minimalTree(), file("../x", "x")),
		append(minimalTree(), link("s", "include"), file("s/x", "x")),
		append(minimalTree(), tarEntry{name: "h", typ: '1', linkname: "include"}),
	}
	if compressed {
		f.Add(mini)
		for _, e := range entries {
			f.Add(makeArchive(f, e))
		}
		return
	}
	for _, e := range entries {
		f.Add(makeTar(f, e))
	}
}

// FuzzExtract feeds arbitrary bytes through the whole reader (xz, tar,
// checks). It must never panic, and whatever it accepts must satisfy the
// tree invariants.
func FuzzExtract(f *testing.F) {
	fuzzSeeds(f, true)
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		defer makeWritable(dir)
		_, err := Extract(context.Background(), data, dir, fuzzLimits())
		if err == nil {
			checkTreeInvariants(t, dir)
			return
		}
		var ae *ArchiveError
		if !errors.As(err, &ae) && !errors.Is(err, ErrNoSpace) {
			t.Fatalf("error is not an ArchiveError: %v", err)
		}
	})
}

// FuzzExtractTar fuzzes the tar layer directly, where mutations are not
// stopped by the xz checksums.
func FuzzExtractTar(f *testing.F) {
	fuzzSeeds(f, false)
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		defer makeWritable(dir)
		_, err := extractTar(context.Background(), bytes.NewReader(data), dir, fuzzLimits())
		if err == nil {
			checkTreeInvariants(t, dir)
			return
		}
		var ae *ArchiveError
		if !errors.As(err, &ae) {
			t.Fatalf("error is not an ArchiveError: %v", err)
		}
	})
}
