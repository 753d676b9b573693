package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.h")
	if err := Write(p, 0o644, func(w io.Writer) error { _, err := io.WriteString(w, "one"); return err }); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(p, 0o644, func(w io.Writer) error { io.WriteString(w, "partial"); return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "one" {
		t.Fatalf("failed write changed the file: %q", b)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("leftover temporary files: %v", ents)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v", fi.Mode())
	}
}

// TestWriteBadPaths is issue 14 item 8: a directory as the path is refused
// (it used to put the temporary file in the directory's parent and fail
// renaming it over the directory), and a missing directory's error names
// it, not the temporary file.
func TestWriteBadPaths(t *testing.T) {
	dir := t.TempDir()
	write := func(w io.Writer) error { _, err := io.WriteString(w, "x"); return err }
	err := Write(dir, 0o644, write)
	if !errors.Is(err, ErrIsDir) || strings.Contains(err.Error(), ".tmp-") {
		t.Errorf("a directory: %v", err)
	}
	missing := filepath.Join(dir, "no", "such", "out.o")
	err = Write(missing, 0o644, write)
	if !errors.Is(err, fs.ErrNotExist) || strings.Contains(err.Error(), ".tmp-") || !strings.Contains(err.Error(), filepath.Join(dir, "no", "such")) {
		t.Errorf("a missing directory: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left behind: %v", ents)
	}
}
