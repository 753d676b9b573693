package cache

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/khtool/kh/internal/logx"
	"github.com/khtool/kh/internal/mountinfo"
)

// Cache is a directory of published header trees, one per archive
// content. Each tree's name is its kernel release and the first 16 hex
// digits of the archive's SHA-256 (e.g. "6.1.192-b39c262a18360de1"), so a
// rebuilt kernel with the same release never reuses a stale tree, and
// identical archives from different sources share one tree.
//
// Trees are published atomically: extracted into a private staging
// directory, verified, then renamed into place. A lock per archive makes
// concurrent callers extract once. A tree is reused only if it is owned by
// the caller or root, writable by no one else, and its manifest is intact.
//
// Open verifies the directory and every directory on the path to it, and
// keeps it open: every later operation works relative to that file
// descriptor. Close releases it.
type Cache struct {
	// Dir is the cache directory (absolute, symlinks resolved).
	Dir string
	// Mounted is true when Open mounted a tmpfs on the cache directory.
	Mounted bool

	trust   trust
	uid     int
	log     *slog.Logger
	dir     *os.File // the verified cache directory
	parent  *os.File // its verified parent
	created bool     // Open created the directory
}

// Options configure Open.
type Options struct {
	// Dir is the cache directory; "" means DefaultDir.
	Dir string
	// AllowDisk accepts a cache directory that is not on tmpfs (and stops
	// root from mounting one there).
	AllowDisk bool
	// MountTmpfs lets root mount a tmpfs on Dir, a directory it names,
	// when Dir is not on tmpfs and is empty. Without it kh mounts only at
	// its default locations (DefaultDir), never over a directory someone
	// named, which would hide what it holds.
	MountTmpfs bool
	// Existing opens the cache only if it exists (an error satisfying
	// errors.Is(err, os.ErrNotExist) otherwise), without creating or
	// mounting anything: for listing and cleaning.
	Existing bool
	// Log receives progress messages, and a warning whenever Open mounts
	// a tmpfs or uses a cache on disk; nil discards them.
	Log *slog.Logger
}

// ErrNotTmpfs means the cache directory is not on tmpfs and that was not
// allowed (Options.AllowDisk); the error is a *NotTmpfsError.
var ErrNotTmpfs = errors.New("cache is not on tmpfs")

// errNotEmpty is why kh does not mount a tmpfs on a named directory.
var errNotEmpty = errors.New("the directory is not empty, and a mount would hide what it holds")

// NotTmpfsError says which directory is on which file system, and why no
// tmpfs could be mounted there (as root).
type NotTmpfsError struct {
	Dir      string
	FSType   string
	MountErr error // nil when kh did not try to mount
	// Mountable is true when root could have mounted a tmpfs there had
	// Options.MountTmpfs asked for it.
	Mountable bool
}

func (e *NotTmpfsError) Error() string {
	if e.MountErr != nil {
		return fmt.Sprintf("cache directory %s is on %s, not tmpfs, and mounting a tmpfs there failed: %v", e.Dir, e.FSType, e.MountErr)
	}
	if e.Mountable {
		return fmt.Sprintf("cache directory %s is on %s, not tmpfs (kh mounts a tmpfs on a directory you name only when asked to)", e.Dir, e.FSType)
	}
	return fmt.Sprintf("cache directory %s is on %s, not tmpfs", e.Dir, e.FSType)
}

// Is makes errors.Is(err, ErrNotTmpfs) true.
func (e *NotTmpfsError) Is(target error) bool { return target == ErrNotTmpfs }

// Unwrap returns the mount error.
func (e *NotTmpfsError) Unwrap() error { return e.MountErr }

// Names inside the cache directory.
const (
	stagePrefix   = ".stage-"
	lockPrefix    = ".lock-"
	hintPrefix    = ".hint-"
	tmpHintPrefix = ".tmp-hint-"
	trashPrefix   = ".trash-"
	digestLen     = 16

	// mountMarker is left in a directory kh created before mounting a
	// tmpfs on it (hidden by the mount), so that removing everything
	// also removes the mount point it made.
	mountMarker = ".kh-mountpoint"

	// MountSource is the source name of the tmpfs kh mounts, as shown
	// in /proc/self/mountinfo.
	MountSource = "kh-cache"
	// mountOptions size-limit the tmpfs kh mounts: room for about ten
	// kernels' trees (a tree takes ~42 MB of tmpfs for ~6,700 inodes).
	mountOptions = "size=512m,nr_inodes=131072,mode=0755"
)

// location is a cache directory and how it was chosen.
type location struct {
	dir    string
	ondisk bool // a default that is not tmpfs and is used as it is
	named  bool // the user named it (Options.Dir, KH_CACHE_DIR)
}

