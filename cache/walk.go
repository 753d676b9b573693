package cache

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Android's AID_SYSTEM (uid and gid 1000): on Android /data is
// system:system 0771. The system user (system_server, init's services)
// already controls the device at root's level (it installs packages,
// grants permissions, and runs with capabilities the shell never gets),
// so on Android a directory it owns is no weaker than a root-owned one.
// Elsewhere uid 1000 is usually the first human user, who must not be
// trusted by root: the exception applies only where androidMarker is a
// root-owned regular file in a root-owned /system.
const (
	aidSystem     = 1000
	androidMarker = "/system/build.prop"
)

// ErrNotTrusted marks every *UntrustedError.
var ErrNotTrusted = errors.New("untrusted")

// trust is who may own what kh reads and writes: root, the caller, and
// on Android the system user.
type trust struct {
	uid, gid int
	android  bool
}

func newTrust() trust {
	return trust{uid: os.Geteuid(), gid: os.Getegid(), android: isAndroid()}
}

// isAndroid reports whether this is an Android system, from a file
// only root can have put there.
func isAndroid() bool {
	var sys, prop unix.Stat_t
	if unix.Lstat("/system", &sys) != nil || unix.Lstat(androidMarker, &prop) != nil {
		return false
	}
	return sys.Mode&unix.S_IFMT == unix.S_IFDIR && sys.Uid == 0 && sys.Mode&0o022 == 0 &&
		prop.Mode&unix.S_IFMT == unix.S_IFREG && prop.Uid == 0
}

// owner reports whether uid may own a directory on a cache's path.
func (t trust) owner(uid uint32) bool {
	return uid == 0 || int(uid) == t.uid || (t.android && uid == aidSystem)
}

// ancestor explains why the directory with status st must not lead to
// a cache or a tree, or returns "": it must be a directory owned by a
// trusted user, and anyone else who can write it must be unable to
// rename or remove what it holds (the sticky bit).
func (t trust) ancestor(st *unix.Stat_t) string {
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Sprintf("it is a %s, not a directory", typeName(st.Mode))
	}
	if !t.owner(st.Uid) {
		return fmt.Sprintf("it is owned by uid %d, not by you (uid %d) or root, so that user can replace what it holds", st.Uid, t.uid)
	}
	sticky := st.Mode&unix.S_ISVTX != 0
	if st.Mode&0o002 != 0 && !sticky {
		return fmt.Sprintf("anyone can write it (mode %04o) and it is not sticky", st.Mode&0o7777)
	}
	if st.Mode&0o020 != 0 && !sticky && st.Gid != 0 && int(st.Gid) != t.gid && !(t.android && st.Gid == aidSystem) {
		return fmt.Sprintf("group %d can write it (mode %04o) and it is not sticky", st.Gid, st.Mode&0o7777)
	}
	return ""
}

// leaf explains why a file (of type typ) inside a cache or a tree must
// not be trusted, or returns "": owned by root or the caller, writable
// by no one else.
func (t trust) leaf(st *unix.Stat_t, typ uint32) string {
	if st.Mode&unix.S_IFMT != typ {
		return fmt.Sprintf("it is a %s, not a %s", typeName(st.Mode), typeName(typ))
	}
	if int(st.Uid) != t.uid && st.Uid != 0 {
		return fmt.Sprintf("it is owned by uid %d, not by you (uid %d) or root: another user could have planted it", st.Uid, t.uid)
	}
	if typ != unix.S_IFLNK && st.Mode&0o022 != 0 {
		return fmt.Sprintf("it is writable by group or others (mode %04o)", st.Mode&0o7777)
	}
	return ""
}

// walkResult is a directory opened by walk: its fd, its parent's, the
// name in the parent, and the path it was reached by (symlinks
// resolved).
type walkResult struct {
	dir, parent *os.File
	name, path  string
	created     bool
}

func (w *walkResult) close() {
	if w.parent != nil {
		w.parent.Close()
	}
	if w.dir != nil {
		w.dir.Close()
	}
}

