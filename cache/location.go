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
type Cache struct {
	// Dir is the cache directory.
	Dir string
	// Mounted is true when the cache is a tmpfs that kh mounted.
	Mounted bool

	uid int
	log *slog.Logger
}

// Options configure Open.
type Options struct {
	// Dir is the cache directory; "" means DefaultDir.
	Dir string
	// AllowDisk accepts a cache directory that is not on tmpfs (and stops
	// root from mounting one there).
	AllowDisk bool
	// Existing opens the cache only if it exists (an error satisfying
	// errors.Is(err, os.ErrNotExist) otherwise), without creating or
	// mounting anything: for listing and cleaning.
	Existing bool
	// Log receives progress messages; nil discards them.
	Log *slog.Logger
}

// ErrNotTmpfs means the cache directory is not on tmpfs and that was not
// allowed (Options.AllowDisk); the error is a *NotTmpfsError.
var ErrNotTmpfs = errors.New("cache is not on tmpfs")

// NotTmpfsError says which directory is on which file system, and why no
// tmpfs could be mounted there (as root).
type NotTmpfsError struct {
	Dir      string
	FSType   string
	MountErr error // nil when kh did not try to mount (not root)
}

func (e *NotTmpfsError) Error() string {
	if e.MountErr != nil {
		return fmt.Sprintf("cache directory %s is on %s, not tmpfs, and mounting a tmpfs there failed: %v", e.Dir, e.FSType, e.MountErr)
	}
	return fmt.Sprintf("cache directory %s is on %s, not tmpfs", e.Dir, e.FSType)
}

// Is makes errors.Is(err, ErrNotTmpfs) true.
func (e *NotTmpfsError) Is(target error) bool { return target == ErrNotTmpfs }

// Unwrap returns the mount error.
func (e *NotTmpfsError) Unwrap() error { return e.MountErr }

// Names inside the cache directory.
const (
	stagePrefix = ".stage-"
	lockPrefix  = ".lock-"
	hintPrefix  = ".hint-"
	digestLen   = 16

	// MountSource is the source name of the tmpfs kh mounts, as shown
	// in /proc/self/mountinfo.
	MountSource = "kh-cache"
	// mountOptions size-limit the tmpfs kh mounts: room for about ten
	// kernels' trees (a tree takes ~42 MB of tmpfs for ~6,700 inodes).
	mountOptions = "size=512m,nr_inodes=131072,mode=0755"
)

// DefaultDir returns the cache directory kh uses when none is given:
// $KH_CACHE_DIR; for root /run/kh; for other users $XDG_RUNTIME_DIR/kh,
// then /dev/shm/kh-UID. Where none of those parents exist (Android has no
// /run and no /dev/shm), /data/local/tmp/kh, which is not tmpfs; ondisk
// reports that case.
func DefaultDir() (dir string, ondisk bool) {
	if d := os.Getenv("KH_CACHE_DIR"); d != "" {
		return d, false
	}
	if os.Geteuid() == 0 {
		if isDir("/run") {
			return "/run/kh", false
		}
	} else {
		if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" && isDir(d) {
			return filepath.Join(d, "kh"), false
		}
		if isDir("/dev/shm") {
			return fmt.Sprintf("/dev/shm/kh-%d", os.Geteuid()), false
		}
	}
	if isDir("/data/local/tmp") {
		return "/data/local/tmp/kh", true
	}
	if os.Geteuid() == 0 {
		return "/run/kh", false
	}
	return fmt.Sprintf("/dev/shm/kh-%d", os.Geteuid()), false
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// At returns the cache in dir as it is, creating, mounting and checking
// nothing: for verifying one tree found there (Get) without opening the
// whole cache.
func At(dir string) *Cache {
	return &Cache{Dir: dir, uid: os.Geteuid(), log: logx.OrDiscard(nil)}
}