// DefaultDir returns the cache directory kh uses when none is given:
// $KH_CACHE_DIR; for root /run/kh, or on Android (no /run, a
// /data/local/tmp or /system/build.prop) /mnt/kh, else /dev/kh: places
// only root can write, apart from /data/local/tmp/kh where users push the
// kh binary; for other users $XDG_RUNTIME_DIR/kh when it is on tmpfs,
// then /dev/shm/kh-UID, and where neither exists (Android's shell user)
// /data/local/tmp/kh-cache-UID, which is on disk: ondisk reports that
// case.
func DefaultDir() (dir string, ondisk bool) {
	l := defaultLocation("/", os.Geteuid(), os.Getenv)
	return l.dir, l.ondisk
}

// defaultLocation is DefaultDir for a user on a system whose root
// directory is fsroot (tests give a fake one), with environment getenv.
// The paths it returns are the real ones (fsroot is only looked at).
func defaultLocation(fsroot string, uid int, getenv func(string) string) location {
	if d := getenv("KH_CACHE_DIR"); d != "" {
		return location{dir: d, named: true}
	}
	at := func(p string) string { return filepath.Join(fsroot, p) }
	if uid == 0 {
		if isDir(at("/run")) {
			return location{dir: "/run/kh"}
		}
		if isDir(at("/data/local/tmp")) || isDir(at("/system")) {
			// Android: /mnt and /dev are root-owned tmpfs mounts.
			if isDir(at("/mnt")) {
				return location{dir: "/mnt/kh"}
			}
			return location{dir: "/dev/kh"}
		}
		return location{dir: "/run/kh"}
	}
	if d := getenv("XDG_RUNTIME_DIR"); d != "" && filepath.IsAbs(d) && isDir(at(d)) {
		if t, err := fsType(at(d)); err == nil && t == "tmpfs" {
			return location{dir: filepath.Join(d, "kh")}
		}
	}
	if isDir(at("/dev/shm")) {
		return location{dir: fmt.Sprintf("/dev/shm/kh-%d", uid)}
	}
	if isDir(at("/data/local/tmp")) {
		return location{dir: fmt.Sprintf("/data/local/tmp/kh-cache-%d", uid), ondisk: true}
	}
	return location{dir: fmt.Sprintf("/dev/shm/kh-%d", uid)}
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// Open opens (creating it if needed) the cache directory and checks
// that it is safe: a real directory, owned by the caller or root, writable
// by no one else, on tmpfs, reached through directories that no other
// user can change (each owned by root or the caller and writable by no
// one else unless sticky). Any failed check is an error, an
// *UntrustedError for trust. As root, a default location that is not
// tmpfs gets a private, size-limited tmpfs mounted on it (a named one
// only with Options.MountTmpfs, when empty). Open also removes what
// interrupted runs left behind (staging directories, temporary files)
// where it can prove no process still uses it.
func Open(opts Options) (*Cache, error) {
	c := &Cache{trust: newTrust(), uid: os.Geteuid(), log: logx.OrDiscard(opts.Log)}
	loc := location{dir: opts.Dir, named: true}
	if opts.Dir == "" {
		loc = defaultLocation("/", c.uid, os.Getenv)
	}
	abs, err := filepath.Abs(loc.dir)
	if err != nil {
		return nil, fmt.Errorf("cache directory %s: %w", loc.dir, err)
	}
	perm := uint32(0o700)
	if c.uid == 0 {
		perm = 0o755
	}
	w, err := c.trust.walk(abs, !opts.Existing, perm)
	if err != nil {
		var u *UntrustedError
		if errors.As(err, &u) && !u.Ancestor {
			u.Cache = true
		}
		var pe *os.PathError
		if errors.As(err, &pe) && !opts.Existing {
			return nil, fmt.Errorf("create cache directory: %w", err)
		}
		return nil, err
	}
	c.Dir, c.dir, c.parent, c.created = w.path, w.dir, w.parent, w.created
	if err := c.setUp(opts, loc); err != nil {
		if c.created && c.parent != nil && !c.Mounted {
			// Leave nothing behind: remove the directory just made.
			unix.Unlinkat(int(c.parent.Fd()), filepath.Base(c.Dir), unix.AT_REMOVEDIR)
		}
		c.Close()
		return nil, err
	}
	if opts.Existing {
		return c, nil
	}
	c.sweep("", false)
	return c, nil
}

// setUp checks the opened cache directory and, unless opts.Existing,
// makes sure it is on tmpfs (mounting one where allowed).
func (c *Cache) setUp(opts Options, loc location) error {
	if err := c.checkSelf(); err != nil {
		return err
	}
	if opts.Existing {
		return nil
	}
	fstype, err := fsTypeFd(c.fd(), c.Dir)
	if err != nil {
		return err
	}
	if fstype != "tmpfs" {
		switch {
		case opts.AllowDisk:
			c.log.Debug("cache is not on tmpfs; allowed (Options.AllowDisk)", "dir", c.Dir, "fs", fstype)
		case loc.ondisk:
			c.log.Warn("cache is on disk, not tmpfs (no XDG_RUNTIME_DIR or /dev/shm here); trees persist across reboots but stay keyed by content", "dir", c.Dir, "fs", fstype)
		case c.uid == 0 && (!loc.named || opts.MountTmpfs):
			mounted, err := c.lockedMount(loc.named)
			if err != nil {
				return &NotTmpfsError{Dir: c.Dir, FSType: fstype, MountErr: err}
			}
			if !mounted {
				c.log.Debug("another kh mounted the cache tmpfs meanwhile", "dir", c.Dir)
			}
		default:
			return &NotTmpfsError{Dir: c.Dir, FSType: fstype, Mountable: c.uid == 0}
		}
	}
	return nil
}

// Close releases the cache directory. The Cache must not be used after.
func (c *Cache) Close() error {
	var err error
	if c.dir != nil {
		err = c.dir.Close()
		c.dir = nil
	}
	if c.parent != nil {
		c.parent.Close()
		c.parent = nil
	}
	return err
}

// fd is the verified cache directory's file descriptor.
func (c *Cache) fd() int {
	if c.dir == nil {
		return -1
	}
	return int(c.dir.Fd())
}

// checkSelf checks the opened cache directory itself.
func (c *Cache) checkSelf() error {
	var st unix.Stat_t
	if err := unix.Fstat(c.fd(), &st); err != nil {
		return fmt.Errorf("cache directory %s: %w", c.Dir, err)
	}
	if reason := c.untrusted(&st, unix.S_IFDIR); reason != "" {
		return &UntrustedError{Path: c.Dir, Reason: reason, Cache: true}
	}
	return nil
}

// fsType names the filesystem holding p ("tmpfs", "ramfs", "ext4", ...).
func fsType(p string) (string, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		return "", fmt.Errorf("statfs %s: %w", p, err)
	}
	return fsName(st.Type), nil
}