// walk opens the directory p (absolute) one component at a time from
// "/", with O_NOFOLLOW, checking every directory on the way with
// t.ancestor: no other user can rename, replace or redirect anything on
// the path it returns, so the path stays what was checked. A symlink on
// the way is followed only if its owner is trusted (the directory holding
// it already is); its target is then walked from "/" in the same way.
// With create, missing directories are made (the last one with mode
// perm, others 0755). The caller checks the last directory itself and
// closes the result.
func (t trust) walk(p string, create bool, perm uint32) (*walkResult, error) {
	if !filepath.IsAbs(p) {
		return nil, fmt.Errorf("%s is not an absolute path", p)
	}
	hops := 0
restart:
	comps := strings.Split(strings.Trim(filepath.Clean(p), "/"), "/")
	if len(comps) == 1 && comps[0] == "" {
		comps = nil
	}
	fd, err := unix.Open("/", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /: %w", err)
	}
	cur, parent := "/", -1
	closeAll := func() {
		unix.Close(fd)
		if parent >= 0 {
			unix.Close(parent)
		}
	}
	created := false
	for i, c := range comps {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			closeAll()
			return nil, fmt.Errorf("stat %s: %w", cur, err)
		}
		if why := t.ancestor(&st); why != "" {
			closeAll()
			return nil, &UntrustedError{Path: cur, Reason: why, Ancestor: true}
		}
		last := i == len(comps)-1
		next := filepath.Join(cur, c)
		created = false
		var lst unix.Stat_t
		err := unix.Fstatat(fd, c, &lst, unix.AT_SYMLINK_NOFOLLOW)
		if errors.Is(err, unix.ENOENT) && create {
			mode := uint32(0o755)
			if last {
				mode = perm
			}
			err = unix.Mkdirat(fd, c, mode)
			if err == nil || errors.Is(err, unix.EEXIST) {
				created = err == nil
				err = unix.Fstatat(fd, c, &lst, unix.AT_SYMLINK_NOFOLLOW)
			}
		}
		if err != nil {
			closeAll()
			if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EROFS) {
				err = permissionError{err}
			}
			return nil, &os.PathError{Op: "open", Path: next, Err: err}
		}
		if lst.Mode&unix.S_IFMT == unix.S_IFLNK {
			if !t.owner(lst.Uid) {
				closeAll()
				return nil, &UntrustedError{Path: next, Reason: fmt.Sprintf("it is a symlink owned by uid %d, not by you (uid %d) or root", lst.Uid, t.uid), Ancestor: !last}
			}
			if hops++; hops > 40 {
				closeAll()
				return nil, &os.PathError{Op: "open", Path: p, Err: unix.ELOOP}
			}
			buf := make([]byte, unix.PathMax)
			n, err := unix.Readlinkat(fd, c, buf)
			closeAll()
			if err != nil {
				return nil, &os.PathError{Op: "readlink", Path: next, Err: err}
			}
			target := string(buf[:n])
			if !filepath.IsAbs(target) {
				target = filepath.Join(cur, target)
			}
			p = filepath.Join(append([]string{target}, comps[i+1:]...)...)
			goto restart
		}
		nfd, err := unix.Openat(fd, c, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.EACCES) && !last {
			// A directory this user may pass through but not list:
			// Android's /data (system:system 0771) and /data/local
			// (root 0751) for the shell user on the way to
			// /data/local/tmp. Walking on needs only search permission,
			// which O_PATH asks for; fstat and the *at calls work on it.
			nfd, err = unix.Openat(fd, c, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		}
		if err != nil {
			closeAll()
			if errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
				return nil, &UntrustedError{Path: next, Reason: fmt.Sprintf("it is a %s, not a directory", typeName(lst.Mode)), Ancestor: !last}
			}
			return nil, &os.PathError{Op: "open", Path: next, Err: err}
		}
		if parent >= 0 {
			unix.Close(parent)
		}
		parent, fd, cur = fd, nfd, next
	}
	w := &walkResult{dir: os.NewFile(uintptr(fd), cur), path: cur, created: created}
	if parent >= 0 {
		w.parent = os.NewFile(uintptr(parent), filepath.Dir(cur))
		w.name = filepath.Base(cur)
	}
	return w, nil
}

// readNames lists the directory open as fd (without moving fd's offset
// for anyone else: it reads through a fresh open of ".").
func readNames(fd int) ([]string, error) {
	d, err := unix.Openat(fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(d), ".")
	defer f.Close()
	return f.Readdirnames(-1)
}

// removeAt removes name in the directory dirfd and, if it is a
// directory, everything under it, through file descriptors: a symlink is
// unlinked, never followed, and permissions are changed with fchmod on
// the opened directory, never by path. A name that is already gone is
// not an error.
func removeAt(dirfd int, name string) error {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, unix.ENOENT):
		return nil
	case errors.Is(err, unix.ENOTDIR), errors.Is(err, unix.ELOOP):
		if err := unix.Unlinkat(dirfd, name, 0); err != nil && !errors.Is(err, unix.ENOENT) {
			return err
		}
		return nil
	case err != nil:
		return err
	}
	// Published trees are read-only: give the owner write permission on
	// this directory (the one just opened, whatever replaced the name).
	unix.Fchmod(fd, 0o700)
	names, err := readNames(fd)
	if errors.Is(err, unix.ENOENT) {
		err = nil // removed meanwhile by another sweep
	}
	if err == nil {
		for _, n := range names {
			if e := removeAt(fd, n); e != nil && err == nil {
				err = e
			}
		}
	}
	unix.Close(fd)
	if err != nil {
		return err
	}
	if err := unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR); err != nil && !errors.Is(err, unix.ENOENT) {
		return err
	}
	return nil
}

// removeTree removes the tree at path, whose parent directory is
// trusted, through file descriptors (see removeAt).
func removeTree(path string) error {
	fd, err := unix.Open(filepath.Dir(path), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return removeAt(fd, filepath.Base(path))
}
