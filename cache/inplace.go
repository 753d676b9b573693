package cache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// CheckTree checks that the tree at dir, used in place rather than from
// the cache (a header directory, /lib/modules/RELEASE/build), cannot be
// changed by another user: every directory on the path to it passes the
// cache's ancestor rule, and the tree itself and everything in it
// (recursively: every directory and file a compiler would read, and what
// its symlinks lead to, wherever that is) is owned by root or the caller
// and writable by neither group nor others. It returns an
// *UntrustedError naming the first offender.
func CheckTree(ctx context.Context, dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	ck := &treeChecker{ctx: ctx, trust: newTrust(), seen: map[[2]uint64]bool{}}
	return ck.path(abs, 0)
}

type treeChecker struct {
	ctx   context.Context
	trust trust
	seen  map[[2]uint64]bool // directories checked, by device and inode
	n     int
}

// path checks p, reached through trusted directories, whatever it is.
func (ck *treeChecker) path(p string, hops int) error {
	if hops > 40 {
		return &os.PathError{Op: "open", Path: p, Err: unix.ELOOP}
	}
	w, err := ck.trust.walk(filepath.Dir(p), false, 0)
	if err != nil {
		return err
	}
	defer w.close()
	var st unix.Stat_t
	if err := unix.Fstat(int(w.dir.Fd()), &st); err != nil {
		return &os.PathError{Op: "stat", Path: w.path, Err: err}
	}
	if why := ck.trust.ancestor(&st); why != "" {
		return &UntrustedError{Path: w.path, Reason: why, Ancestor: true}
	}
	if filepath.Dir(p) == p { // "/"
		return ck.dir(int(w.dir.Fd()), p)
	}
	return ck.entry(int(w.dir.Fd()), w.path, filepath.Base(p), hops, true)
}

// entry checks name in the directory dirfd (at path parent).
func (ck *treeChecker) entry(dirfd int, parent, name string, hops int, top bool) error {
	p := filepath.Join(parent, name)
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if errors.Is(err, unix.ENOENT) && !top {
			return nil // gone; only a trusted user could put it back
		}
		return &os.PathError{Op: "stat", Path: p, Err: err}
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFLNK:
		// The directory holding it is trusted, so the link is theirs;
		// what it leads to must be trusted too.
		buf := make([]byte, unix.PathMax)
		n, err := unix.Readlinkat(dirfd, name, buf)
		if err != nil {
			return &os.PathError{Op: "readlink", Path: p, Err: err}
		}
		target := string(buf[:n])
		if !filepath.IsAbs(target) {
			target = filepath.Join(parent, target)
		}
		err = ck.path(target, hops+1)
		var pe *os.PathError
		if errors.As(err, &pe) && errors.Is(err, os.ErrNotExist) && !top {
			return nil // dangling (within trusted directories)
		}
		return err
	case unix.S_IFDIR:
		if why := ck.trust.leaf(&st, unix.S_IFDIR); why != "" {
			return &UntrustedError{Path: p, Reason: why}
		}
		if ck.seen[[2]uint64{st.Dev, st.Ino}] {
			return nil
		}
		fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return &os.PathError{Op: "open", Path: p, Err: err}
		}
		defer unix.Close(fd)
		return ck.dir(fd, p)
	default:
		if why := ck.trust.leaf(&st, st.Mode&unix.S_IFMT); why != "" {
			return &UntrustedError{Path: p, Reason: why}
		}
		if st.Mode&unix.S_IFMT != unix.S_IFREG && !top {
			return &UntrustedError{Path: p, Reason: fmt.Sprintf("it is a %s, not a regular file", typeName(st.Mode))}
		}
	}
	return nil
}

// dir checks the open directory fd (at p) and everything in it.
func (ck *treeChecker) dir(fd int, p string) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &os.PathError{Op: "stat", Path: p, Err: err}
	}
	if why := ck.trust.leaf(&st, unix.S_IFDIR); why != "" {
		return &UntrustedError{Path: p, Reason: why}
	}
	key := [2]uint64{st.Dev, st.Ino}
	if ck.seen[key] {
		return nil
	}
	ck.seen[key] = true
	names, err := readNames(fd)
	if err != nil {
		return &os.PathError{Op: "read", Path: p, Err: err}
	}
	for _, n := range names {
		if ck.n++; ck.n%1024 == 0 {
			if err := ck.ctx.Err(); err != nil {
				return err
			}
		}
		if err := ck.entry(fd, p, n, 0, false); err != nil {
			return err
		}
	}
	return nil
}
