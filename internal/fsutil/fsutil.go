// Package fsutil reads the files kh is handed (archives, modules, BPF
// objects, configurations) with one rule: a regular file, no larger than
// a limit, read in one open so that a file swapped or grown after the
// check is still refused or bounded.
//
// It must not interpret what it reads.
//
// One copy remains on purpose: btf/spec.go reads its input its own way
// (it sniffs the ELF magic through the open file first); package btf is
// being rewritten separately and will take ReadRegular then.
package fsutil

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// ErrNotRegular means the path names a directory, device, FIFO or socket.
var ErrNotRegular = errors.New("not a regular file")

// TooLargeError means a file is larger than the reader's limit. Size is
// what fstat reported, or Max+1 when the file grew past Max while read.
type TooLargeError struct {
	Path string
	Size int64
	Max  int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s: %d bytes is too large (limit %d)", e.Path, e.Size, e.Max)
}

// ReadRegular returns the contents of the regular file at path, at most
// max bytes. It opens the file once (non-blocking, so a FIFO cannot hang
// it), checks the open descriptor with fstat, and reads through
// io.LimitReader(max+1): a file larger than max is refused without being
// read past max+1 bytes, also when it grows after the check.
func ReadRegular(path string, max int64) ([]byte, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadOpen(f, path, max)
}

// Open opens path for ReadOpen: read-only and non-blocking, so that a
// FIFO cannot hang the open.
func Open(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}

// ReadOpen is ReadRegular for a file already open (by Open), so that a
// caller can fstat the very file it reads, before and after.
func ReadOpen(f *os.File, path string, max int64) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w", path, ErrNotRegular)
	}
	if fi.Size() > max {
		return nil, &TooLargeError{Path: path, Size: fi.Size(), Max: max}
	}
	// One allocation of the right size (files in /proc report theirs as
	// 0, and grow the buffer as usual).
	b := bytes.NewBuffer(make([]byte, 0, fi.Size()+bytes.MinRead))
	if _, err := b.ReadFrom(io.LimitReader(f, max+1)); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(b.Len()) > max {
		return nil, &TooLargeError{Path: path, Size: max + 1, Max: max}
	}
	return b.Bytes(), nil
}
