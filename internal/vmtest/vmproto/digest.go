package vmproto

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// FileSHA256 returns the hex SHA-256 of the contents of the file at path.
// It reads to EOF, so it also works for files whose size stat reports
// wrongly (procfs) or not at all.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// TreeListing returns the canonical listing of the directory tree at
// root, one line per entry below root in lexical walk order:
//
//	d "include"
//	f "include/linux/types.h" <sha256 of contents>
//	l "include/dt-bindings" -> "../../scripts/dtc/include-prefixes"
//	o "dev/null" char
//
// Paths are relative to root, '/'-separated and Go-quoted. Modes, owners
// and times are deliberately left out: the listing says what a tree
// contains, so that a tree unpacked by kh in the guest and one unpacked by
// tar(1) on the host list the same. Entries whose relative path is in
// exclude are skipped, with everything under them.
func TreeListing(root string, exclude []string) ([]byte, error) {
	skip := make(map[string]bool, len(exclude))
	for _, e := range exclude {
		skip[filepath.ToSlash(filepath.Clean(e))] = true
	}
	var b bytes.Buffer
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == root {
			if !d.IsDir() {
				return fmt.Errorf("%s: not a directory", root)
			}
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if skip[rel] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		q := strconv.Quote(rel)
		switch t := d.Type(); {
		case t.IsDir():
			fmt.Fprintf(&b, "d %s\n", q)
		case t.IsRegular():
			sum, err := FileSHA256(path)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, "f %s %s\n", q, sum)
		case t&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, "l %s -> %s\n", q, strconv.Quote(target))
		default:
			fmt.Fprintf(&b, "o %s %s\n", q, TypeName(t))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list tree %s: %w", root, err)
	}
	return b.Bytes(), nil
}

// TreeDigest returns the hex SHA-256 of TreeListing(root, exclude).
func TreeDigest(root string, exclude []string) (string, error) {
	l, err := TreeListing(root, exclude)
	if err != nil {
		return "", err
	}
	return SumBytes(l), nil
}

// SumBytes returns the hex SHA-256 of b.
func SumBytes(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TypeName names a file type the way Stat.Type does.
func TypeName(m fs.FileMode) string {
	switch t := m.Type(); {
	case t == 0:
		return "file"
	case t&fs.ModeDir != 0:
		return "dir"
	case t&fs.ModeSymlink != 0:
		return "symlink"
	case t&fs.ModeCharDevice != 0:
		return "char"
	case t&fs.ModeDevice != 0:
		return "block"
	case t&fs.ModeNamedPipe != 0:
		return "fifo"
	case t&fs.ModeSocket != 0:
		return "socket"
	default:
		return "other"
	}
}