// Open opens (creating it if needed) the cache directory and checks
// that it is safe: a real directory, owned by the caller or root, writable
// by no one else, on tmpfs. As root, a location that is not tmpfs gets a
// private, size-limited tmpfs mounted on it.
func Open(opts Options) (*Cache, error) {
	c := &Cache{Dir: opts.Dir, uid: os.Geteuid(), log: logx.OrDiscard(opts.Log)}
	ondisk := false
	if c.Dir == "" {
		c.Dir, ondisk = DefaultDir()
	}
	abs, err := filepath.Abs(c.Dir)
	if err != nil {
		return nil, fmt.Errorf("cache directory %s: %w", c.Dir, err)
	}
	c.Dir = abs
	if opts.Existing {
		if _, err := os.Lstat(c.Dir); err != nil {
			return nil, err
		}
		return c, c.checkDir(c.Dir)
	}
	if err := c.create(); err != nil {
		return nil, err
	}
	if err := c.checkDir(c.Dir); err != nil {
		return nil, err
	}
	fstype, err := fsType(c.Dir)
	if err != nil {
		return nil, err
	}
	if fstype != "tmpfs" {
		switch {
		case opts.AllowDisk:
			c.log.Debug("cache is not on tmpfs; allowed (Options.AllowDisk)", "dir", c.Dir, "fs", fstype)
		case c.uid == 0:
			if err := c.mount(); err != nil {
				if !ondisk {
					return nil, &NotTmpfsError{Dir: c.Dir, FSType: fstype, MountErr: err}
				}
				c.log.Warn("cache is not on tmpfs (Android has no /run); trees persist across reboots but stay keyed by content", "dir", c.Dir, "fs", fstype, "mount", err)
			}
		case ondisk:
			c.log.Warn("cache is not on tmpfs (Android has no /run); trees persist across reboots but stay keyed by content", "dir", c.Dir, "fs", fstype)
		default:
			return nil, &NotTmpfsError{Dir: c.Dir, FSType: fstype}
		}
	}
	return c, nil
}

func (c *Cache) create() error {
	perm := os.FileMode(0o700)
	if c.uid == 0 {
		perm = 0o755
	}
	if err := os.MkdirAll(filepath.Dir(c.Dir), 0o755); err != nil {
		return fmt.Errorf("create cache directory: %w", err)
	}
	if err := os.Mkdir(c.Dir, perm); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("create cache directory: %w", err)
	}
	return nil
}

// fsType names the filesystem holding p ("tmpfs", "ramfs", "ext4", ...).
func fsType(p string) (string, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		return "", fmt.Errorf("statfs %s: %w", p, err)
	}
	switch uint32(st.Type) {
	case unix.TMPFS_MAGIC:
		return "tmpfs", nil
	case unix.RAMFS_MAGIC:
		return "ramfs", nil
	case unix.EXT4_SUPER_MAGIC:
		return "ext4", nil
	case unix.BTRFS_SUPER_MAGIC:
		return "btrfs", nil
	case unix.XFS_SUPER_MAGIC:
		return "xfs", nil
	case unix.F2FS_SUPER_MAGIC:
		return "f2fs", nil
	case unix.OVERLAYFS_SUPER_MAGIC:
		return "overlayfs", nil
	case unix.V9FS_MAGIC:
		return "9p", nil
	}
	return fmt.Sprintf("filesystem type %#x", st.Type), nil
}

// mount mounts a private, size-limited tmpfs on the cache directory.
func (c *Cache) mount() error {
	if err := unix.Mount(MountSource, c.Dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, mountOptions); err != nil {
		return fmt.Errorf("mount tmpfs: %w", err)
	}
	// Keep the mount out of other mount namespaces' view.
	if err := unix.Mount("", c.Dir, "", unix.MS_PRIVATE, ""); err != nil {
		c.log.Debug("could not make the cache mount private", "err", err)
	}
	c.Mounted = true
	c.log.Debug("mounted a tmpfs for the cache", "dir", c.Dir, "options", mountOptions)
	return c.checkDir(c.Dir)
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

// Unmount unmounts the cache's tmpfs if kh mounted it, freeing its memory.
func (c *Cache) Unmount() (bool, error) {
	if !c.MountedByKh() {
		return false, nil
	}
	if err := unix.Unmount(c.Dir, 0); err != nil {
		return false, fmt.Errorf("unmount %s: %w", c.Dir, err)
	}
	return true, nil
}