// fsName names a file system magic number.
func fsName(typ int64) string {
	switch uint32(typ) {
	case unix.TMPFS_MAGIC:
		return "tmpfs"
	case unix.RAMFS_MAGIC:
		return "ramfs"
	case unix.EXT4_SUPER_MAGIC:
		return "ext4"
	case unix.BTRFS_SUPER_MAGIC:
		return "btrfs"
	case unix.XFS_SUPER_MAGIC:
		return "xfs"
	case unix.F2FS_SUPER_MAGIC:
		return "f2fs"
	case unix.OVERLAYFS_SUPER_MAGIC:
		return "overlayfs"
	case unix.V9FS_MAGIC:
		return "9p"
	}
	return fmt.Sprintf("filesystem type %#x", typ)
}

// fsTypeFd is fsType for an open file.
func fsTypeFd(fd int, p string) (string, error) {
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil {
		return "", fmt.Errorf("statfs %s: %w", p, err)
	}
	return fsName(st.Type), nil
}

// lockedMount mounts the cache tmpfs (mount) under an flock on the
// verified parent directory, unless another process mounted it between
// Open's check and the lock: then it switches to that mount and reports
// false.
func (c *Cache) lockedMount(named bool) (bool, error) {
	if c.parent == nil {
		return false, errors.New("the cache directory has no parent")
	}
	pfd := int(c.parent.Fd())
	if err := unix.Flock(pfd, unix.LOCK_EX); err != nil {
		return false, fmt.Errorf("lock %s: %w", filepath.Dir(c.Dir), err)
	}
	defer unix.Flock(pfd, unix.LOCK_UN)
	fd, err := unix.Openat(pfd, filepath.Base(c.Dir), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, fmt.Errorf("reopen %s: %w", c.Dir, err)
	}
	if t, err := fsTypeFd(fd, c.Dir); err == nil && t == "tmpfs" {
		old := c.dir
		c.dir = os.NewFile(uintptr(fd), c.Dir)
		if err := c.checkSelf(); err != nil {
			c.dir.Close()
			c.dir = old
			return false, err
		}
		old.Close()
		return false, nil
	}
	unix.Close(fd)
	return true, c.mount(named)
}

