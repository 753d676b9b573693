package vmtest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/klauspost/compress/gzip"
)

// File is a file the harness puts into the guest's initramfs. A File with
// the path of one of the harness's own files replaces it.
type File struct {
	// Path is the absolute guest path. Missing parent directories are
	// created (mode 0755).
	Path string
	// HostPath names a host file to copy; otherwise Data is the content.
	HostPath string
	Data     []byte
	// Mode holds the permission bits (and setuid, setgid, sticky); zero
	// means 0644, or 0755 for an executable host file.
	Mode os.FileMode
	// Symlink, if set, makes Path a symbolic link to it (Data, HostPath
	// and Mode are then ignored).
	Symlink string
	// Dir makes Path a directory with Mode (0755 if zero).
	Dir bool
	// UID and GID own the entry (root if zero), e.g. Android's
	// /data/local/tmp, owned by shell (2000:2000).
	UID, GID uint32
}

// Character device numbers of /dev/console: the kernel opens it as init's
// stdin, stdout and stderr before devtmpfs is mounted.
const consoleMajor, consoleMinor = 5, 1

// writeInitramfs writes files as a gzip-compressed newc cpio archive, the
// format the kernel unpacks into its root file system.
func writeInitramfs(dst string, files []File) (err error) {
	f, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("initramfs: %w", cerr)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	// The payload is mostly Go binaries and an xz archive: the fastest
	// level costs little size and keeps boots quick.
	zw, err := gzip.NewWriterLevel(bw, gzip.BestSpeed)
	if err != nil {
		return err
	}
	w := &cpioWriter{w: zw, dirs: map[string]bool{"/": true}}
	w.parents("/dev")
	w.node("/dev/console", 0o020600, nil, 0, consoleMajor, consoleMinor)
	// Directories first, parents before children: the kernel does not
	// create missing parents while unpacking.
	files = append([]File(nil), files...)
	sort.SliceStable(files, func(i, j int) bool { return files[i].Dir && !files[j].Dir })
	for _, fl := range files {
		if err := w.add(fl); err != nil {
			return fmt.Errorf("initramfs %s: %w", fl.Path, err)
		}
	}
	w.trailer()
	if w.err != nil {
		return fmt.Errorf("initramfs: %w", w.err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	return nil
}

// cpioWriter writes the "newc" (070701) cpio format: a 110-byte ASCII
// header of 13 eight-digit hex fields, the NUL-terminated name padded to
// 4 bytes, then the data padded to 4 bytes; a "TRAILER!!!" entry ends it.
type cpioWriter struct {
	w        io.Writer
	ino      uint32
	dirs     map[string]bool
	err      error
	uid, gid uint32 // of the next entry node writes
}

// owned makes the next entry owned by f's UID and GID.
func (w *cpioWriter) owned(f File) *cpioWriter {
	w.uid, w.gid = f.UID, f.GID
	return w
}

func (w *cpioWriter) add(f File) error {
	p := path.Clean(f.Path)
	if !path.IsAbs(p) || p == "/" {
		return fmt.Errorf("want an absolute file path, not %q", f.Path)
	}
	w.parents(path.Dir(p))
	switch {
	case f.Dir:
		mode := unixMode(f.Mode)
		if mode == 0 {
			mode = 0o755
		}
		if !w.dirs[p] {
			w.dirs[p] = true
			w.owned(f).node(p, 0o040000|mode, nil, 0, 0, 0)
		}
	case f.Symlink != "":
		w.owned(f).node(p, 0o120777, strings.NewReader(f.Symlink), int64(len(f.Symlink)), 0, 0)
	case f.HostPath != "":
		src, err := os.Open(f.HostPath)
		if err != nil {
			return err
		}
		defer src.Close()
		fi, err := src.Stat()
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%s: not a regular file", f.HostPath)
		}
		mode := unixMode(f.Mode)
		if mode == 0 {
			mode = 0o644
			if fi.Mode()&0o111 != 0 {
				mode = 0o755
			}
		}
		w.owned(f).node(p, 0o100000|mode, src, fi.Size(), 0, 0)
	default:
		mode := unixMode(f.Mode)
		if mode == 0 {
			mode = 0o644
		}
		w.owned(f).node(p, 0o100000|mode, bytes.NewReader(f.Data), int64(len(f.Data)), 0, 0)
	}
	return w.err
}

// parents adds the directories leading to dir that are not there yet.
func (w *cpioWriter) parents(dir string) {
	if w.dirs[dir] {
		return
	}
	w.parents(path.Dir(dir))
	w.dirs[dir] = true
	w.node(dir, 0o040755, nil, 0, 0, 0)
}

// node writes one entry. Every entry gets its own inode number and
// nlink 1, so the kernel never mistakes two files for hard links.
func (w *cpioWriter) node(name string, mode uint32, data io.Reader, size int64, rmajor, rminor uint32) {
	if w.err != nil {
		return
	}
	if size > 0xffffffff {
		w.err = fmt.Errorf("%s: %d bytes is too big for cpio", name, size)
		return
	}
	w.ino++
	name = strings.TrimPrefix(name, "/")
	nlink := uint32(1)
	if mode&0o170000 == 0o040000 {
		nlink = 2
	}
	hdr := fmt.Sprintf("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		w.ino, mode, w.uid, w.gid, nlink, 0, uint32(size), 0, 0, rmajor, rminor, len(name)+1, 0)
	w.uid, w.gid = 0, 0
	w.write([]byte(hdr))
	w.write(append([]byte(name), 0))
	w.pad(len(hdr) + len(name) + 1)
	if data != nil {
		n, err := io.Copy(w.w, io.LimitReader(data, size))
		if err == nil && n != size {
			err = fmt.Errorf("%s: short read (%d of %d bytes)", name, n, size)
		}
		if err != nil && w.err == nil {
			w.err = err
		}
	}
	w.pad(int(size))
}

func (w *cpioWriter) trailer() { w.node("TRAILER!!!", 0, nil, 0, 0, 0) }

func (w *cpioWriter) write(b []byte) {
	if w.err == nil {
		_, w.err = w.w.Write(b)
	}
}

func (w *cpioWriter) pad(n int) {
	if r := n % 4; r != 0 {
		w.write(make([]byte, 4-r))
	}
}
