// Package atomicfile writes files so that readers see either the old file
// or the complete new one, never a partial write: the data goes to a
// temporary file in the same directory, which is synced and then renamed
// over the destination. On any error the temporary file is removed.
package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrIsDir means the path to write is a directory.
var ErrIsDir = errors.New("is a directory (name a file in it)")

// unwrapPath drops an *fs.PathError's operation and path, which may name
// the temporary file.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Write creates or replaces path with what write produces, with mode perm.
func Write(path string, perm os.FileMode, write func(w io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	// Errors name path and its directory, never the temporary file.
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("write %s: %w", path, ErrIsDir)
	}
	if fi, err := os.Stat(dir); err != nil {
		return fmt.Errorf("write %s: directory %s: %w", path, dir, unwrapPath(err))
	} else if !fi.IsDir() {
		return fmt.Errorf("write %s: %s is not a directory", path, dir)
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: in %s: %w", path, dir, unwrapPath(err))
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriterSize(f, 256<<10)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, unwrapLink(err))
	}
	return nil
}

// unwrapLink drops an *os.LinkError's operation and paths (the temporary
// file's among them).
func unwrapLink(err error) error {
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
