package adbd

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Sync protocol v1 (SYNC.TXT): 8-byte requests (an id and a little-endian
// length), then length bytes.
const (
	syncMaxPath  = 1024
	syncMaxChunk = 64 << 10
)

// serveSync serves sync requests until QUIT or the end of the stream.
func serveSync(st *stream) error {
	r := bufio.NewReaderSize(st, syncMaxChunk+8)
	w := bufio.NewWriterSize(st, maxPayload)
	for {
		id, n, err := syncHeader(r)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if id == "QUIT" {
			return nil
		}
		if n > syncMaxPath {
			return fmt.Errorf("sync %s: path of %d bytes", id, n)
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(r, p); err != nil {
			return err
		}
		path := string(p)
		switch id {
		case "STAT":
			err = syncStat(w, path)
		case "LIST":
			err = syncList(w, path)
		case "RECV":
			err = syncRecv(w, path)
		case "SEND":
			err = syncSend(r, w, path)
		default:
			return fmt.Errorf("sync: unknown request %q", id)
		}
		if err == nil {
			err = w.Flush()
		}
		if err != nil {
			return err
		}
	}
}

func syncHeader(r io.Reader) (string, uint32, error) {
	var h [8]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return "", 0, err
	}
	return string(h[:4]), binary.LittleEndian.Uint32(h[4:]), nil
}

func putHeader(w io.Writer, id string, vals ...uint32) error {
	b := make([]byte, 4+4*len(vals))
	copy(b, id)
	for i, v := range vals {
		binary.LittleEndian.PutUint32(b[4+4*i:], v)
	}
	_, err := w.Write(b)
	return err
}

func syncFail(w io.Writer, msg string) error {
	if err := putHeader(w, "FAIL", uint32(len(msg))); err != nil {
		return err
	}
	_, err := io.WriteString(w, msg)
	return err
}

// errText is how adbd words an errno: strerror, without Go's "op path:".
func errText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return err.Error()
}

// unixMode is a FileMode as st_mode bits.
func unixMode(fi fs.FileInfo) uint32 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Mode
	}
	return uint32(fi.Mode().Perm())
}

func syncStat(w io.Writer, path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return putHeader(w, "STAT", 0, 0, 0)
	}
	return putHeader(w, "STAT", unixMode(fi), uint32(fi.Size()), uint32(fi.ModTime().Unix()))
}

func syncList(w io.Writer, path string) error {
	ents, err := os.ReadDir(path)
	if err == nil {
		for _, e := range ents {
			fi, err := os.Lstat(filepath.Join(path, e.Name()))
			if err != nil {
				continue
			}
			if err := putHeader(w, "DENT", unixMode(fi), uint32(fi.Size()), uint32(fi.ModTime().Unix()), uint32(len(e.Name()))); err != nil {
				return err
			}
			if _, err := io.WriteString(w, e.Name()); err != nil {
				return err
			}
		}
	}
	return putHeader(w, "DONE", 0, 0, 0, 0)
}

func syncRecv(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return syncFail(w, errText(err))
	}
	defer f.Close()
	buf := make([]byte, syncMaxChunk)
	for {
		n, err := f.Read(buf)
		if n > 0 {
			if err := putHeader(w, "DATA", uint32(n)); err != nil {
				return err
			}
			if _, err := w.Write(buf[:n]); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return syncFail(w, errText(err))
		}
	}
	return putHeader(w, "DONE", 0)
}

// syncSend receives a file: "PATH,MODE", then DATA chunks and DONE with
// the modification time. A failed write still consumes the rest of the
// transfer, then answers FAIL and removes the partial file.
func syncSend(r io.Reader, w io.Writer, spec string) error {
	i := strings.LastIndexByte(spec, ',')
	if i < 0 {
		return syncFail(w, "missing mode in "+spec)
	}
	path := spec[:i]
	mode, err := strconv.ParseUint(spec[i+1:], 10, 32)
	if err != nil {
		return syncFail(w, "bad mode in "+spec)
	}
	var failure error
	var f *os.File
	var link []byte
	isLink := mode&syscall.S_IFMT == syscall.S_IFLNK
	if !isLink {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			failure = err
		} else {
			os.Remove(path)
			f, failure = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fs.FileMode(mode&0o777))
		}
	}
	var mtime uint32
	for {
		id, n, err := syncHeader(r)
		if err != nil {
			if f != nil {
				f.Close()
				os.Remove(path)
			}
			return err
		}
		if id == "DONE" {
			mtime = n
			break
		}
		if id != "DATA" || n > syncMaxChunk {
			if f != nil {
				f.Close()
				os.Remove(path)
			}
			return fmt.Errorf("sync SEND: got %q of %d bytes, want DATA or DONE", id, n)
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(r, buf); err != nil {
			if f != nil {
				f.Close()
				os.Remove(path)
			}
			return err
		}
		switch {
		case failure != nil:
		case isLink:
			link = append(link, buf...)
		default:
			if _, err := f.Write(buf); err != nil {
				failure = err
			}
		}
	}
	if isLink && failure == nil {
		os.Remove(path)
		failure = os.Symlink(string(link), path)
	}
	if f != nil {
		if err := f.Close(); err != nil && failure == nil {
			failure = err
		}
		if failure == nil {
			t := time.Unix(int64(mtime), 0)
			os.Chtimes(path, t, t)
		}
	}
	if failure != nil {
		if f != nil {
			os.Remove(path)
		}
		return syncFail(w, errText(failure))
	}
	return putHeader(w, "OKAY", 0)
}