// mount mounts a private, size-limited tmpfs on the verified cache
// directory (through its file descriptor, /proc/self/fd/N, so the mount
// lands on the directory that was checked), then reopens the directory
// through its verified parent and checks the mount's root. On a named
// directory (named), only when it is empty.
func (c *Cache) mount(named bool) error {
	if c.parent == nil {
		return errors.New("the cache directory has no parent")
	}
	names, err := readNames(c.fd())
	if err != nil {
		return err
	}
	if named && len(names) > 0 && !(len(names) == 1 && names[0] == mountMarker) {
		return errNotEmpty
	}
	if c.created {
		// Ours: remove it again when the cache is removed entirely.
		if fd, err := unix.Openat(c.fd(), mountMarker, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o444); err == nil {
			unix.Close(fd)
		}
	}
	target := fmt.Sprintf("/proc/self/fd/%d", c.fd())
	if _, err := os.Stat(target); err != nil {
		// No /proc: the path leads to the verified directory anyway,
		// since no other user can change any directory on it.
		target = c.Dir
	}
	var before unix.Stat_t
	if err := unix.Fstat(c.fd(), &before); err != nil {
		return err
	}
	if err := unix.Mount(MountSource, target, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, mountOptions); err != nil {
		if c.created {
			unix.Unlinkat(c.fd(), mountMarker, 0)
		}
		return fmt.Errorf("mount tmpfs: %w", err)
	}
	// Keep the mount out of other mount namespaces' view.
	if err := unix.Mount("", target, "", unix.MS_PRIVATE, ""); err != nil {
		c.log.Debug("could not make the cache mount private", "err", err)
	}
	undo := func(err error) error {
		// Take the mount away again (it is on the verified directory,
		// which the fd still names), and fail.
		unix.Unmount(target, unix.MNT_DETACH)
		if c.created {
			unix.Unlinkat(c.fd(), mountMarker, 0)
		}
		return err
	}
	fd, err := unix.Openat(int(c.parent.Fd()), filepath.Base(c.Dir), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return undo(fmt.Errorf("reopen the mounted cache %s: %w", c.Dir, err))
	}
	var after unix.Stat_t
	var sfs unix.Statfs_t
	if err := unix.Fstat(fd, &after); err != nil || unix.Fstatfs(fd, &sfs) != nil || sfs.Type != unix.TMPFS_MAGIC || after.Dev == before.Dev {
		unix.Close(fd)
		return undo(fmt.Errorf("the tmpfs mounted on %s is not where the cache directory is", c.Dir))
	}
	old := c.dir
	c.dir = os.NewFile(uintptr(fd), c.Dir)
	if err := c.checkSelf(); err != nil {
		c.dir.Close()
		c.dir = old
		return undo(err)
	}
	old.Close()
	c.Mounted = true
	c.log.Warn("mounted a tmpfs for the cache; it stays mounted until the whole cache is removed", "dir", c.Dir, "options", mountOptions)
	return nil
}

// MountedByKh reports whether the cache directory is a tmpfs that kh
// mounted (its mount source is MountSource).
func (c *Cache) MountedByKh() bool {
	mounts, err := mountinfo.Read("/")
	if err != nil {
		return false
	}
	m, ok := mountinfo.At(mounts, "", c.Dir)
	return ok && m.FSType == "tmpfs" && m.Source == MountSource
}

// Unmount unmounts the cache's tmpfs if kh mounted it, freeing its
// memory, and removes the mount point if kh created it. The Cache is
// closed afterwards.
func (c *Cache) Unmount() (bool, error) {
	if !c.MountedByKh() {
		return false, nil
	}
	// Our own descriptor on the mount's root would keep it busy.
	c.dir.Close()
	c.dir = nil
	if err := unix.Unmount(c.Dir, unix.UMOUNT_NOFOLLOW); err != nil {
		return false, fmt.Errorf("unmount %s: %w", c.Dir, err)
	}
	if c.parent != nil {
		c.removeMountPoint()
	}
	return true, nil
}

// removeMountPoint removes the (now uncovered) cache directory if it
// holds only the marker kh left when it created it to mount on.
func (c *Cache) removeMountPoint() {
	pfd, name := int(c.parent.Fd()), filepath.Base(c.Dir)
	fd, err := unix.Openat(pfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	names, err := readNames(fd)
	var st unix.Stat_t
	ok := err == nil && len(names) == 1 && names[0] == mountMarker &&
		unix.Fstatat(fd, mountMarker, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && c.untrusted(&st, unix.S_IFREG) == ""
	if ok {
		ok = unix.Unlinkat(fd, mountMarker, 0) == nil
	}
	unix.Close(fd)
	if ok {
		if err := unix.Unlinkat(pfd, name, unix.AT_REMOVEDIR); err != nil {
			c.log.Debug("could not remove the mount point kh created", "dir", c.Dir, "err", err)
		}
	}
}
