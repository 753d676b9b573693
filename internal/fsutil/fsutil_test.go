package fsutil

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestReadRegular(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	os.WriteFile(p, []byte("hello"), 0o644)
	if b, err := ReadRegular(p, 5); err != nil || string(b) != "hello" {
		t.Fatalf("ReadRegular at the limit: %q %v", b, err)
	}
	var tl *TooLargeError
	if _, err := ReadRegular(p, 4); !errors.As(err, &tl) || tl.Size != 5 || tl.Max != 4 {
		t.Fatalf("ReadRegular over the limit: %v", err)
	}
	if _, err := ReadRegular(dir, 1<<20); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("ReadRegular of a directory: %v", err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// Non-blocking open: a FIFO without a writer does not hang.
	if _, err := ReadRegular(fifo, 1<<20); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("ReadRegular of a FIFO: %v", err)
	}
	if _, err := ReadRegular(filepath.Join(dir, "nope"), 1); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ReadRegular of a missing file: %v", err)
	}
}

// TestReadRegularGrowing: a file larger than fstat says (as if it grew
// after the check) is bounded by the read: at max+1 bytes it is refused.
func TestReadRegularGrowing(t *testing.T) {
	// /proc/self/... files report size 0 but hold more: the fstat check
	// passes and only the LimitReader bounds the read.
	p := "/proc/self/maps"
	if _, err := os.Stat(p); err != nil {
		t.Skip("no /proc")
	}
	const max = 16
	_, err := ReadRegular(p, max)
	var tl *TooLargeError
	if !errors.As(err, &tl) || tl.Size != max+1 {
		t.Fatalf("ReadRegular(%s, %d) = %v, want a TooLargeError after %d bytes", p, max, err, max+1)
	}
}

// TestReadRegularHuge: a 1 GiB (sparse) file is refused from fstat alone,
// without reading it (the error reports its full size, which a read
// bounded at max+1 could not know).
func TestReadRegularHuge(t *testing.T) {
	p := filepath.Join(t.TempDir(), "huge")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var tl *TooLargeError
	if _, err := ReadRegular(p, 1<<20); !errors.As(err, &tl) || tl.Size != 1<<30 {
		t.Fatalf("ReadRegular of a 1 GiB file: %v", err)
	}
}
